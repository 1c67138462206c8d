/**
 * hostname: the host's name now and at every boot.
 *
 * Writes /etc/hostname (atomically, only when the name in it differs), then sets the running name with
 * `hostnamectl set-hostname` where systemd runs (so systemd-hostnamed and everything asking it agree), or
 * `hostname NAME` elsewhere. kubelet registers the node under this name, so it is checked as an RFC 1123
 * host name before anything is touched. /etc/hosts is left alone: use the hosts module for it.
 *
 * @example
 *   await t.hostname('node name', { name: String(host.vars.node_name) });
 */
import { sh } from '../runner/command.ts';
import { combinePlans, defineModule, noChange, type Change, type Plan } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { planFileContent } from './lib/file-content.ts';
import { unitJournalScript } from './lib/journal.ts';
import { readFileState } from './facts/file-state.ts';
import { hostnameState, type HostnameState } from './facts/hostname-state.ts';

const ETC_HOSTNAME = '/etc/hostname';
/** The kernel keeps at most 64 bytes (HOST_NAME_MAX); a longer name would be cut off. */
const MAX_LENGTH = 64;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Why a name is not an RFC 1123 host name (labels of letters, digits and inner hyphens, 1 to 63
 * characters each, separated by dots), or undefined when it is. Shared with the hosts module.
 */
export function hostnameProblem(name: string, maxLength = 253): string | undefined {
  if (name.length === 0) return 'a host name must not be empty';
  if (name.length > maxLength) return `${JSON.stringify(name.slice(0, 80))} is longer than ${maxLength} characters`;
  const bad = name.split('.').find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return `${JSON.stringify(name)} is not a valid host name (RFC 1123): ${bad === '' ? 'empty label' : `label ${JSON.stringify(bad)}`}; use letters, digits and hyphens, not starting or ending with a hyphen, separated by dots`;
  }
  if (/^[0-9]+$/.test(name.split('.').pop() ?? '')) return `${JSON.stringify(name)} looks like an address, not a host name (its last label is all digits)`;
  return undefined;
}

const params = s.object({
  /** The host name, e.g. `k8s-cp-1` or `node1.cluster.example` (RFC 1123, at most 64 characters). */
  name: s.string({ what: 'an RFC 1123 host name' }).refine((name) => hostnameProblem(name, MAX_LENGTH)),
});

export type HostnameParams = InputOf<typeof params>;

export const hostname = defineModule({
  name: 'hostname',
  summary: 'set the host name now (hostnamectl or hostname) and at boot (/etc/hostname)',
  params,
  async plan(p, host) {
    const [state, file] = await Promise.all([host.fact(hostnameState), readFileState(host, ETC_HOSTNAME, { content: 'always', follow: true })]);
    const persisted = file.kind === 'file' ? readEtcHostname((file.content ?? Buffer.alloc(0)).toString('utf8')) : undefined;
    const plans: Plan[] = [];
    if (persisted !== p.name) plans.push(await planFileContent({ path: file.path, content: `${p.name}\n`, follow: true }, host, file));
    const live = liveChange(p.name, state);
    if (live) plans.push({ changes: [live] });
    const plan = combinePlans(...plans);
    return plan.changes.length > 0 ? plan : noChange(`host name is ${p.name}, now and in ${ETC_HOSTNAME}`);
  },
});

function liveChange(name: string, state: HostnameState): Change | undefined {
  if (state.current === name) return undefined;
  const run = state.hostnamectl
    ? sh`hostnamectl set-hostname ${name}`
    : state.hostnameTool
      ? sh`hostname ${name}`
      : // No tool at all (a minimal image): the kernel's own interface.
        sh`printf '%s' ${name} > /proc/sys/kernel/hostname`;
  return {
    summary: `set host name ${state.current} → ${name}`,
    diff: { kind: 'value', name: 'hostname', before: state.current, after: name },
    commands: [
      {
        run,
        description: `${state.hostnamectl ? 'hostnamectl set-hostname' : 'hostname'} ${name}`,
        ...(state.hostnamectl ? { diagnose: unitJournalScript('systemd-hostnamed.service') } : {}),
      },
    ],
    // The live host name is read only by this module's probe; /etc/hostname is predicted by its file change.
    effects: [],
  };
}

/**
 * The name /etc/hostname gives, as systemd and Debian's scripts read it: the first line that is neither
 * empty nor a comment, without surrounding blanks. Undefined when there is none.
 */
export function readEtcHostname(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed !== '' && !trimmed.startsWith('#')) return trimmed;
  }
  return undefined;
}
