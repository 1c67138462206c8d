/**
 * An archive's members and how they compare with what is at the destination, read from GNU tar's own
 * comparison (`tar --compare -vv --quoting-style=c`) or from unarchive's zip helper (JSON lines), and the
 * rule that refuses members that would land outside the destination. Pure: tested from captured output.
 *
 * GNU tar's `--compare` is the real extraction's twin: it resolves each member under `-C dest` exactly
 * as `-x` would, and reports what differs (contents, size, mode, owner, mtime, link target, type) or is
 * missing. With `--quoting-style=c` every name is one C-quoted string, so names with spaces, quotes or
 * newlines keep the line structure; `LC_ALL=C` fixes the date format and the messages.
 */
import { posix } from 'node:path';

export type MemberType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface ArchiveMember {
  /** The member's name as stored (for tar: C-unquoted bytes, shown as text). */
  name: string;
  /** The name's exact bytes, for commands that must act on the member itself. */
  bytes: Buffer;
  type: MemberType;
  /** Permission text as listed ("rw-r--r--") or octal for zip ("0644"). */
  mode: string;
  size: number;
  /** A symbolic or hard link's target. */
  target?: string;
}

export interface ArchiveComparison {
  members: ArchiveMember[];
  /** Member name (as the extraction resolves it) → why it differs; "absent" when not at dest at all. */
  differences: Map<string, string[]>;
  /** What tar says it would rewrite in names ("Removing leading `/' from member names"). */
  rewrites: string[];
}

const LISTING =
  /^([-dlhcbpsC])([-rwxsStT]{9})\s+\S+\s+(\d+|\d+,\s*\d+)\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+("(?:[^"\\]|\\.)*")(?: -> ("(?:[^"\\]|\\.)*")| link to ("(?:[^"\\]|\\.)*"))?$/;
const DIFFERENCE = /^("(?:[^"\\]|\\.)*"): (.+)$/;
const MISSING = /^tar: ("(?:[^"\\]|\\.)*"): Warning: Cannot (?:stat|readlink): No such file or directory$/;
const REWRITE = /^tar: (Removing leading .*)$/;

/** Undoes GNU tar's `--quoting-style=c`: the bytes of a name given as a C string literal. */
export function unquoteC(quoted: string): Buffer {
  const body = quoted.slice(1, -1);
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, '"': 34, "'": 39, '?': 63 };
  for (let at = 0; at < body.length; at++) {
    const char = body[at]!;
    if (char !== '\\') {
      bytes.push(...Buffer.from(char));
      continue;
    }
    const next = body[at + 1] ?? '';
    const octal = /^[0-7]{1,3}/.exec(body.slice(at + 1))?.[0];
    if (octal) {
      bytes.push(Number.parseInt(octal, 8));
      at += octal.length;
    } else if (next in simple) {
      bytes.push(simple[next]!);
      at += 1;
    } else {
      bytes.push(92);
    }
  }
  return Buffer.from(bytes);
}

function memberType(letter: string): MemberType {
  if (letter === '-' || letter === 'C') return 'file';
  if (letter === 'd') return 'directory';
  if (letter === 'l') return 'symlink';
  if (letter === 'h') return 'hardlink';
  return 'other';
}

/** Strips the `./` tar puts before names of archives made with `-C dir .`, and a directory's trailing `/`. */
export function memberKey(name: string): string {
  const trimmed = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return trimmed === '' || trimmed === '.' ? '.' : trimmed;
}

/** `tar --compare -vv --quoting-style=c` output (stdout and stderr) → members and their differences. */
export function parseTarComparison(stdout: string, stderr: string): ArchiveComparison {
  const members: ArchiveMember[] = [];
  const differences = new Map<string, string[]>();
  const add = (name: string, why: string) => {
    const key = memberKey(name);
    differences.set(key, [...(differences.get(key) ?? []), why]);
  };
  for (const line of stdout.split('\n')) {
    const listed = LISTING.exec(line);
    if (listed) {
      const bytes = unquoteC(listed[4]!);
      const link = listed[5] ?? listed[6];
      members.push({
        name: bytes.toString('utf8'),
        bytes,
        type: memberType(listed[1]!),
        mode: listed[2]!,
        size: /,/.test(listed[3]!) ? 0 : Number(listed[3]),
        ...(link !== undefined && { target: unquoteC(link).toString('utf8') }),
      });
      continue;
    }
    const differs = DIFFERENCE.exec(line);
    if (differs) add(unquoteC(differs[1]!).toString('utf8'), differs[2]!.toLowerCase());
  }
  const rewrites: string[] = [];
  for (const line of stderr.split('\n')) {
    const missing = MISSING.exec(line);
    if (missing) add(unquoteC(missing[1]!).toString('utf8'), 'absent');
    const rewrite = REWRITE.exec(line);
    if (rewrite) rewrites.push(rewrite[1]!);
  }
  return { members, differences, rewrites };
}

/** One line of the zip helper's JSON output. */
interface ZipLine {
  name: string;
  type: MemberType;
  mode: string;
  size: number;
  target?: string;
  differs?: string[];
}

/** The zip helper's JSON lines → members and their differences. */
export function parseZipComparison(stdout: string): ArchiveComparison {
  const members: ArchiveMember[] = [];
  const differences = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const item = JSON.parse(line) as ZipLine;
    members.push({
      name: item.name,
      bytes: Buffer.from(item.name),
      type: item.type,
      mode: item.mode,
      size: item.size,
      ...(item.target !== undefined && { target: item.target }),
    });
    if (item.differs && item.differs.length > 0) differences.set(memberKey(item.name), item.differs);
  }
  return { members, differences, rewrites: [] };
}

/**
 * Members that would be written outside dest, each with the reason: an absolute name, a `..` component,
 * a link whose target leaves dest (an absolute symbolic link target, or a relative one that climbs out),
 * or a name below a symbolic link the archive itself makes (`a -> /etc`, then `a/passwd`). Also every
 * name rewrite tar announces, since what tar would write is then not what the listing says.
 */
export function escapingMembers(comparison: ArchiveComparison): string[] {
  const problems: string[] = [];
  const links = new Set<string>();
  for (const member of comparison.members) {
    const shown = JSON.stringify(member.name);
    const key = memberKey(member.name);
    if (member.name.startsWith('/')) problems.push(`${shown} is an absolute path`);
    else if (key.split('/').includes('..')) problems.push(`${shown} has a .. component`);
    else {
      const parts = key.split('/');
      for (let depth = 1; depth < parts.length; depth++) {
        const parent = parts.slice(0, depth).join('/');
        if (links.has(parent)) {
          problems.push(`${shown} lies below the archive's symbolic link ${JSON.stringify(parent)}`);
          break;
        }
      }
    }
    if (member.type === 'symlink' && member.target !== undefined) {
      links.add(key);
      if (member.target.startsWith('/')) problems.push(`${shown} is a symbolic link to the absolute path ${JSON.stringify(member.target)}`);
      else if (climbsOut(posix.join(posix.dirname(key), member.target))) {
        problems.push(`${shown} is a symbolic link to ${JSON.stringify(member.target)}, outside dest`);
      }
    }
    if (member.type === 'hardlink' && member.target !== undefined && (member.target.startsWith('/') || climbsOut(member.target))) {
      problems.push(`${shown} is a hard link to ${JSON.stringify(member.target)}, outside dest`);
    }
  }
  for (const rewrite of comparison.rewrites) problems.push(`tar would rewrite names: ${rewrite}`);
  return [...new Set(problems)];
}

function climbsOut(path: string): boolean {
  const normal = posix.normalize(path);
  return normal === '..' || normal.startsWith('../');
}
