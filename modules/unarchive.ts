/**
 * unarchive: make a directory on the host hold what an archive holds — tar (plain, gzip, xz) or zip, read
 * on the controller and streamed to each host (`src`, as copy's `src`), or already on the host
 * (`remoteSrc`, e.g. after getUrl).
 *
 * Idempotent by comparing the archive with dest, member by member, in one probe: for tar, GNU tar's own
 * `--compare` (contents, size, mode, owner, mtime, link targets, type; exactly what extraction would
 * change); for zip, a python3 helper (type, size, CRC-32 of the contents, mode, link targets). Nothing
 * differs: nothing is extracted. Check mode shows the listing diff: each member that is absent or differs,
 * as it is at dest and as the archive has it. `creates` skips everything (even the comparison) when a path
 * exists.
 *
 * Refused before anything is written: members that would land outside dest — absolute names, `..`
 * components, links whose targets leave dest, names below a symbolic link the archive itself makes.
 * Symbolic links already on the host are followed, as tar does (a merged /usr's /lib → usr/lib).
 *
 * A controller archive travels to the host in the probe (the comparison reads it) and again when it is
 * extracted; it is never stored on the host. Needs GNU tar (and xz for .tar.xz) or python3 (zip) there.
 *
 * @example
 *   await t.unarchive('helm', { remoteSrc: '/opt/dl/helm.tar.gz', dest: '/opt/helm', creates: '/opt/helm/linux-amd64/helm' });
 *   await t.unarchive('site', { src: 'files/site.zip', dest: '/srv/www', owner: 'www-data', group: 'www-data' });
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sh, type Command, type Script } from '../runner/command.ts';
import type { ContentSource } from '../runner/content-source.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type Change, type HostContext, type Plan, type ProbeOutput } from '../runner/module.ts';
import type { Effect } from '../runner/predicted-state.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { escapingMembers, memberKey, parseTarComparison, parseZipComparison, type ArchiveComparison, type ArchiveMember } from './facts/archive-listing.ts';
import { sameAccount } from './lib/attributes.ts';
import { openControllerFile } from './lib/controller-file.ts';
import { fileAttributeParams, hostPath } from './lib/file-params.ts';
import { field, parseFieldLines, probeSections } from './lib/probe-output.ts';

const FORMATS = ['auto', 'tar', 'tar.gz', 'tar.xz', 'zip'] as const;
type Format = Exclude<(typeof FORMATS)[number], 'auto'>;

const params = s
  .object({
    /** A file on the controller (relative to the working directory), streamed to each host. Exclusive with `remoteSrc`. */
    src: s.string({ nonEmpty: true, what: 'a path on the controller' }).optional(),
    /** An archive already on the host (absolute path). Exclusive with `src`. */
    remoteSrc: hostPath().optional(),
    /** The directory to extract into; it must exist (create it with file state=directory). */
    dest: hostPath(),
    /** `auto` (default) tells tar, tar.gz, tar.xz and zip apart by their first bytes. */
    format: s.enum(FORMATS).default('auto'),
    /** A path on the host that, when it exists, means the archive was already extracted: nothing is read or compared. */
    creates: hostPath().optional(),
    /** User that owns every extracted member (name or uid); default: tar keeps the archive's owners, zip the running user. */
    owner: fileAttributeParams.owner,
    /** Group of every extracted member (name or gid); default as for owner. */
    group: fileAttributeParams.group,
    /** Seconds the comparison and the extraction may each take (default 600). */
    timeout: s.int({ min: 1, max: 86_400 }).default(600),
  })
  .rule((p) => ((p.src === undefined) === (p.remoteSrc === undefined) ? 'give exactly one of src (on the controller) and remoteSrc (on the host)' : undefined));

export type UnarchiveParams = InputOf<typeof params>;
type Parsed = OutputOf<typeof params>;

export const unarchive = defineModule({
  name: 'unarchive',
  summary: 'Extract a tar (gz, xz) or zip archive from the controller or the host into a directory, idempotent by comparing members',
  params,
  async plan(p, host): Promise<Plan> {
    // In a dry run: what an earlier task may have changed unpredictably under dest makes this depend on it.
    host.predicted.reads('files', p.dest, `what is in ${p.dest}`);
    const plan = await planUnarchive(p, host);
    // The members written are compared, not carried one by one: what is under dest is unknown afterwards.
    const below: Effect = { kind: 'unknown', domains: ['files'], under: p.dest, what: `what ${archiveName(p)} extracts into ${p.dest}` };
    return { ...plan, changes: plan.changes.map((change) => ({ ...change, effects: change.commands.some((command) => !command.readOnly) ? [below] : [] })) };
  },
});

/** The plan from the probe: extraction, ownership, or nothing to do. */
async function planUnarchive(p: Parsed, host: HostContext): Promise<Plan> {
  const source = p.src !== undefined ? await openControllerFile(p.src, 'unarchive src', 'give the archive file itself') : undefined;
  const format = p.format !== 'auto' || !source ? p.format : await sniffLocal(resolve(p.src!));
  const output = await host.probe(compareScript(p, format), {
    ...(source && { stdin: source.stdin(Buffer.alloc(0)) }),
    timeoutMs: p.timeout * 1000,
  });
  const found = readProbe(output, p, host.name);
  if ('done' in found) return noChange(found.done);
  if ('srcMissing' in found) return planMissingArchive(p, host.name);
  const comparison = found.comparison;
  const escaping = escapingMembers(comparison);
  if (escaping.length > 0) {
    const shown = escaping.slice(0, 5).join('; ') + (escaping.length > 5 ? `; and ${escaping.length - 5} more` : '');
    throw new ModuleError(
      `archive ${archiveName(p)} has members that would be written outside ${p.dest}: ${shown}; nothing was extracted`,
      'use an archive whose members stay inside dest',
    );
  }
  const changes = planExtraction(p, found.format, comparison, source);
  if (found.destMissing) return { changes: [mustExist('dest', p.dest, host.name), ...changes], uncertain: true };
  if (changes.length > 0) return { changes };
  const owners = await ownershipChanges(p, comparison.members, host);
  return owners.length > 0 ? { changes: owners } : noChange(`${p.dest} already holds the ${comparison.members.length} members of ${archiveName(p)}`);
}

function archiveName(p: Parsed): string {
  return p.src !== undefined ? `${p.src} (controller)` : p.remoteSrc!;
}

/** The format from an archive's first bytes (gzip 1f 8b, xz fd 37 7a 58 5a 00, zip PK\3\4 or PK\5\6), else tar. */
export function sniffFormat(head: Buffer): Format {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'tar.xz';
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return 'zip';
  return 'tar';
}

async function sniffLocal(path: string): Promise<Format> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await file.read(head, 0, 8, 0);
    return sniffFormat(head.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

/**
 * The python3 helper for zip (no zip tool compares, and unzip is often not installed): `compare` prints
 * one JSON line per member with what differs at dest; `extract` writes the members, refusing (before
 * writing any) names and links that leave dest. Reads the archive from a path, or all of stdin for `-`.
 */
const ZIP_HELPER = `
import io, json, os, posixpath, stat, sys, zipfile, zlib
action, src, dest = sys.argv[1:4]
archive = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()) if src == "-" else src)
def kind(info):
    if info.is_dir(): return "directory"
    return "symlink" if stat.S_ISLNK(info.external_attr >> 16) else "file"
def climbs(path):
    path = posixpath.normpath(path)
    return path == ".." or path.startswith("../")
members = []
links = set()
for info in archive.infolist():
    k = kind(info)
    name = info.filename
    target = archive.read(info).decode("utf-8", "surrogateescape") if k == "symlink" else None
    key = name.strip("/")
    if action == "extract":
        parts = key.split("/")
        if name.startswith("/") or ".." in parts or any("/".join(parts[:i]) in links for i in range(1, len(parts))):
            sys.exit("drover: zip member %r would be written outside %s; nothing was extracted" % (name, dest))
        if k == "symlink":
            if target.startswith("/") or climbs(posixpath.join(posixpath.dirname(key), target)):
                sys.exit("drover: zip member %r links outside %s; nothing was extracted" % (name, dest))
            links.add(key)
    members.append((info, k, name, key, target))
for info, k, name, key, target in members:
    mode = (info.external_attr >> 16) & 0o7777
    path = os.path.join(dest, key) if key else dest
    if action == "compare":
        differs = []
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            differs.append("absent")
        else:
            same_type = {"directory": stat.S_ISDIR, "symlink": stat.S_ISLNK, "file": stat.S_ISREG}[k](st.st_mode)
            if not same_type:
                differs.append("file type differs")
            elif k == "symlink":
                if os.readlink(path) != target: differs.append("symlink differs")
            else:
                if k == "file" and st.st_size != info.file_size:
                    differs.append("size differs")
                elif k == "file":
                    crc = 0
                    with open(path, "rb") as f:
                        for chunk in iter(lambda: f.read(1 << 16), b""): crc = zlib.crc32(chunk, crc)
                    if crc != info.CRC: differs.append("contents differ")
                if mode and stat.S_IMODE(st.st_mode) != mode: differs.append("mode differs")
        print(json.dumps({"name": name, "type": k, "mode": "%04o" % mode, "size": info.file_size, "target": target, "differs": differs}))
        continue
    if k == "directory":
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        if os.path.lexists(path) and not os.path.isdir(path) or os.path.islink(path): os.unlink(path)
        if k == "symlink":
            os.symlink(target, path)
            continue
        tmp = "%s/.drover.%d.zip" % (os.path.dirname(path) or ".", os.getpid())
        with archive.open(info) as source, open(tmp, "wb") as out:
            while True:
                chunk = source.read(1 << 16)
                if not chunk: break
                out.write(chunk)
        os.replace(tmp, path)
    if mode: os.chmod(path, mode)
`;

const TAR_FLAGS: Record<Exclude<Format, 'zip'>, string[]> = { tar: [], 'tar.gz': ['-z'], 'tar.xz': ['-J'] };

/**
 * The one probe: `creates`, dest, the archive (for remoteSrc: present, its format from its first bytes),
 * the tool the format needs, then the member-by-member comparison. A controller archive arrives on stdin.
 */
function compareScript(p: Parsed, format: Format | 'auto'): Script {
  const src = p.remoteSrc ?? '-';
  return sh`creates=${p.creates ?? ''}
if [ -n "$creates" ] && { [ -e "$creates" ] || [ -L "$creates" ]; }; then echo created=yes; exit 0; fi
dest=${p.dest}
src=${src}
format=${format}
if [ "$src" != - ]; then
  [ -f "$src" ] || { echo src=missing; exit 0; }
  if [ "$format" = auto ]; then
    magic=$(od -An -tx1 -N6 -- "$src" | tr -d ' \n')
    case $magic in
      1f8b*) format=tar.gz ;;
      fd377a585a00) format=tar.xz ;;
      504b0304*|504b0506*) format=zip ;;
      *) format=tar ;;
    esac
  fi
fi
echo format=$format
case $format in
  zip) command -v python3 >/dev/null 2>&1 || { echo tool=missing:python3; exit 0; } ;;
  tar.xz) command -v xz >/dev/null 2>&1 || { echo tool=missing:xz; exit 0; } ;;
esac
command -v tar >/dev/null 2>&1 || { echo tool=missing:tar; exit 0; }
# Without dest (an earlier task of a dry run would make it) the archive is only listed: every member is absent.
if [ -d "$dest" ]; then set -- --compare -C "$dest"; else echo dest=missing; set -- --list; fi
echo @@compare
case $format in
  zip) exec python3 -c ${ZIP_HELPER} compare "$src" "$dest" ;;
  tar.gz) exec env LC_ALL=C tar "$@" -vv --quoting-style=c -z -f "$src" ;;
  tar.xz) exec env LC_ALL=C tar "$@" -vv --quoting-style=c -J -f "$src" ;;
  *) exec env LC_ALL=C tar "$@" -vv --quoting-style=c -f "$src" ;;
esac`;
}

type ProbeFinding = { done: string } | { srcMissing: true } | { format: Format; comparison: ArchiveComparison; destMissing: boolean };

/** Pure: the probe's output → nothing to do (creates), a comparison, or an error naming the fix. */
export function readProbe(output: ProbeOutput, p: Parsed, hostName: string): ProbeFinding {
  const fields = parseFieldLines(output.stdout.split('\n@@compare\n')[0] ?? '');
  if (field(fields, 'created') === 'yes') return { done: `${p.creates} exists; nothing extracted` };
  if (field(fields, 'src') === 'missing') return { srcMissing: true };
  const destMissing = field(fields, 'dest') === 'missing';
  const tool = field(fields, 'tool')?.replace(/^missing:/, '');
  if (tool) {
    const hint = tool === 'xz' ? 'install xz-utils (Debian) or xz (RHEL)' : tool === 'python3' ? 'install python3, or use a tar archive' : 'install GNU tar';
    throw new ModuleError(`${hostName} has no ${tool}, which a ${field(fields, 'format')} archive needs`, hint);
  }
  const format = field(fields, 'format') as Format | undefined;
  const compared = probeSections(output.stdout).get('compare');
  if (!format || compared === undefined)
    throw new ModuleError(
      `unexpected probe output from ${hostName}: ${output.stdout.slice(0, 200)}${output.stderr.slice(0, 300)}`,
      "report this with the host's tar --version",
    );
  // tar --compare: 0 same, 1 differences; 2 (or anything else) is trouble reading the archive.
  const fine = format === 'zip' ? output.exitCode === 0 : output.exitCode === 0 || output.exitCode === 1;
  if (!fine) {
    throw new ModuleError(
      `cannot read ${archiveName(p)} as ${format} on ${hostName} (exit code ${output.exitCode}): ${output.stderr.trim().split('\n').slice(-5).join('\n')}`,
      'check the archive and the format parameter',
    );
  }
  const comparison = format === 'zip' ? parseZipComparison(compared) : parseTarComparison(compared, output.stderr);
  if (comparison.members.length === 0) throw new ModuleError(`${archiveName(p)} has no members`, 'check the archive');
  if (destMissing) for (const member of comparison.members) comparison.differences.set(memberKey(member.name), ['absent']);
  return { format, comparison, destMissing };
}

/**
 * A path that does not exist now but may when this task runs: in a dry run an earlier task (getUrl, file
 * state=directory) only predicted it. Planned as a guard before the extraction, and the plan is uncertain
 * ("would run"); in a real run the earlier tasks have run, so a path still missing fails here, named.
 */
function mustExist(what: 'dest' | 'remoteSrc', path: string, hostName: string): Change {
  const test = what === 'dest' ? sh`[ -d ${path} ]` : sh`[ -f ${path} ]`;
  const problem =
    what === 'dest'
      ? `drover: dest ${path} is not a directory on ${hostName}: create it first (file state=directory)`
      : `drover: ${path} is not a file on ${hostName}: download or copy the archive there first (getUrl, copy)`;
  return {
    summary: `check that ${what} ${path} exists by then (it does not yet; an earlier task may make it)`,
    commands: [{ run: sh`${test} || { echo ${problem} >&2; exit 1; }`, readOnly: true, description: `check that ${path} exists` }],
  };
}

/**
 * The archive on the host is missing: nothing can be listed. A dry run says it would extract it (an
 * earlier getUrl may download it); a real run fails at the guard, naming the archive.
 */
function planMissingArchive(p: Parsed, hostName: string): Plan {
  const guard = mustExist('remoteSrc', p.remoteSrc!, hostName);
  return {
    changes: [
      { ...guard, summary: `extract ${p.remoteSrc} into ${p.dest} (the archive does not exist yet, so its members are unknown; an earlier task may make it)` },
    ],
    uncertain: true,
  };
}

/** Pure: the comparison → the extraction (and chown) when any member is absent or differs. */
export function planExtraction(p: Parsed, format: Format, comparison: ArchiveComparison, source?: ContentSource): Change[] {
  const byKey = new Map(comparison.members.map((member) => [memberKey(member.name), member]));
  // Ownership is the chown's business, not the extraction's: a wanted owner makes tar's Uid/Gid lines moot.
  const ignored = new Set(p.owner !== undefined || p.group !== undefined ? ['uid differs', 'gid differs'] : []);
  const differing = [...comparison.differences]
    .map(([key, reasons]) => [key, reasons.filter((reason) => !ignored.has(reason))] as const)
    .filter(([, reasons]) => reasons.length > 0);
  if (differing.length === 0) return [];
  const absent = differing.filter(([, reasons]) => reasons.includes('absent')).length;
  const before: string[] = [];
  const after: string[] = [];
  for (const [key, reasons] of differing) {
    const member = byKey.get(key);
    if (!reasons.includes('absent')) before.push(`${key}  (${reasons.join(', ')})`);
    after.push(member ? describeMember(key, member) : key);
  }
  const src = p.remoteSrc ?? '-';
  const extract: Command =
    format === 'zip'
      ? { run: sh`exec python3 -c ${ZIP_HELPER} extract ${src} ${p.dest}` }
      : { run: sh`exec tar -x ${TAR_FLAGS[format]} -f ${src} -C ${p.dest}` };
  const commands: Command[] = [
    {
      ...extract,
      ...(source && { stdin: source.stdin(Buffer.alloc(0)) }),
      timeoutMs: p.timeout * 1000,
      description: `extract ${archiveName(p)} into ${p.dest}`,
    },
  ];
  const chown = chownCommand(p, comparison.members);
  if (chown) commands.push(chown);
  const counts = [absent && `${absent} absent`, differing.length - absent && `${differing.length - absent} differing`].filter(Boolean).join(', ');
  return [
    {
      summary: `extract ${archiveName(p)} into ${p.dest} (${counts} of ${comparison.members.length} members)${chown ? `, owner ${ownerSpec(p)}` : ''}`,
      diff: { kind: 'file', path: `${p.dest} (archive members)`, before: before.length > 0 ? `${before.join('\n')}\n` : null, after: `${after.join('\n')}\n` },
      commands,
    },
  ];
}

function describeMember(key: string, member: ArchiveMember): string {
  if (member.type === 'symlink') return `${key} -> ${member.target ?? '?'}`;
  if (member.type === 'hardlink') return `${key} (hard link to ${member.target ?? '?'})`;
  if (member.type === 'directory') return `${key}/  ${member.mode}`;
  return `${key}  ${member.mode} ${member.size} bytes`;
}

function ownerSpec(p: Parsed): string {
  return `${p.owner ?? ''}${p.group !== undefined ? `:${p.group}` : ''}`;
}

/** The members' names, NUL-separated, as the chown and stat commands read them (bytes, never a shell word). */
function memberNames(members: ArchiveMember[]): Buffer {
  const keys = new Map<string, Buffer>();
  for (const member of members) {
    const key = memberKey(member.bytes.toString('latin1'));
    if (!keys.has(key)) keys.set(key, Buffer.from(key, 'latin1'));
  }
  return Buffer.concat([...keys.values()].flatMap((name) => [name, Buffer.from([0])]));
}

function chownCommand(p: Parsed, members: ArchiveMember[]): Command | undefined {
  if (p.owner === undefined && p.group === undefined) return undefined;
  return {
    run: sh`cd -- ${p.dest} && xargs -0 -r chown -h -- ${ownerSpec(p)}`,
    stdin: memberNames(members),
    description: `chown ${ownerSpec(p)} the members of ${archiveName(p)} in ${p.dest}`,
  };
}

/** With owner/group asked and nothing to extract: one more probe reads the members' owners. */
async function ownershipChanges(p: Parsed, members: ArchiveMember[], host: HostContext): Promise<Change[]> {
  const chown = chownCommand(p, members);
  if (!chown) return [];
  const names = memberNames(members);
  const output = await host.probe(sh`cd -- ${p.dest} && xargs -0 -r stat -c '%u %g %U %G' --`, { stdin: names });
  if (output.exitCode !== 0) throw new ModuleError(`cannot read the owners of ${p.dest}'s members on ${host.name}: ${output.stderr.trim()}`, 'check dest');
  const wrong = output.stdout
    .trim()
    .split('\n')
    .filter((line) => {
      const [uid, gid, user, group] = line.split(' ');
      return (p.owner !== undefined && !sameAccount(p.owner, Number(uid), user)) || (p.group !== undefined && !sameAccount(p.group, Number(gid), group));
    }).length;
  if (wrong === 0) return [];
  return [
    {
      summary: `set owner of ${wrong} members in ${p.dest} → ${ownerSpec(p)}`,
      diff: { kind: 'value', name: `${p.dest} members' owner`, before: `${wrong} members otherwise owned`, after: ownerSpec(p) },
      commands: [chown],
    },
  ];
}
