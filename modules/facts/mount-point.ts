/**
 * What is mounted at one path, and what a wanted mount source really is, read in one round trip, so the
 * mount module can tell "already mounted from this source" from "something else is mounted here" for
 * every kind of source:
 *   - a bind mount shows in findmnt as `/dev/vda[/srv/data]`; it is the same mount when the mount point's
 *     root (device:inode) is the source directory's;
 *   - a block device may be named `/dev/sdb1`, `/dev/disk/by-uuid/…` or `UUID=…`; it is the same when the
 *     mounted filesystem's MAJ:MIN is the device's;
 *   - a loop image shows as `/dev/loopN`; it is the same when that loop device's backing file is the image;
 *   - anything else (tmpfs, nfs `host:/export`, proc) is compared by the source name findmnt reports.
 */
import { sh, type Script } from '../../runner/command.ts';
import { FactError } from '../../runner/facts.ts';
import { parseFieldLines, probeSections } from '../lib/probe-output.ts';

/** One mounted filesystem as findmnt reports it. */
export interface MountedFs {
  target: string;
  source: string;
  fstype: string;
  options: string;
  /** Decimal `major:minor` of the filesystem's device. */
  majMin: string;
}

/** What the wanted source is on the host. */
export type SourceKind =
  | { kind: 'block'; majMin: string }
  | { kind: 'directory'; id: string }
  | { kind: 'file'; realPath: string }
  | { kind: 'absent' }
  /** Not a path (tmpfs, host:/export) or a tag that could not be resolved: compared by name. */
  | { kind: 'name' };

export interface MountPointState {
  /** Every filesystem mounted exactly at the path, bottom first; the last one is what is visible. */
  mounts: MountedFs[];
  /** What is at the path itself (with a mount on it: the mounted root). */
  pathKind: 'directory' | 'file' | 'other' | 'absent';
  /** device:inode of the path (followed), for comparing with a bind source. */
  pathId?: string;
  source?: SourceKind;
  /** For a top mount from /dev/loopN: the image file behind it. */
  loopBackingFile?: string;
}

/**
 * The probe. `src` is examined only when it names a path or a `UUID=`/`LABEL=`/`PARTUUID=` tag. Sections
 * are marked by `@@` lines; values that may hold any byte travel base64-encoded.
 */
export function mountPointScript(path: string, src?: string): Script {
  // findmnt exits 1 without a word when nothing is mounted at the path; a message with a failure is an
  // error (a findmnt without -J, as util-linux 2.23 on EL7), never "nothing mounted". The top mount's
  // source is asked a second time only when a loop device shows in the first answer: every mount task runs
  // this on every host, and most never see a loop device (issue 13).
  return sh`p=${path}
echo @@findmnt
if mounts=$(findmnt -J -l -o TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN --mountpoint "$p" 2>&1); then printf '%s\n' "$mounts"
elif [ -n "$mounts" ]; then printf 'findmnt failed (drover reads its JSON output, findmnt -J): %s\n' "$mounts" >&2; exit 1
fi
echo @@path
if [ -d "$p" ]; then echo kind=directory; elif [ -f "$p" ]; then echo kind=file; elif [ -e "$p" ]; then echo kind=other; else echo kind=absent; fi
if [ -e "$p" ]; then echo "id=$(stat -L -c '%d:%i' -- "$p")"; fi
top=
case "$mounts" in *loop*) top=$(findmnt -n -o SOURCE --mountpoint "$p" 2>/dev/null | tail -n 1) || top= ;; esac
case "$top" in /dev/loop[0-9]*)
  f=/sys/block/\${top#/dev/}/loop/backing_file
  if [ -r "$f" ]; then printf 'loop=%s\n' "$(base64 -w0 < "$f")"; fi;;
esac
echo @@src
s=${src ?? ''}
case "$s" in UUID=*|LABEL=*|PARTUUID=*|PARTLABEL=*) s=$(findfs "$s" 2>/dev/null) || s=;; esac
case "$s" in
/*)
  if [ -b "$s" ]; then echo "kind=block"; echo "rdev=$(stat -L -c '%t:%T' -- "$s")"
  elif [ -d "$s" ]; then echo kind=directory; echo "id=$(stat -L -c '%d:%i' -- "$s")"
  elif [ -f "$s" ]; then echo kind=file; printf 'real=%s\n' "$(readlink -f -- "$s" | base64 -w0)"
  elif [ -e "$s" ]; then echo kind=other
  else echo kind=absent; fi;;
*) echo kind=name;;
esac
`;
}

/** Parses the probe's output. Pure; tested from captured output. */
export function parseMountPoint(path: string, stdout: string): MountPointState {
  const sections = probeSections(stdout);
  const findmnt = (sections.get('findmnt') ?? '').trim();
  const pathFields = fieldsOf(sections.get('path'));
  const srcFields = fieldsOf(sections.get('src'));
  const pathKind = pathFields.get('kind');
  if (pathKind !== 'directory' && pathKind !== 'file' && pathKind !== 'other' && pathKind !== 'absent') {
    throw new FactError(`mount-point:${path}`, `unexpected probe output: ${JSON.stringify(stdout.slice(0, 300))}`);
  }
  const state: MountPointState = { mounts: findmnt ? parseFindmnt(path, findmnt) : [], pathKind };
  const pathId = pathFields.get('id');
  if (pathId) state.pathId = pathId;
  const loop = pathFields.get('loop');
  if (loop !== undefined) state.loopBackingFile = Buffer.from(loop, 'base64').toString('utf8').replace(/\n$/, '');
  const source = parseSource(srcFields);
  if (source) state.source = source;
  return state;
}

function parseSource(fields: Map<string, string>): SourceKind | undefined {
  switch (fields.get('kind')) {
    case 'block': {
      // stat prints the device's major and minor in hex; findmnt prints MAJ:MIN in decimal.
      const [major, minor] = (fields.get('rdev') ?? '').split(':').map((hex) => Number.parseInt(hex, 16));
      return { kind: 'block', majMin: `${major}:${minor}` };
    }
    case 'directory':
      return { kind: 'directory', id: fields.get('id') ?? '' };
    case 'file':
      return {
        kind: 'file',
        realPath: Buffer.from(fields.get('real') ?? '', 'base64')
          .toString('utf8')
          .replace(/\n$/, ''),
      };
    case 'absent':
      return { kind: 'absent' };
    case 'other':
    case 'name':
      return { kind: 'name' };
    default:
      return undefined;
  }
}

/** findmnt -J output → mounted filesystems. Pure. */
export function parseFindmnt(path: string, json: string): MountedFs[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new FactError(`mount-point:${path}`, `findmnt printed something that is not JSON: ${JSON.stringify(json.slice(0, 200))}`);
  }
  const list = isRecord(data) && Array.isArray(data.filesystems) ? data.filesystems : undefined;
  if (!list) throw new FactError(`mount-point:${path}`, `findmnt JSON has no filesystems list: ${JSON.stringify(json.slice(0, 200))}`);
  return list.map((item: unknown) => {
    if (!isRecord(item)) throw new FactError(`mount-point:${path}`, 'findmnt listed something that is not an object');
    return {
      target: text(item.target),
      source: text(item.source),
      fstype: text(item.fstype),
      options: text(item.options),
      majMin: text(item['maj:min']),
    };
  });
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A section's name=value lines (each name is printed once; a repeated one: the last wins). */
function fieldsOf(text: string | undefined): Map<string, string> {
  return new Map([...parseFieldLines(text ?? '')].map(([name, values]) => [name, values.at(-1)!]));
}
