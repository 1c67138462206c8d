/**
 * group: a local group present with a given gid (or any), or absent.
 *
 * One probe reads the group (`getent group`), who holds the asked gid, and, when the group is to be
 * removed, which users have it as their primary group (groupdel refuses those; the plan says so first).
 * Changing the gid of an existing group (`groupmod -g`) does not re-own files that carry the old gid;
 * `system` applies when the group is created (a gid from the system range), an existing group is not
 * re-numbered for it. Membership is the user module's business (`groups`, `append`).
 *
 * @example
 *   await t.group('docker group', { name: 'docker', system: true });
 *   await t.group('fixed gid', { name: 'etcd', gid: 2379 });
 *   await t.group('old group gone', { name: 'legacy', state: 'absent' });
 */
import { sh, Script } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type HostContext, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { accountId, accountName, noteAccountReads, withAccountEffects } from './lib/accounts.ts';
import { field, fromBase64, parseFieldLines } from './lib/probe-output.ts';

const params = s
  .object({
    /** The group's name (lowercase letters, digits, `_` and `-`, starting with a letter or `_`; at most 32 characters). */
    name: accountName('group'),
    /** `present`: the group exists (created if missing); `absent`: removed if it exists. */
    state: s.enum(['present', 'absent']).default('present'),
    /** The numeric group id; default: any free one when creating, and an existing group keeps its own. */
    gid: accountId().optional(),
    /** When creating: take the gid from the system range (`groupadd -r`), for groups of services. */
    system: s.boolean().default(false),
  })
  .rule((p) => (p.state === 'absent' && p.gid !== undefined ? 'gid means nothing with state=absent' : undefined));

export type GroupParams = InputOf<typeof params>;
type Params = OutputOf<typeof params>;

/** What the probe found: the group (if any), who holds the asked gid, whose primary group it is. */
export interface GroupState {
  exists: boolean;
  gid?: number;
  /** Members listed in /etc/group (supplementary members). */
  members: string[];
  /** The group that holds the asked gid, when one does. */
  gidOwner?: string;
  /** Users whose primary group this is (asked only when removing). */
  primaryOf: string[];
}

export const group = defineModule({
  name: 'group',
  summary: 'Make a local group present (with a gid) or absent',
  params,
  async plan(p, host) {
    noteAccountReads(host.predicted);
    const state = await probeGroup(p, host);
    return withAccountEffects(planGroup(p, state));
  },
});

/** The one probe: the group's line, the holder of the asked gid, and (for absent) its primary users. */
export function groupProbeScript(p: Params): Script {
  const parts = [
    sh`n=${p.name}
if e=$(getent group "$n"); then
  printf 'group=%s\n' "$(printf '%s' "$e" | base64 -w0)"
  g=$(printf '%s' "$e" | cut -d: -f3)
else
  echo group=absent
  g=
fi`,
  ];
  if (p.gid !== undefined) parts.push(sh`if e=$(getent group ${p.gid}); then printf 'gidowner=%s\n' "\${e%%:*}"; fi`);
  // groupdel refuses a group that is some user's primary group: name them while planning.
  if (p.state === 'absent') parts.push(sh`if [ -n "$g" ]; then getent passwd | awk -F: -v g="$g" '$4 == g { print "primaryof=" $1 }'; fi`);
  return Script.join(parts);
}

/** Pure: probe output → GroupState. Exported for table tests. */
export function parseGroupProbe(stdout: string): GroupState {
  const fields = parseFieldLines(stdout);
  const line = field(fields, 'group');
  if (line === undefined)
    throw new ModuleError(
      `unexpected group probe output: ${JSON.stringify(stdout.slice(0, 200))}`,
      'run the task again; if it persists, check getent on the host',
    );
  const state: GroupState = { exists: line !== 'absent', members: [], primaryOf: fields.get('primaryof') ?? [] };
  if (state.exists) {
    const [, , gid = '', members = ''] = fromBase64(line).replace(/\n$/, '').split(':');
    state.gid = Number(gid);
    state.members = members === '' ? [] : members.split(',');
  }
  const owner = field(fields, 'gidowner');
  if (owner !== undefined) state.gidOwner = owner;
  return state;
}

async function probeGroup(p: Params, host: HostContext): Promise<GroupState> {
  const output = await host.probe(groupProbeScript(p));
  if (output.exitCode !== 0) {
    throw new ModuleError(
      `cannot read group ${p.name} on ${host.name} (exit ${output.exitCode}): ${output.stderr.trim().slice(0, 300)}`,
      'check that getent works on the host',
    );
  }
  return parseGroupProbe(output.stdout);
}

/** Pure: (params, probed state) → plan. Exported for table tests. */
export function planGroup(p: Params, state: GroupState): Plan {
  const name = p.name;
  if (p.state === 'absent') {
    if (!state.exists) return noChange(`group ${name} does not exist`);
    if (state.primaryOf.length > 0) {
      throw new ModuleError(
        `group ${name} is the primary group of ${state.primaryOf.join(', ')}; groupdel cannot remove it`,
        'remove those users first, or give them another primary group (user module, group)',
      );
    }
    return {
      changes: [
        {
          summary: `remove group ${name} (gid ${state.gid})`,
          diff: { kind: 'value', name: `group ${name}`, before: `gid ${state.gid}`, after: 'absent' },
          commands: [{ run: sh`groupdel ${name}`, description: `groupdel ${name}` }],
        },
      ],
    };
  }
  if (p.gid !== undefined && state.gidOwner !== undefined && state.gidOwner !== name) {
    throw new ModuleError(`gid ${p.gid} is already used by group ${state.gidOwner}`, `choose another gid for ${name}, or leave gid out`);
  }
  if (!state.exists) {
    const args = [...(p.gid !== undefined ? ['-g', String(p.gid)] : []), ...(p.system ? ['-r'] : []), name];
    const what = [p.gid !== undefined ? `gid ${p.gid}` : 'any gid', p.system ? 'system' : ''].filter(Boolean).join(', ');
    return {
      changes: [
        {
          summary: `create group ${name} (${what})`,
          diff: { kind: 'value', name: `group ${name}`, before: null, after: p.gid !== undefined ? `gid ${p.gid}` : 'present' },
          commands: [{ run: sh`groupadd ${args}`, description: `groupadd ${args.join(' ')}` }],
        },
      ],
    };
  }
  if (p.gid !== undefined && p.gid !== state.gid) {
    return {
      changes: [
        {
          summary: `set gid of group ${name} ${state.gid} → ${p.gid}`,
          diff: { kind: 'value', name: `group ${name} gid`, before: String(state.gid), after: String(p.gid) },
          commands: [{ run: sh`groupmod -g ${p.gid} ${name}`, description: `groupmod -g ${p.gid} ${name}` }],
        },
      ],
    };
  }
  return noChange(`group ${name} exists (gid ${state.gid}${state.members.length ? `, members ${state.members.join(', ')}` : ''})`);
}
