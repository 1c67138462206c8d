/**
 * stat: read-only facts about one path — whether it exists, its type, mode, owner and group (names and
 * ids), size, modification time, a symbolic link's target and, if asked, the sha256 of a file — returned
 * to the playbook as a typed value and written to the audit log. It changes nothing, so it runs in check
 * mode too and never reports a change. One probe.
 *
 * @example
 *   const conf = await t.stat('admin.conf there?', { path: '/etc/kubernetes/admin.conf', checksum: true });
 *   if (conf.value?.exists && conf.value.type === 'file') { … conf.value.sha256 … }
 *   const link = await t.stat('kubectl link', { path: '/usr/local/bin/kubectl' });   // link.value?.linkTarget
 *
 * Differences from Ansible, on purpose: `checksum` is off by default (hashing reads the whole file on
 * every run; ask for it when you compare). A path that cannot be examined (a parent directory the
 * connecting user may not search) fails the task instead of reading as "does not exist".
 */
import { sh } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, type Plan } from '../runner/module.ts';
import type { PredictedView } from '../runner/predicted-state.ts';
import { formatMode } from './lib/mode.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { hostPath } from './lib/file-params.ts';
import { field, fromBase64, parseFieldLines } from './lib/probe-output.ts';

/** What is at the path: `link` only without `follow` (with it, the link's target is described). */
export type StatType = 'file' | 'directory' | 'link' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'absent';

/** The value a stat task returns to the playbook. Every field but `path`, `exists` and `type` is absent for a missing path. */
export interface StatValue {
  /** The path as examined (normalised: no `//`, `/./` or trailing `/`). */
  path: string;
  exists: boolean;
  type: StatType;
  /** Permission bits in octal with a leading zero, as modules take them: "0644", "1777". */
  mode?: string;
  uid?: number;
  gid?: number;
  /** Owner and group names; absent when the id has no name on the host. */
  owner?: string;
  group?: string;
  /** Size in bytes (for a link without follow: the length of its target). */
  size?: number;
  /** Modification time, seconds since the epoch (UTC). */
  mtime?: number;
  /** Where a symbolic link points, as stored in the link (also given with `follow`, when the path is a link). */
  linkTarget?: string;
  /** sha256 of a regular file's content, with `checksum`. */
  sha256?: string;
}

const params = s.object({
  /** The path on the host (absolute). */
  path: hostPath(),
  /** When path is a symbolic link, describe what it points to (a dangling link then reads as absent). Default: the link itself. */
  follow: s.boolean().default(false),
  /** Also compute the sha256 of a regular file (reads the whole file). */
  checksum: s.boolean().default(false),
});

export type StatParams = InputOf<typeof params>;

export const stat = defineModule({
  name: 'stat',
  summary: 'Read facts about a path (exists, type, mode, owner, size, mtime, link target, sha256) into a value; changes nothing',
  params,
  async plan(p, host): Promise<Plan<StatValue>> {
    const path = p.path; // normalised by the hostPath schema
    // A dry run reads through the links its earlier tasks would make (see PredictedView.throughLinks).
    const lookup = host.predicted.throughLinks(path);
    const output = await host.probe(statScript(lookup, p.follow, p.checksum));
    if (output.exitCode !== 0) {
      throw new ModuleError(
        `could not examine ${path} on ${host.name}: ${(field(parseFieldLines(output.stdout), 'error') ?? output.stderr).trim() || `exit code ${output.exitCode}`}`,
        'check that the connecting user (or become) may search every directory on the path',
      );
    }
    const value = { ...predictStat({ ...p, path: lookup }, parseStat(lookup, output.stdout), host.predicted), path };
    return { changes: [], reason: describe(value), value };
  },
});

/**
 * The probe. `stat --printf` gives the raw mode in hex (%f), whose type bits tell file, directory, link…
 * without parsing localised words; LC_ALL=C keeps stat's error text English so "No such file" can be told
 * from "Permission denied". Text that may hold any byte (the link target, names) travels base64-encoded.
 */
export function statScript(path: string, follow: boolean, checksum: boolean): ReturnType<typeof sh> {
  const hash = checksum ? 'yes' : 'no';
  // "$@" holds stat's -L with follow, nothing without (stat has no option for "do not follow").
  return sh`p=${path}
export LC_ALL=C
if [ ${follow ? 'yes' : 'no'} = yes ]; then set -- -L; else set --; fi
if out=$(stat "$@" --printf '%f %a %u %g %s %Y\n' -- "$p" 2>&1); then
  echo "stat=$out"
  printf 'owner=%s\n' "$(stat "$@" --printf '%U' -- "$p" | base64 -w0)"
  printf 'group=%s\n' "$(stat "$@" --printf '%G' -- "$p" | base64 -w0)"
  if [ -L "$p" ]; then printf 'link=%s\n' "$(readlink -- "$p" | base64 -w0)"; fi
  if [ ${hash} = yes ] && [ -f "$p" ] && { [ $# -gt 0 ] || [ ! -L "$p" ]; }; then echo "sha256=$(sha256sum < "$p" | cut -d' ' -f1)"; fi
else
  case $out in
    *'No such file or directory'*|*'Not a directory'*)
      echo absent=yes
      if [ -L "$p" ]; then printf 'link=%s\n' "$(readlink -- "$p" | base64 -w0)"; fi ;;
    *) printf 'error=%s\n' "$out"; exit 3 ;;
  esac
fi
`;
}

/** The file-type bits of st_mode (S_IFMT), in octal as <sys/stat.h> writes them. */
const TYPE_BITS = new Map<number, StatType>([
  [0o100000, 'file'],
  [0o040000, 'directory'],
  [0o120000, 'link'],
  [0o010000, 'fifo'],
  [0o140000, 'socket'],
  [0o020000, 'char-device'],
  [0o060000, 'block-device'],
]);

/** Pure: the probe's output → the value. Tested from captured output. */
export function parseStat(path: string, stdout: string): StatValue {
  const fields = parseFieldLines(stdout);
  const link = field(fields, 'link');
  if (field(fields, 'absent') === 'yes') {
    // A dangling link followed: absent, but the link's target is still worth knowing.
    return { path, exists: false, type: 'absent', ...(link !== undefined && { linkTarget: fromBase64(link).replace(/\n$/, '') }) };
  }
  const line = field(fields, 'stat');
  const match = line === undefined ? null : /^([0-9a-f]+) ([0-7]+) (\d+) (\d+) (\d+) (\d+)$/.exec(line);
  if (!match) throw new ModuleError(`stat ${path}: unexpected probe output ${JSON.stringify(stdout.slice(0, 300))}`);
  const [, rawHex, perms, uid, gid, size, mtime] = match as unknown as [string, string, string, string, string, string, string];
  const type = TYPE_BITS.get(Number.parseInt(rawHex, 16) & 0o170000);
  if (!type) throw new ModuleError(`stat ${path}: unknown file type in raw mode 0x${rawHex}`);
  const owner = fromBase64(field(fields, 'owner') ?? '');
  const group = fromBase64(field(fields, 'group') ?? '');
  const sha256 = field(fields, 'sha256');
  return {
    path,
    exists: true,
    type,
    mode: perms.padStart(4, '0'),
    uid: Number(uid),
    gid: Number(gid),
    // stat prints UNKNOWN for an id with no name.
    ...(owner && owner !== 'UNKNOWN' && { owner }),
    ...(group && group !== 'UNKNOWN' && { group }),
    size: Number(size),
    mtime: Number(mtime),
    ...(link !== undefined && { linkTarget: fromBase64(link).replace(/\n$/, '') }),
    ...(sha256 !== undefined && { sha256 }),
  };
}

/** One line for the report: "file 0644 root:root 220 bytes" or "absent". */
/**
 * In a dry run: the path as the earlier tasks' planned changes would leave it. What a prediction does not
 * give (the modification time, always; a new path's unasked mode and owner) is left out of the value, and
 * a path whose content an earlier task makes unknowable is read as it is now, the task depending on that one.
 */
export function predictStat(p: { path: string; follow: boolean; checksum: boolean }, probed: StatValue, predicted: PredictedView): StatValue {
  const found = predicted.path(p.path);
  if (!found) return probed;
  const known = found.known;
  const path = p.path;
  if (known.kind === 'absent') return { path, exists: false, type: 'absent' };
  if (known.kind === 'link') {
    if (p.follow) predicted.dependsOn(found.by, `what the link ${path} points to`);
    return p.follow ? probed : { path, exists: true, type: 'link', linkTarget: known.target, size: Buffer.byteLength(known.target) };
  }
  const same = probed.type === known.kind;
  const account = (asked: string | undefined, id: number | undefined, name: string | undefined) =>
    asked === undefined ? (same ? { id, name } : {}) : /^\d+$/.test(asked) ? { id: Number(asked) } : { name: asked };
  const owner = account(known.owner, probed.uid, probed.owner);
  const group = account(known.group, probed.gid, probed.group);
  const mode = known.mode !== undefined ? formatMode(known.mode) : same ? probed.mode : undefined;
  return {
    path,
    exists: true,
    type: known.kind,
    ...(mode !== undefined && { mode }),
    ...(owner.id !== undefined && { uid: owner.id }),
    ...(owner.name !== undefined && { owner: owner.name }),
    ...(group.id !== undefined && { gid: group.id }),
    ...(group.name !== undefined && { group: group.name }),
    ...(known.kind === 'file'
      ? { size: known.size, ...(p.checksum && { sha256: known.sha256 }) }
      : same && probed.size !== undefined
        ? { size: probed.size }
        : {}),
  };
}

export function describe(value: StatValue): string {
  if (!value.exists) return value.linkTarget !== undefined ? `absent (dangling link to ${value.linkTarget})` : 'absent';
  const who = `${value.owner ?? value.uid}:${value.group ?? value.gid}`;
  const target = value.linkTarget !== undefined ? ` → ${value.linkTarget}` : '';
  // A predicted value (dry run) may lack what no prediction gives: shown as ?.
  return `${value.type}${target} ${value.mode ?? '?'} ${who.replace(/undefined/g, '?')} ${value.size ?? '?'} bytes`;
}
