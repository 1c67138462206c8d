/**
 * modprobe: load a kernel module now and at every boot.
 *
 * Loads the module with `modprobe` when it is neither loaded nor built into the kernel (a built-in module
 * counts as loaded: its code is always there) nor provided by the kernel (in a container with no
 * /lib/modules tree, what the module provides tells: the bridge-nf sysctls for br_netfilter, `overlay` in
 * /proc/filesystems, /proc/net/ip_vs; the result says "provided by the kernel"), lists it in /etc/modules-load.d/ so systemd loads it at
 * boot, and keeps its parameters as an `options` line in /etc/modprobe.d/NAME.conf. Files are edited line
 * by line, so several tasks can share one file (`persistFile: 'k8s'`). Parameters of a module that is
 * already loaded cannot change without unloading it; they are persisted and apply from the next load.
 *
 * Parameter names follow Ansible's community.general.modprobe; unlike Ansible, `persistent` follows
 * `state` by default, because a module loaded only until the next reboot is rarely what a playbook wants.
 *
 * @example
 *   await t.modprobe('overlay for containerd', { name: 'overlay', persistFile: 'k8s' });
 *   await t.modprobe('bridge netfilter', { name: 'br_netfilter', persistFile: 'k8s' });
 *   await t.modprobe('dummy interfaces', { name: 'dummy', params: 'numdummies=2' });
 */
import { sh } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { combinePlans, defineModule, noChange, type Change, type HostContext, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { planFileContent } from './lib/file-content.ts';
import { decodeHostText, encodeHostText } from '../runner/host-text.ts';
import { readFileState, type FileState } from './facts/file-state.ts';
import { canonicalModuleName, kernelModule, KERNEL_MODULE_NAME, type KernelModuleState } from './facts/kernel-module.ts';

const MODULES_LOAD_DIR = '/etc/modules-load.d';
const MODPROBE_DIR = '/etc/modprobe.d';
/** One module parameter: `name` or `name=value` (no spaces; modprobe takes each as one argument). */
const PARAM_WORD = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(=[!-~]+)?$/;

const params = s
  .object({
    /** The kernel module, e.g. `br_netfilter`, `overlay`, `ip_vs` (`-` and `_` are the same to the kernel). */
    name: s.string({ pattern: KERNEL_MODULE_NAME, what: 'a kernel module name (letters, digits, _ and -)' }),
    /** present: loaded (or built in); absent: unloaded (`modprobe -r`). */
    state: s.enum(['present', 'absent']).default('present'),
    /** Module parameters as modprobe takes them, space-separated: `"numdummies=2"`. Used when loading and persisted. */
    params: s.string({ what: 'space-separated name=value words' }).refine(paramsProblem).default(''),
    /**
     * Whether the module is loaded at boot: present (listed in modules-load.d, parameters in modprobe.d),
     * absent (removed from both), disabled (files left alone). Default: present for state present,
     * absent for state absent.
     */
    persistent: s.enum(['present', 'absent', 'disabled']).optional(),
    /** The file in /etc/modules-load.d that lists the module, e.g. `k8s` or `k8s.conf`; default NAME.conf. */
    persistFile: s.string({ pattern: /^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*$/, what: 'a file name in /etc/modules-load.d, e.g. k8s.conf' }).optional(),
  })
  .rule((p) => {
    if (p.state === 'absent' && p.persistent === 'present') return 'state absent with persistent present would unload the module now and load it again at boot';
    return undefined;
  });

export type ModprobeParams = InputOf<typeof params>;
type Resolved = OutputOf<typeof params>;

function paramsProblem(text: string): string | undefined {
  const bad = paramWords(text).find((word) => !PARAM_WORD.test(word));
  if (bad !== undefined) return `${JSON.stringify(bad)} is not a module parameter; write space-separated name=value words`;
  if (/[\n\r]/.test(text)) return 'module parameters must be on one line';
  return undefined;
}

function paramWords(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '');
}

/** The modules-load.d path for a persistFile value (or the default NAME.conf); `.conf` is added if missing, since systemd reads only *.conf. */
export function modulesLoadPath(name: string, persistFile: string | undefined): string {
  const file = persistFile ?? name;
  return `${MODULES_LOAD_DIR}/${file.endsWith('.conf') ? file : `${file}.conf`}`;
}

/** Where the module's `options` line lives. */
export function modprobeOptionsPath(name: string): string {
  return `${MODPROBE_DIR}/${name}.conf`;
}

export const modprobe = defineModule({
  name: 'modprobe',
  summary: 'load a kernel module now (built-in counts as loaded) and at boot via /etc/modules-load.d',
  params,
  async plan(p, host) {
    const persistent = p.persistent ?? p.state;
    const words = paramWords(p.params);
    const loadPath = modulesLoadPath(p.name, p.persistFile);
    const optionsPath = modprobeOptionsPath(p.name);
    const touchOptions = (persistent === 'present' && words.length > 0) || persistent === 'absent';
    // All probes at once: one round trip of latency.
    const [module, loadFile, optionsFile] = await Promise.all([
      host.fact(kernelModule(p.name)),
      persistent === 'disabled' ? undefined : readFileState(host, loadPath, { content: 'always', follow: true }),
      touchOptions ? readFileState(host, optionsPath, { content: 'always', follow: true }) : undefined,
    ]);
    const now = p.state === 'present' ? planLoad(p, words, module, host.name) : planUnload(p, module, host.name);
    const plans: Plan[] = [{ changes: now ? [now] : [] }];
    if (loadFile) {
      const after = editModulesLoad(textOf(loadFile), p.name, persistent === 'present');
      plans.push(await planEdit(loadFile, after, host));
    }
    if (optionsFile) {
      const after = editModprobeOptions(textOf(optionsFile), p.name, persistent === 'present' ? words : undefined);
      plans.push(await planEdit(optionsFile, after, host));
    }
    const plan = combinePlans(...plans);
    if (plan.changes.length > 0) return plan;
    return noChange(describeSettled(p, persistent, module, loadPath));
  },
});

function describeSettled(p: Resolved, persistent: string, module: KernelModuleState, loadPath: string): string {
  const now =
    p.state === 'absent' ? 'not loaded' : module.loaded ? 'loaded' : module.builtin ? 'built into the kernel' : `provided by the kernel (${module.providedBy})`;
  const boot = persistent === 'present' ? `, listed in ${loadPath}` : persistent === 'absent' ? `, not in ${loadPath}` : '';
  return `${p.name} ${now}${boot}`;
}

function planLoad(p: Resolved, words: string[], module: KernelModuleState, host: string): Change | undefined {
  // A container without /lib/modules or /proc/modules cannot tell by name; what the module provides can.
  if (module.loaded || module.builtin || module.providedBy !== undefined) return undefined;
  if (module.loadable === undefined) {
    throw new ModuleError(
      `cannot load kernel module ${p.name} on ${host}: modprobe is not installed`,
      'install kmod (Debian/Ubuntu: apt-get install kmod; RHEL family: yum install kmod)',
    );
  }
  if (!module.loadable) {
    throw new ModuleError(
      `kernel module ${p.name} is neither loaded nor built into kernel ${module.kernel} on ${host}, and modprobe cannot find it: ${module.modprobeOutput || '(no output)'}`,
      `check the name (ls /lib/modules/${module.kernel}/kernel -R | grep ${p.name}), that the kernel's modules package is installed for the running kernel (linux-modules-extra-* on Ubuntu, kernel-modules-* on RHEL), or, in a container, load it on the machine that runs the container`,
    );
  }
  return {
    summary: `load kernel module ${p.name}${words.length ? ` ${words.join(' ')}` : ''}`,
    diff: { kind: 'value', name: `kernel module ${p.name}`, before: 'not loaded', after: 'loaded' },
    commands: [{ run: sh`modprobe -- ${p.name} ${words}`, description: `modprobe ${p.name}`, diagnose: sh`dmesg 2>/dev/null | tail -n 5 || true` }],
    effects: [{ kind: 'kernel-module', name: p.name, loaded: true }],
  };
}

function planUnload(p: Resolved, module: KernelModuleState, host: string): Change | undefined {
  if (module.builtin || (module.providedBy !== undefined && !module.loaded)) {
    throw new ModuleError(
      `kernel module ${p.name} is built into kernel ${module.kernel} on ${host}${module.builtin ? '' : ` (${module.providedBy}, and it is not a loaded module)`} and cannot be unloaded`,
      'leave it loaded (state present), or boot a kernel where it is a loadable module',
    );
  }
  if (!module.loaded) return undefined;
  return {
    summary: `unload kernel module ${p.name}`,
    diff: { kind: 'value', name: `kernel module ${p.name}`, before: 'loaded', after: 'not loaded' },
    commands: [
      {
        run: sh`modprobe -r -- ${p.name}`,
        description: `modprobe -r ${p.name}`,
        diagnose: sh`grep -- ${`^${canonicalModuleName(p.name)} `} /proc/modules || true`,
      },
    ],
    effects: [{ kind: 'kernel-module', name: p.name, loaded: false }],
  };
}

function textOf(file: FileState): string | null {
  return file.kind === 'file' ? decodeHostText(file.content ?? Buffer.alloc(0)) : null;
}

async function planEdit(file: FileState, after: string | null, host: HostContext): Promise<Plan> {
  if (after === null || after === textOf(file)) return { changes: [] };
  return planFileContent({ path: file.path, content: encodeHostText(after), follow: true }, host, file);
}

export const MODULES_LOAD_HEADER = '# Kernel modules loaded at boot, managed by drover (modprobe module).\n';
export const MODPROBE_OPTIONS_HEADER = '# Kernel module options, managed by drover (modprobe module).\n';

/** modules-load.d(5): blank lines and lines starting with # or ; are comments; otherwise one module per line. */
function isComment(line: string): boolean {
  return /^\s*([#;]|$)/.test(line);
}

function splitLines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/**
 * Pure: a modules-load.d file's text with the module listed (present) or not (absent). Returns the text
 * unchanged when nothing needs editing, null when the file does not exist and need not.
 */
export function editModulesLoad(before: string | null, name: string, present: boolean): string | null {
  const lines = splitLines(before ?? '');
  const wanted = canonicalModuleName(name);
  const listed = (line: string) => !isComment(line) && canonicalModuleName(line.trim()) === wanted;
  if (present) {
    if (lines.some(listed)) return before;
    const body = `${[...lines, name].join('\n')}\n`;
    return before === null ? MODULES_LOAD_HEADER + body : body;
  }
  if (!lines.some(listed)) return before;
  const kept = lines.filter((line) => !listed(line));
  return kept.length ? `${kept.join('\n')}\n` : '';
}

const OPTIONS_LINE = /^\s*options\s+(\S+)(.*)$/;

/**
 * Pure: a modprobe.d file's text with exactly one `options NAME PARAMS` line for the module (words given)
 * or none (words undefined). Several `options` lines for one module add up, so later ones are removed
 * for the result to mean exactly the asked parameters.
 */
export function editModprobeOptions(before: string | null, name: string, words: string[] | undefined): string | null {
  const lines = splitLines(before ?? '');
  const wanted = canonicalModuleName(name);
  const indexes = lines
    .map((line, index) => ({ index, match: OPTIONS_LINE.exec(line) }))
    .filter(({ match }) => match !== null && canonicalModuleName(match[1]!) === wanted);
  if (words === undefined) {
    if (indexes.length === 0) return before;
    for (const { index } of indexes.reverse()) lines.splice(index, 1);
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
  const line = `options ${name} ${words.join(' ')}`;
  const [first, ...later] = indexes;
  if (first && later.length === 0 && paramWords(first.match![2]!).join(' ') === words.join(' ')) return before;
  for (const { index } of later.reverse()) lines.splice(index, 1);
  if (first) lines[first.index] = line;
  else lines.push(line);
  const body = `${lines.join('\n')}\n`;
  return before === null ? MODPROBE_OPTIONS_HEADER + body : body;
}
