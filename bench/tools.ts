/**
 * The three ways the benchmark does the work (drover, Ansible, the floor): the files each needs in the
 * run's work directory, the command of each phase, and how many changes its output reports.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import * as work from './work.ts';

export const TOOLS = ['drover', 'ansible', 'floor'] as const;
export type Tool = (typeof TOOLS)[number];
export const PHASES = ['first', 'second', 'check'] as const;
export type Phase = (typeof PHASES)[number];
export const PHASE_TITLES: Record<Phase, string> = { first: 'first apply', second: 'second apply', check: 'dry run' };

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const REPO_DIR = join(BENCH_DIR, '..');

/** The lab as the tools see it (from lab/state.ts's LabState). */
export interface LabTarget {
  hosts: ReadonlyArray<{ name: string; address: string }>;
  inventory: string;
  key: string;
  knownHosts: string;
}

export interface Invocation {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

export interface ToolRun {
  invocation(phase: Phase): Invocation;
  /** Changes the tool reported for this phase, all hosts together. */
  changes(phase: Phase, stdout: string): Promise<number>;
}

/**
 * `lab-1 : ok=9 changed=0 …`: drover's and Ansible's recap lines, summed over hosts. Above 5 hosts drover
 * merges identical lines (`lab-[1:20] : ok=1 changed=8 … · 20 hosts`): such a line counts for its hosts.
 */
export function recapChanges(output: string): number {
  let total = 0;
  for (const line of output.split('\n')) {
    const found = line.match(/^\s*\S+\s+:\s+ok=\d+\s+changed=(\d+)/);
    if (found) total += Number(found[1]) * Number(line.match(/ · (\d+) hosts$/)?.[1] ?? 1);
  }
  return total;
}

/** Single-quoted for bash: every byte literal. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The floor script's prelude: MODE and bench/work.ts's values as shell variables. */
export function floorPrelude(mode: 'apply' | 'check', hosts: LabTarget['hosts']): string {
  const vars: Record<string, string> = {
    MODE: mode,
    MODULES_LOAD_FILE: work.MODULES_LOAD_FILE,
    MODULES_LOAD_CONTENT: work.MODULES_LOAD_CONTENT,
    SYSCTL_FILE: work.SYSCTL_FILE,
    SYSCTLS: Object.entries(work.SYSCTLS)
      .map(([key, value]) => `${key}=${value}`)
      .join(' '),
    HOSTS_MARKER: work.HOSTS_MARKER,
    HOSTS_BLOCK: hosts.map((host) => `${host.address} ${host.name}\n`).join(''),
    CONFIG_DIR: work.CONFIG_DIR,
    CONFIG_FILE: work.CONFIG_FILE,
    CONFIG_CONTENT: work.CONFIG_CONTENT,
    UNIT_NAME: work.UNIT_NAME,
    UNIT_FILE: work.UNIT_FILE,
    UNIT_CONTENT: work.UNIT_CONTENT,
    IPTABLES_PORT: String(work.IPTABLES_PORT),
    IPTABLES_COMMENT: work.IPTABLES_COMMENT,
    TMPFS_PATH: work.TMPFS_PATH,
    TMPFS_OPTS: work.TMPFS_OPTS,
  };
  return Object.entries(vars)
    .map(([name, value]) => `${name}=${shellQuote(value)}\n`)
    .join('');
}

/** The values bench/ansible/prep.yml reads as `bench.*`. */
export function ansibleVars(): Record<string, unknown> {
  return {
    bench: {
      modules_load_file: work.MODULES_LOAD_FILE,
      modules_load_content: work.MODULES_LOAD_CONTENT,
      sysctl_file: work.SYSCTL_FILE,
      sysctls: work.SYSCTLS,
      hosts_marker: work.HOSTS_MARKER,
      config_dir: work.CONFIG_DIR,
      config_file: work.CONFIG_FILE,
      config_content: work.CONFIG_CONTENT,
      unit_name: work.UNIT_NAME,
      unit_file: work.UNIT_FILE,
      unit_content: work.UNIT_CONTENT,
      iptables_port: work.IPTABLES_PORT,
      iptables_comment: work.IPTABLES_COMMENT,
      tmpfs_path: work.TMPFS_PATH,
      tmpfs_opts: work.TMPFS_OPTS,
    },
  };
}

/** Ansible's own inventory: the lab's hosts without the lab's strict-host-key arguments. */
export function ansibleInventory(lab: LabTarget): string {
  return stringify({
    all: {
      vars: { ansible_user: 'root', ansible_ssh_private_key_file: lab.key },
      hosts: Object.fromEntries(lab.hosts.map((host) => [host.name, { ansible_host: host.address }])),
    },
  });
}

/** Writes what `tool` needs into `dir` (fresh per run) and returns how to run it. */
export async function prepareTool(tool: Tool, lab: LabTarget, dir: string): Promise<ToolRun> {
  switch (tool) {
    case 'drover':
      return {
        invocation: (phase) => ({
          argv: [
            'npx',
            'tsx',
            'run',
            'bench/playbook.ts',
            '-i',
            lab.inventory,
            ...(phase === 'check' ? ['--check'] : []),
            // The floor's ConnectTimeout=30. drover's limit (default 5 s) covers the whole login, and with
            // 500 lab hosts sharing 2 cores a login alone can take longer: the hosts, not drover, are slow.
            '--connect-timeout',
            '30',
            '--audit-log',
            join(dir, `drover-${phase}.jsonl`),
          ],
          env: process.env,
        }),
        changes: async (_phase, stdout) => recapChanges(stdout),
      };
    case 'ansible': {
      const template = await readFile(join(BENCH_DIR, 'ansible', 'ansible.cfg.template'), 'utf8');
      const config = template.replace('@FORKS@', String(Math.max(5, lab.hosts.length))).replace('@CONTROL_DIR@', join(dir, 'cp'));
      await writeFile(join(dir, 'ansible.cfg'), config);
      await writeFile(join(dir, 'inventory.yml'), ansibleInventory(lab));
      await writeFile(join(dir, 'vars.json'), JSON.stringify(ansibleVars()));
      return {
        invocation: (phase) => ({
          argv: [
            'ansible-playbook',
            '-i',
            join(dir, 'inventory.yml'),
            join(BENCH_DIR, 'ansible', 'prep.yml'),
            '-e',
            `@${join(dir, 'vars.json')}`,
            ...(phase === 'check' ? ['--check'] : []),
          ],
          env: { ...process.env, ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1' },
        }),
        changes: async (_phase, stdout) => recapChanges(stdout),
      };
    }
    case 'floor': {
      const script = await readFile(join(BENCH_DIR, 'floor', 'prep.sh'), 'utf8');
      for (const mode of ['apply', 'check'] as const) await writeFile(join(dir, `floor-${mode}.sh`), floorPrelude(mode, lab.hosts) + script);
      return {
        invocation: (phase) => ({
          argv: [
            'bash',
            join(BENCH_DIR, 'floor', 'run.sh'),
            join(dir, `floor-${phase === 'check' ? 'check' : 'apply'}.sh`),
            lab.key,
            lab.knownHosts,
            join(dir, `floor-${phase}`),
            ...lab.hosts.map((host) => host.address),
          ],
          env: process.env,
        }),
        changes: async (phase) => {
          const out = join(dir, `floor-${phase}`);
          let total = 0;
          for (const file of await readdir(out)) {
            total += (await readFile(join(out, file), 'utf8')).split('\n').filter((line) => line.startsWith('changed: ')).length;
          }
          return total;
        },
      };
    }
  }
}
