/**
 * hosts: a marked block of /etc/hosts holding the given addresses and names — e.g. every node of the
 * cluster — so that re-runs update the block in place and never add a line twice (the naive
 * `echo … >> /etc/hosts` adds one per run). Lines outside the block are kept byte for byte.
 *
 * The block is edited with blockinfile's `editBlock` and written atomically by `planFileContent` (modules/lib/).
 * Several blocks can live in one file under different `marker`s.
 *
 * @example
 *   await t.hosts('cluster nodes', {
 *     entries: hostsOf('k8s').map((node) => ({ address: String(node.vars.node_ip), names: [node.name] })),
 *     marker: 'drover k8s nodes',
 *   });
 */
import { isIPv4, isIPv6 } from 'node:net';
import { defineModule, noChange } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { hostPath } from './lib/host-path.ts';
import { editBlock } from './blockinfile.ts';
import { planFileContent } from './lib/file-content.ts';
import { decodeHostText, encodeHostText } from '../runner/host-text.ts';
import { readFileState } from './facts/file-state.ts';
import { hostnameProblem } from './hostname.ts';

function addressProblem(address: string): string | undefined {
  if (isIPv4(address) || (isIPv6(address) && !/[\s#]/.test(address))) return undefined;
  return `${JSON.stringify(address)} is not an IPv4 or IPv6 address`;
}

const entry = s.object({
  /** The address, IPv4 (`10.0.0.11`) or IPv6 (`fd00::11`). */
  address: s.string({ what: 'an IPv4 or IPv6 address' }).refine(addressProblem),
  /** Its names, the canonical one first: `['node1.cluster.example', 'node1']`. */
  names: s.array(
    s.string({ what: 'an RFC 1123 host name' }).refine((name) => hostnameProblem(name)),
    { nonEmpty: true },
  ),
});

const params = s.object({
  /** The entries of the block, in order; an empty list removes the block (as blockinfile does). */
  entries: s.array(entry).default([]),
  /** present: the block holds exactly the entries; absent: the block (and its markers) is removed. */
  state: s.enum(['present', 'absent']).default('present'),
  /** Names the block: its lines are `# BEGIN <marker>` and `# END <marker>`. Unique per block in the file. */
  marker: s.string({ pattern: /^[^\u0000-\u001f\u007f]+$/, what: 'one line of text without control characters' }).default('drover managed hosts'),
  /** The hosts file to edit. */
  path: hostPath({ noControl: true }).default('/etc/hosts'),
});

export type HostsParams = InputOf<typeof params>;
export type HostsEntry = InputOf<typeof entry>;

/** Pure: the block's lines, one `address names…` line per entry. */
export function renderHostsBlock(entries: Array<{ address: string; names: string[] }>): string {
  return entries.map(({ address, names }) => `${address} ${names.join(' ')}`).join('\n');
}

export const hosts = defineModule({
  name: 'hosts',
  summary: 'keep a marked block of /etc/hosts entries (addresses and names) without duplicating lines',
  params,
  async plan(p, host) {
    const file = await readFileState(host, p.path, { content: 'always', follow: true });
    const what = `block "${p.marker}" in ${file.path}`;
    if (file.kind === 'absent' && p.state === 'absent') return noChange(`${file.path} does not exist; no block "${p.marker}" to remove`);
    const before = file.kind === 'file' ? decodeHostText(file.content ?? Buffer.alloc(0)) : null;
    const block = p.state === 'present' ? renderHostsBlock(p.entries) : '';
    const edit = editBlock(before, { state: p.state, block, marker: '# {mark} ' + p.marker, markerBegin: 'BEGIN', markerEnd: 'END' });
    if (!edit.changed) {
      return noChange(p.state === 'present' && p.entries.length > 0 ? `${what} holds the ${p.entries.length} entries` : `no ${what}`);
    }
    const plan = await planFileContent({ path: file.path, content: encodeHostText(edit.text), follow: true }, host, file);
    const action = block === '' ? 'remove' : before?.includes(`# BEGIN ${p.marker}\n`) ? 'update' : 'add';
    const count = block === '' ? '' : `, ${p.entries.length} ${p.entries.length === 1 ? 'entry' : 'entries'}`;
    return { ...plan, changes: plan.changes.map((change) => ({ ...change, summary: `${action} ${what}${count} (${change.summary})` })) };
  },
});
