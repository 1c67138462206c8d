/**
 * selinux: the SELinux mode now (`setenforce`) and at boot (`SELINUX=` in /etc/selinux/config).
 *
 * `disabled` can only take effect at boot; until then the host is made permissive, which is what
 * kubeadm's preparation needs (`setenforce 0` plus `SELINUX=permissive` or `disabled`). On a host without
 * SELinux (no selinuxfs and no configuration file: Debian, Ubuntu by default) there is nothing to do and
 * the task reports "SELinux not present"; that is not a failure, so one playbook serves both families.
 *
 * Parameter names follow Ansible's ansible.posix.selinux.
 *
 * @example
 *   await t.selinux('permissive for kubeadm', { state: 'permissive' });
 *   await t.selinux('no SELinux at all', { state: 'disabled' });
 */
import { posix } from 'node:path';
import { sh } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { combinePlans, defineModule, noChange, type Change, type Plan } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { planFileContent } from './lib/file-content.ts';
import { decodeHostText, encodeHostText } from '../runner/host-text.ts';
import { readFileState } from './facts/file-state.ts';
import { selinuxState, type SelinuxState } from './facts/selinux-state.ts';

/** The policy written when none is asked for and the file names none. */
export const DEFAULT_POLICY = 'targeted';

const params = s.object({
  /** The mode: enforcing, permissive, or disabled (permissive now, disabled from the next boot). */
  state: s.enum(['enforcing', 'permissive', 'disabled']),
  /**
   * The policy (`SELINUXTYPE=`), e.g. `targeted` or `mls`. Default: keep the file's; a file without one
   * gets `targeted` unless the state is disabled.
   */
  policy: s.string({ pattern: /^[A-Za-z0-9_.-]+$/, what: 'a policy name such as targeted or mls' }).optional(),
  /** The configuration file read at boot. */
  configfile: s.string({ pattern: /^\/[^\n\r]*$/, what: 'an absolute path on one line' }).default('/etc/selinux/config'),
});

export type SelinuxParams = InputOf<typeof params>;

type Mode = 'enforcing' | 'permissive' | 'disabled';

export const selinux = defineModule({
  name: 'selinux',
  summary: 'set the SELinux mode now (setenforce) and at boot (/etc/selinux/config); nothing on hosts without SELinux',
  params,
  async plan(p, host) {
    const [kernel, config] = await Promise.all([
      host.fact(selinuxState(posix.dirname(p.configfile))),
      readFileState(host, p.configfile, { content: 'always', follow: true }),
    ]);
    if (!kernel.enabled && config.kind === 'absent') return noChange('SELinux not present');
    if (config.kind !== 'file' && config.kind !== 'absent') {
      throw new ModuleError(`${p.configfile} on ${host.name} is a ${config.kind}, not a file`, 'fix the SELinux configuration file by hand');
    }
    const before = config.kind === 'file' ? decodeHostText(config.content ?? Buffer.alloc(0)) : null;
    const after = editSelinuxConfig(before, p.state, p.policy);
    if (after !== before) checkPolicyInstalled(after, p.state, kernel, p.configfile, host.name);

    const plans: Plan[] = [{ changes: liveChanges(p.state, kernel) }];
    if (after !== before) plans.push(await planFileContent({ path: config.path, content: encodeHostText(after), follow: true }, host, config));
    const plan = combinePlans(...plans);
    if (plan.changes.length > 0) {
      if (!kernel.enabled && p.state !== 'disabled') {
        plan.changes = plan.changes.map((change) => ({
          ...change,
          summary: `${change.summary} (SELinux is off in the running kernel: takes effect after a reboot)`,
        }));
      }
      return plan;
    }
    const live = kernel.enabled ? `${kernel.mode} now` : 'not enabled in the running kernel';
    return noChange(`SELinux ${live}; ${config.path} says ${p.state}`);
  },
});

/** The mode change now: disabled cannot be reached without a reboot, permissive is the closest. */
function liveChanges(state: Mode, kernel: SelinuxState): Change[] {
  if (!kernel.enabled) return [];
  const wanted = state === 'enforcing' ? 'enforcing' : 'permissive';
  if (kernel.mode === wanted) return [];
  const flag = wanted === 'enforcing' ? '1' : '0';
  return [
    {
      summary: `set SELinux mode ${kernel.mode} → ${wanted} now${state === 'disabled' ? ' (disabled after the next reboot)' : ''}`,
      diff: { kind: 'value', name: 'SELinux mode', before: kernel.mode ?? null, after: wanted },
      // The live mode is read only by this module's probe.
      effects: [],
      commands: [
        {
          run: kernel.hasSetenforce ? sh`setenforce ${flag}` : sh`printf '%s' ${flag} > /sys/fs/selinux/enforce`,
          description: `setenforce ${flag}`,
        },
      ],
    },
  ];
}

/** Booting enforcing or permissive with a policy that is not installed leaves a host that may not boot. */
function checkPolicyInstalled(config: string, state: Mode, kernel: SelinuxState, path: string, host: string): void {
  if (state === 'disabled') return;
  const policy = readSetting(config, 'SELINUXTYPE');
  if (policy === undefined || kernel.policies.includes(policy)) return;
  const dir = posix.dirname(path);
  throw new ModuleError(
    `SELinux policy ${policy} is not installed on ${host} (no ${dir}/${policy}); booting ${state} without it can leave the host unbootable`,
    `install the policy package first (RHEL family: selinux-policy-${policy}), or choose an installed policy${kernel.policies.length ? ` (${kernel.policies.join(', ')})` : ''}`,
  );
}

/** `NAME=value` lines as selinux(8) reads them: the last one wins; quotes around the value are ignored. */
function settingPattern(name: string): RegExp {
  return new RegExp(`^\\s*${name}\\s*=\\s*(.*?)\\s*$`);
}

function unquote(value: string): string {
  return value.replace(/^(["'])(.*)\1$/, '$2');
}

/** The effective value of a setting in a config file's text, if any. */
export function readSetting(text: string, name: string): string | undefined {
  const pattern = settingPattern(name);
  let found: string | undefined;
  for (const line of text.split('\n')) {
    const match = pattern.exec(line);
    if (match) found = unquote(match[1]!);
  }
  return found;
}

export const SELINUX_CONFIG_HEADER = '# SELinux mode and policy at boot, managed by drover (selinux module).\n';

/**
 * Pure: the config file's text with `SELINUX=state` and the policy. The first line of each setting is
 * rewritten in place (or kept when already right), later ones removed; a missing one is appended.
 * Returns the text unchanged when nothing needs editing.
 */
export function editSelinuxConfig(before: string | null, state: Mode, policy: string | undefined): string {
  const lines = before === null || before === '' ? [] : before.replace(/\n$/, '').split('\n');
  let edited = false;
  const set = (name: string, value: string) => {
    const pattern = settingPattern(name);
    const indexes = lines.map((line, index) => (pattern.test(line) ? index : -1)).filter((index) => index >= 0);
    const [first, ...later] = indexes;
    for (const index of later.reverse()) lines.splice(index, 1);
    edited ||= later.length > 0;
    if (first === undefined) {
      lines.push(`${name}=${value}`);
      edited = true;
    } else if (unquote(pattern.exec(lines[first]!)![1]!) !== value) {
      lines[first] = `${name}=${value}`;
      edited = true;
    }
  };
  set('SELINUX', state);
  const current = readSetting(lines.join('\n'), 'SELINUXTYPE');
  if (policy !== undefined) set('SELINUXTYPE', policy);
  else if (current === undefined && state !== 'disabled') set('SELINUXTYPE', DEFAULT_POLICY);
  if (!edited && before !== null) return before;
  const body = `${lines.join('\n')}\n`;
  return before === null ? SELINUX_CONFIG_HEADER + body : body;
}
