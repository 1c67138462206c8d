/**
 * The state of one path on a host, read in one round trip: what is there (a regular file, a directory, a
 * symbolic link, something else, nothing), its mode, owner and group, its size and sha256, and, when
 * asked, its bytes. Every file-writing planner (copy, template, lineinfile, blockinfile, and through
 * `planFileContent` sysctl, modprobe, hosts, unit files) decides from this one probe.
 *
 * Content is fetched only when it is needed: a planner that only compares uses the hash; a diff needs
 * the text, which is fetched when the file is small (256 KiB by default); an editor (lineinfile) needs the
 * whole file whatever its size. Bytes travel base64-encoded so that no byte of the file can confuse the
 * line-based output.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Script, sh } from '../../runner/command.ts';
import { type Fact, FactError } from '../../runner/facts.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { HostContext, ProbeOutput } from '../../runner/module.ts';
import type { PredictedPath, PredictedView } from '../../runner/predicted-state.ts';
import { decodeHostText } from '../../runner/host-text.ts';

/** What is at a path. `other` is a device, FIFO or socket. */
export type PathKind = 'file' | 'directory' | 'link' | 'other' | 'absent';

export interface FileState {
  /** The path the state describes: the asked path, or with `follow`, the path its links resolve to. */
  path: string;
  /** True when `follow` resolved a symbolic link to `path`. */
  resolved: boolean;
  kind: PathKind;
  /** Whether the directory that would hold the path exists. */
  parentExists: boolean;
  /** For a link: where it points (as stored in the link, not resolved). */
  linkTarget?: string;
  /** For a file or directory: permission bits as stat prints them in octal ("644", "1777"). */
  mode?: string;
  uid?: number;
  gid?: number;
  /** Owner and group names; stat prints UNKNOWN when the id has no name. */
  owner?: string;
  group?: string;
  /** For a file: size in bytes and sha256 of its content. */
  size?: number;
  sha256?: string;
  /** For a file: its bytes, when fetched (see `FileStateOptions.content`). */
  content?: Buffer;
  /** In a dry run: the task whose planned change this state was predicted from (not probed). */
  predictedBy?: string;
}

export interface FileStateOptions {
  /** Resolve symbolic links and describe what they point to (default: describe the link itself). */
  follow?: boolean;
  /**
   * Which content to fetch: `never` (hash only; for secrets, whose old value should not travel to
   * the controller either), `small` (files up to `maxBytes`, for diffs; the default), `always` (editors).
   */
  content?: 'never' | 'small' | 'always';
  /** The size limit for `content: 'small'`; default 256 KiB. */
  maxBytes?: number;
}

/** Files larger than this are compared by hash only and shown in diffs by size and hash. */
export const DIFF_CONTENT_LIMIT = 256 * 1024;

/** The probe script; exported so that tests can check what is sent. */
export function fileStateScript(path: string, options: FileStateOptions = {}): Script {
  const fetch = options.content ?? 'small';
  const limit = fetch === 'always' ? -1 : fetch === 'never' ? 0 : (options.maxBytes ?? DIFF_CONTENT_LIMIT);
  const follow = options.follow ? 'yes' : 'no';
  // The parent is taken from the (possibly resolved) path in the shell, because only the host knows
  // where a followed link leads. `readlink -f`, `stat -c` and `base64 -w0` are GNU coreutils, present on
  // every Debian/Ubuntu and RHEL/CentOS release drover supports.
  // Every file-writing task runs this, on every host: each process it starts is paid hosts × tasks times
  // (issue 13), so the parent (as dirname would print it), the size and the hash's field are cut out with
  // the shell's own expansions, and stat runs once. The file is read once: its bytes when they are
  // fetched (the controller hashes them), else through sha256sum. A stat, base64 or sha256sum that fails
  // stops the script (set -e, which sees a failed substitution only in an assignment) with its own
  // message, which readFileState reports. Owner and group names are host text: printed with printf,
  // because dash's echo reads backslashes (a `DOMAIN\cuser` owner cut the line).
  return sh`p=${path}
if [ ${follow} = yes ] && [ -L "$p" ]; then
  r=$(readlink -f -- "$p" && echo x) || r=$(readlink -m -- "$p" && echo x) || r=
  if [ -n "$r" ] && [ ! -L "\${r%?x}" ]; then p=\${r%?x}; printf 'resolved=%s\n' "$(printf '%s' "$p" | base64 -w0)"; else echo unfollowable=yes; fi
fi
d=$p
while [ "$d" != / ] && [ "\${d%/}" != "$d" ]; do d=\${d%/}; done
d=\${d%/*}
if [ -d "\${d:-/}" ]; then echo parent=yes; else echo parent=no; fi
if [ -L "$p" ]; then
  echo kind=link
  printf 'link=%s\n' "$(readlink -- "$p" | base64 -w0)"
elif [ -f "$p" ]; then
  echo kind=file
  s=$(stat -c '%a %u %g %s %U %G' -- "$p")
  printf 'stat=%s\n' "$s"
  size=\${s#* * * }
  size=\${size%% *}
  if [ ${limit} -lt 0 ] || [ "$size" -le ${limit} ]; then c=$(base64 -w0 < "$p"); printf 'content=%s\n' "$c"
  else h=$(sha256sum < "$p"); echo "sha256=\${h%% *}"; fi
elif [ -d "$p" ]; then
  echo kind=directory
  printf 'stat=%s\n' "$(stat -c '%a %u %g %s %U %G' -- "$p")"
elif [ -e "$p" ]; then
  echo kind=other
else
  echo kind=absent
fi
`;
}

/**
 * Parses the probe's output. `path` is the asked path (the output names a different one only when a
 * link was followed). Pure; tested from captured output.
 */
export function parseFileState(path: string, stdout: string): FileState {
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  const kind = fields.get('kind');
  if (!kind || !['file', 'directory', 'link', 'other', 'absent'].includes(kind)) {
    throw new FactError(`file:${path}`, `unexpected probe output: ${JSON.stringify(stdout.slice(0, 300))}`);
  }
  // Names are bytes on the host: decoded without loss (host-text.ts), so a name that is not UTF-8 compares
  // and encodes back as the host has it instead of as U+FFFD.
  const resolvedPath = fields.has('resolved') ? decodeHostText(decode(fields.get('resolved')!)) : undefined;
  const state: FileState = {
    path: resolvedPath ?? path,
    resolved: resolvedPath !== undefined,
    kind: kind as PathKind,
    parentExists: fields.get('parent') === 'yes',
  };
  if (kind === 'link') state.linkTarget = decodeHostText(decode(fields.get('link') ?? '')).replace(/\n$/, '');
  const stat = fields.get('stat');
  if (stat !== undefined) {
    const match = /^([0-7]+) (\d+) (\d+) (\d+) (\S+) (\S+)$/.exec(stat);
    if (!match) throw new FactError(`file:${path}`, `unexpected stat output: ${JSON.stringify(stat)}`);
    state.mode = match[1]!;
    state.uid = Number(match[2]);
    state.gid = Number(match[3]);
    state.owner = match[5]!;
    state.group = match[6]!;
    if (kind === 'file') state.size = Number(match[4]);
  }
  if (kind === 'file') {
    if (fields.has('content')) {
      const content = decode(fields.get('content')!);
      // An edit written back from partial bytes would destroy the file: the bytes must be the whole file
      // stat measured (output capped by the transport, or a file changing while it was read, fails here).
      if (content.length !== state.size) {
        throw new FactError(
          `file:${path}`,
          `the content read (${content.length} bytes) is not the whole file (${state.size} bytes): it changed while being read, or was too large to transfer; try again`,
        );
      }
      state.sha256 = createHash('sha256').update(content).digest('hex');
      state.content = content;
    } else {
      const sha = fields.get('sha256');
      if (!sha || !/^[0-9a-f]{64}$/.test(sha))
        throw new FactError(`file:${path}`, `no sha256 and no content in probe output: ${JSON.stringify(stdout.slice(0, 300))}`);
      state.sha256 = sha;
    }
  }
  return state;
}

function decode(base64: string): Buffer {
  return Buffer.from(base64, 'base64');
}

/**
 * Reads a path's state. Deliberately a plain probe, not a cached Fact: a file can be changed between two
 * tasks by anything (a command task, another host's action, an operator), and a planner deciding from a
 * stale copy would write back old content. The cost is one round trip per file-writing task.
 */
export async function readFileState(host: HostContext, path: string, options: FileStateOptions = {}): Promise<FileState> {
  return readFollowing(host, path, options, 0);
}

/** As many links as Linux follows in one path lookup (SYMLOOP_MAX) before it says ELOOP. */
const MAX_LINKS_FOLLOWED = 40;

/**
 * In a dry run, a link an earlier task would make is followed here, since the host cannot follow it yet:
 * the real run's probe (`readlink -f`) reads where it leads, and so does the dry run, from the predictions
 * and the host. Planned as the link itself, the dry run said "replace the link" where the apply wrote
 * through it, and `file state=directory` failed where the apply made the directory at the link's target.
 */
async function readFollowing(host: HostContext, path: string, options: FileStateOptions, followed: number): Promise<FileState> {
  const read = fileStateRead(host, path, options);
  const state = read.settle(await host.probe(read.script));
  if (!options.follow || state.kind !== 'link' || state.predictedBy === undefined || state.linkTarget === undefined) return state;
  if (followed >= MAX_LINKS_FOLLOWED) {
    host.predicted.dependsOn(state.predictedBy, `where the link ${path} leads (more than ${MAX_LINKS_FOLLOWED} links)`);
    return state;
  }
  const target = posix.resolve(posix.dirname(path), state.linkTarget);
  const found = await readFollowing(host, target, options, followed + 1);
  // The path as `readlink -f` would print it: through the links on the way too (found.path is the one asked
  // when only a prediction made it a link, and where the host resolved it otherwise).
  return { ...found, path: found.resolved ? found.path : host.predicted.throughLinks(target), resolved: true };
}

/**
 * The line between the fact's part and the file's in `readFactAndFileState`'s probe. It prints the marker
 * `@@file-state N`, N being the fact part's status, after a newline of its own: the marker is a whole line
 * whatever the fact printed last, and the fact's output is given back exactly.
 */
export const FILE_PART_SEPARATOR = sh`printf '\\n@@file-state %s\\n' "$?"`;
const FILE_PART_MARKER = /^@@file-state (\d+)$/;

/**
 * A fact and a path's state in one probe, for a planner that needs both at once (sysctl: the live values
 * and its file; swapoff: the swap areas and fstab): one round trip where two went out one after the
 * other (probes share the kept shell), on every run of every host (issue 13). The fact's script runs
 * first and the file's after it, in one shell: neither exits early, and the file part assigns each
 * variable before it reads it. Under set -e a failing fact part stops the script, so no marker means the
 * probe's status is the fact's. The fact is read afresh, not from the run's cache (a file-writing task's
 * own fact would be dropped by its change anyway), and its dry-run prediction is applied as `host.fact`
 * applies it.
 */
export async function readFactAndFileState<T>(host: HostContext, fact: Fact<T>, path: string, options: FileStateOptions = {}): Promise<[T, FileState]> {
  const read = fileStateRead(host, path, options);
  const output = await host.probe(Script.join([fact.script, FILE_PART_SEPARATOR, read.script]));
  const lines = output.stdout.split('\n');
  const at = lines.findIndex((line) => FILE_PART_MARKER.test(line));
  // No marker: the fact's part stopped the script (set -e), and its status is the probe's.
  const factOutput =
    at < 0 ? output : { exitCode: Number(FILE_PART_MARKER.exec(lines[at]!)![1]), stdout: lines.slice(0, at).join('\n'), stderr: output.stderr };
  const value = fact.parse(factOutput);
  if (at < 0) throw new FactError(fact.key, `the probe stopped before reading ${path}: ${JSON.stringify(output.stdout.slice(0, 300))}`);
  const predicted = fact.predict ? fact.predict(value, host.predicted) : value;
  const file = read.settle({ ...output, stdout: lines.slice(at + 1).join('\n') });
  // One probe cannot follow a link an earlier task would make (readFileState does, with more probes).
  if (options.follow && file.kind === 'link' && file.predictedBy !== undefined) host.predicted.dependsOn(file.predictedBy, `where the link ${path} leads`);
  return [predicted, file];
}

/** The probe that reads a path's state, and what turns its output into the state (errors, dry-run predictions). */
function fileStateRead(host: HostContext, path: string, options: FileStateOptions): { script: Script; settle(output: ProbeOutput): FileState } {
  if (!posix.isAbsolute(path)) throw new ModuleError(`path ${JSON.stringify(path)} is not absolute`, 'give the full path on the host, starting with /');
  // In a dry run a directory on the way may be a link that only an earlier task's planned change makes:
  // the host cannot follow it yet, so the probe reads (and the predictions are looked up) where it leads.
  const lookup = host.predicted.throughLinks(path);
  return {
    script: fileStateScript(lookup, options),
    settle(output) {
      if (output.exitCode !== 0) {
        throw new ModuleError(
          `cannot read ${path} on ${host.name} (exit ${output.exitCode}): ${(output.stderr.trim() || output.stdout.trim()).slice(0, 500)}`,
          'check the path and permissions; a file readable only by root needs become',
        );
      }
      // A link `follow` cannot resolve (a loop) used to be described as the link itself, and every writer
      // then replaced the link with a file: the one thing following promises not to do. A link into a
      // directory that does not exist yet is followed to where it leads (`readlink -m`), as Ansible's
      // realpath does: its missing parent is then said as for any path, and `file state=directory` makes it.
      if (/^unfollowable=yes$/m.test(output.stdout)) {
        throw new ModuleError(
          `${path} on ${host.name} is a symbolic link that cannot be followed (a loop of links): nothing was written through it`,
          'fix or remove the link on the host (`ls -l` and `readlink -f` show where it leads), or, where the task takes `follow: false`, give that to replace the link itself',
        );
      }
      try {
        const probed = parseFileState(lookup, output.stdout);
        const state = predictFileState(host.predicted, probed, options);
        // The plan names the path as the task gave it (its commands go through the link in the real run),
        // unless `follow` resolved a link on the host, whose target is then the path described.
        return lookup === path || state.resolved ? state : { ...state, path };
      } catch (error) {
        if (error instanceof FactError)
          throw new ModuleError(`${error.message} (on ${host.name})`, 'run the task again; if it persists, check the file on the host');
        throw error;
      }
    },
  };
}

/**
 * In a dry run: the path as the earlier tasks' planned changes would leave it (runner/predicted-state.ts),
 * else as probed. Metadata a prediction does not give (the mode of a file written without one) is the
 * probed value when the path was already of that kind, else unknown (undefined). A predicted file whose
 * bytes were too large to keep cannot feed an editor (`content: 'always'`): the task then depends on the
 * task that predicted it.
 */
export function predictFileState(predicted: PredictedView, probed: FileState, options: FileStateOptions = {}): FileState {
  const found = predicted.path(probed.path);
  const parentExists = probed.path === '/' ? true : predictedParentExists(predicted, probed);
  if (!found) return parentExists === probed.parentExists ? probed : { ...probed, parentExists };
  const state: FileState = { ...fromPrediction(probed, found.known, parentExists), predictedBy: found.by };
  if (state.kind === 'file' && !state.content && options.content === 'always') predicted.dependsOn(found.by, `the content of ${probed.path}`);
  return state;
}

function predictedParentExists(predicted: PredictedView, probed: FileState): boolean {
  const parent = predicted.path(posix.dirname(probed.path));
  if (!parent) return probed.parentExists;
  return parent.known.kind === 'directory';
}

function fromPrediction(probed: FileState, known: PredictedPath, parentExists: boolean): FileState {
  const base = { path: probed.path, resolved: probed.resolved, parentExists };
  const same = probed.kind === known.kind;
  switch (known.kind) {
    case 'absent':
      return { ...base, kind: 'absent' };
    case 'link':
      return { ...base, kind: 'link', linkTarget: known.target };
    case 'directory':
    case 'file': {
      const meta = {
        mode: known.mode ?? (same ? probed.mode : undefined),
        uid: known.uid ?? (known.owner === undefined && same ? probed.uid : /^\d+$/.test(known.owner ?? '') ? Number(known.owner) : undefined),
        gid: known.gid ?? (known.group === undefined && same ? probed.gid : /^\d+$/.test(known.group ?? '') ? Number(known.group) : undefined),
        owner: known.owner ?? (same ? probed.owner : undefined),
        group: known.group ?? (same ? probed.group : undefined),
      };
      if (known.kind === 'directory') return { ...base, kind: 'directory', ...meta };
      return { ...base, kind: 'file', ...meta, size: known.size, sha256: known.sha256, ...(known.content && { content: known.content }) };
    }
  }
}
