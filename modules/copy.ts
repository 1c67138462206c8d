/**
 * copy: make a file on the host hold exactly the given content (inline text or a local file read on the
 * controller), with the asked mode, owner and group.
 *
 * @example
 *   await t.copy('kubelet defaults', { dest: '/etc/default/kubelet', content: 'KUBELET_EXTRA_ARGS=\n', mode: '0644' });
 *   await t.copy('CA bundle', { src: 'files/ca.pem', dest: '/usr/local/share/ca-certificates/lab.crt', backup: true });
 *
 * ── For module authors: `planFileContent(options, host)` ────────────────────────────────────────────
 * "This path must have exactly this content" for any module that writes a whole file (sysctl, modprobe,
 * hosts, systemd units, template, lineinfile). Give it `{ path, content, mode?, owner?, group?, backup?,
 * createParents?, follow? }`; it probes the path once (existence, mode, owner, group, sha256, and the
 * bytes when small enough to show), and returns a Plan:
 *   - nothing to do when content, mode and owner already match;
 *   - a `{kind:'file'}` diff and ONE command that writes atomically: `mktemp` in the same directory,
 *     the content arrives on stdin (never in argv), its size is checked (a cut-off transfer fails and
 *     leaves the old file), chmod/chown to the asked values or to the existing file's, optional
 *     timestamped backup (`cp -p` to `PATH.PID.YYYY-MM-DD@HH:MM:SS~`, as Ansible names them), then
 *     `mv -f` into place; a trap removes the temp file on any failure or signal;
 *   - `{kind:'value'}` diffs and chmod/chown commands when only mode or owner differ.
 * Content may be a string, a Buffer or a Secret; a Secret's content is never fetched from or shown for
 * the host: the diff says "(secret content)". A module that already read the file (an editor such as
 * lineinfile needs its text) passes that state as the third argument to save the second probe.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { Script, sh, type Command } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type Change, type HostContext, type Plan } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { Secret } from '../runner/secret.ts';
import { DIFF_CONTENT_LIMIT, readFileState, type FileState } from './facts/file-state.ts';

/** What `planFileContent` needs: the path, its wanted content and, optionally, its metadata. */
export interface FileContentOptions {
  /** Absolute path on the host. */
  path: string;
  /** The exact bytes wanted. A Secret is written but never shown or compared as text. */
  content: string | Buffer | Secret;
  /** Octal permission bits, e.g. "0644"; default: keep the existing file's, or 0666 minus umask for a new file. */
  mode?: string;
  /** User name or uid; default: keep the existing file's, or the connecting (become) user for a new file. */
  owner?: string;
  /** Group name or gid; default as for owner. */
  group?: string;
  /** Keep a timestamped copy of the old file beside it before replacing it. */
  backup?: boolean;
  /** Create missing parent directories (mode from umask) instead of failing. */
  createParents?: boolean;
  /** When the path is a symbolic link: write to where it points (true) or replace the link by a file (false, Ansible's default). */
  follow?: boolean;
  /** Only write when the path does not exist yet (Ansible's `force: no`). */
  onlyIfMissing?: boolean;
}

/** Shown instead of content that came from a secret, before and after. */
export const SECRET_CONTENT = '(secret content)';

/**
 * Plans "this path must have exactly this content". One probe (none when `known` is given), at most one
 * more when an owner or group name must be checked to exist.
 */
export async function planFileContent(options: FileContentOptions, host: HostContext, known?: FileState): Promise<Plan> {
  checkOptions(options);
  const state = known ?? (await readFileState(host, options.path, {
    follow: options.follow,
    content: options.content instanceof Secret ? 'never' : 'small',
  }));
  const plan = planFileContentFrom(options, state);
  if (plan.changes.length > 0) await checkAccountsExist(options, state, host);
  return plan;
}

function checkOptions(options: FileContentOptions): void {
  if (!posix.isAbsolute(options.path)) {
    throw new ModuleError(`path ${JSON.stringify(options.path)} is not absolute`, 'give the full path on the host, starting with /');
  }
  if (options.mode !== undefined) parseMode(options.mode);
}

/** Pure: (wanted content and metadata, probed state) → plan. Exported for table tests. */
export function planFileContentFrom(options: FileContentOptions, state: FileState): Plan {
  const path = state.path;
  if (state.kind === 'directory') {
    throw new ModuleError(`${path} is a directory, not a file`, 'remove it first (file state=absent) or choose another path');
  }
  if (state.kind === 'other') {
    throw new ModuleError(`${path} is a device, FIFO or socket, not a regular file`, 'choose another path');
  }
  if (state.kind !== 'absent' && options.onlyIfMissing) return noChange(`${path} exists; left as it is (force is off)`);
  if (!state.parentExists && !options.createParents) {
    throw new ModuleError(
      `cannot write ${path}: its directory ${posix.dirname(path)} does not exist`,
      'create the directory first (file state=directory) or set createParents',
    );
  }

  const wanted = contentBytes(options.content);
  const secret = options.content instanceof Secret;
  const sha256 = sha256Hex(wanted);

  if (state.kind === 'file' && state.sha256 === sha256) {
    const changes = metadataChanges(options, state);
    if (changes.length === 0) return noChange(`${path} already has the wanted content${secret ? '' : ` (${wanted.length} bytes)`}${describeMeta(options)}`);
    return { changes };
  }

  const write = writeCommand(options, state, wanted);
  const action = state.kind === 'absent' ? 'create' : state.kind === 'link' ? 'replace symbolic link' : 'update';
  // A secret's length is a hint about it too: summaries (logged) leave it out.
  const sizes = secret ? 'secret content' : state.kind === 'file' ? `${state.size} → ${wanted.length} bytes` : `${wanted.length} bytes`;
  const parents = state.parentExists ? '' : `, creating ${posix.dirname(path)}`;
  const change: Change = {
    summary: `${action} ${path} (${sizes}${describeMeta(options)}${parents}${options.backup && state.kind === 'file' ? ', with a backup' : ''})`,
    diff: { kind: 'file', path, before: beforeText(state, secret), after: secret ? SECRET_CONTENT : showable(wanted) },
    commands: [write],
  };
  return { changes: [change] };
}

function contentBytes(content: string | Buffer | Secret): Buffer {
  if (content instanceof Secret) return Buffer.from(content.reveal());
  return typeof content === 'string' ? Buffer.from(content) : content;
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Text for a diff: the content itself when it is small UTF-8 text, else a line naming size and hash. */
export function showable(bytes: Buffer): string {
  if (bytes.length > DIFF_CONTENT_LIMIT) return `(${bytes.length} bytes, sha256 ${sha256Hex(bytes)}; too large to show)`;
  if (bytes.includes(0)) return `(binary content, ${bytes.length} bytes, sha256 ${sha256Hex(bytes)})`;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `(binary content, ${bytes.length} bytes, sha256 ${sha256Hex(bytes)})`;
  }
}

function beforeText(state: FileState, secret: boolean): string | null {
  if (state.kind === 'absent') return null;
  if (state.kind === 'link') return `(symbolic link to ${state.linkTarget ?? '?'})`;
  if (secret) return SECRET_CONTENT;
  if (state.content) return showable(state.content);
  return `(${state.size} bytes, sha256 ${state.sha256}; too large to show)`;
}

/** "0644", "644", "1777" → the number; anything else is refused with what is allowed. */
export function parseMode(mode: string): number {
  if (!/^0?[0-7]{3,4}$/.test(mode)) {
    throw new ModuleError(`mode ${JSON.stringify(mode)} is not an octal mode`, 'write it as a quoted octal string such as "0644" or "0755"');
  }
  return Number.parseInt(mode, 8);
}

/** The canonical 4-digit form used in diffs: "644" → "0644". */
export function formatMode(mode: string | number): string {
  const value = typeof mode === 'number' ? mode : Number.parseInt(mode, 8);
  return value.toString(8).padStart(4, '0');
}

/** Whether an asked owner ("root" or "0") is the probed one. */
export function sameAccount(wanted: string, id: number | undefined, name: string | undefined): boolean {
  return /^\d+$/.test(wanted) ? Number(wanted) === id : wanted === name;
}

function describeMeta(options: FileContentOptions): string {
  const parts: string[] = [];
  if (options.mode !== undefined) parts.push(`mode ${formatMode(options.mode)}`);
  if (options.owner !== undefined) parts.push(`owner ${options.owner}`);
  if (options.group !== undefined) parts.push(`group ${options.group}`);
  return parts.length ? `, ${parts.join(', ')}` : '';
}

/** The attributes a caller may ask for on a path. */
export interface PathAttributes {
  mode?: string;
  owner?: string;
  group?: string;
}

/** Mode/owner/group changes on an existing file or directory (for files: whose content is already right). */
export function metadataChanges(options: PathAttributes, state: FileState): Change[] {
  const changes: Change[] = [];
  const path = state.path;
  if (options.mode !== undefined && parseMode(options.mode) !== Number.parseInt(state.mode ?? '', 8)) {
    const before = formatMode(state.mode ?? '0');
    const after = formatMode(options.mode);
    changes.push({
      summary: `mode of ${path} ${before} → ${after}`,
      diff: { kind: 'value', name: `${path} mode`, before, after },
      commands: [{ run: sh`chmod ${after} -- ${path}`, description: `chmod ${after} ${path}` }],
    });
  }
  const ownerWrong = options.owner !== undefined && !sameAccount(options.owner, state.uid, state.owner);
  const groupWrong = options.group !== undefined && !sameAccount(options.group, state.gid, state.group);
  if (ownerWrong || groupWrong) {
    const before = `${state.owner}:${state.group}`;
    const after = `${ownerWrong ? options.owner : state.owner}:${groupWrong ? options.group : state.group}`;
    const spec = `${ownerWrong ? options.owner : ''}${groupWrong ? `:${options.group}` : ''}`;
    changes.push({
      summary: `owner of ${path} ${before} → ${after}`,
      diff: { kind: 'value', name: `${path} owner`, before, after },
      commands: [{ run: sh`chown ${spec} -- ${path}`, description: `chown ${spec} ${path}` }],
    });
  }
  return changes;
}

/** The one atomic write. Every value is quoted by `sh`; the content travels on stdin. */
function writeCommand(options: FileContentOptions, state: FileState, wanted: Buffer): Command {
  const path = state.path;
  const dir = posix.dirname(path);
  const steps: Script[] = [];
  if (!state.parentExists) steps.push(sh`mkdir -p -- ${dir}`);
  // The temp file lives in the target directory so that `mv` is a rename on one filesystem: atomic, the
  // file is either the old or the new one. The traps turn signals into an exit so the EXIT trap removes
  // the temp file. `cat` runs in the background and the shell `wait`s for it because a shell only runs
  // a trap once its foreground command ends: a TERM (the runner's timeout) must stop the copy at once,
  // before the KILL that follows it, which no trap can catch. A background job's stdin is /dev/null
  // unless redirected, hence fd 3.
  steps.push(sh`tmp=$(mktemp ${`${dir === '/' ? '' : dir}/.drover.XXXXXXXX`})
pid=
trap 'rm -f -- "$tmp"' EXIT
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; exit 129' HUP
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; exit 130' INT
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; exit 143' TERM
IFS= read -r expected
exec 3<&0
cat > "$tmp" <&3 &
pid=$!
wait "$pid"
pid=
size=$(stat -c %s -- "$tmp")
if [ "$size" -ne "$expected" ]; then
  echo "drover: received $size of $expected bytes for "${path}"; the transfer was cut off; nothing was changed" >&2
  exit 1
fi`);
  const mode = options.mode !== undefined ? formatMode(options.mode) : state.kind === 'file' && state.mode ? formatMode(state.mode) : undefined;
  // mktemp creates 0600; a new file without an asked mode gets what any other tool would give it.
  steps.push(mode ? sh`chmod ${mode} -- "$tmp"` : sh`chmod "$(printf '%o' $(( 0666 & ~$(umask) )))" -- "$tmp"`);
  const chown = ownerSpec(options, state);
  if (chown) steps.push(sh`chown ${chown} -- "$tmp"`);
  if (state.kind === 'file') {
    // SELinux labels belong to the path, not the bytes: give the new file the old one's label.
    steps.push(sh`if [ -d /sys/fs/selinux ] && command -v chcon >/dev/null 2>&1; then chcon --reference=${path} -- "$tmp" 2>/dev/null || true; fi`);
    if (options.backup) steps.push(sh`cp -p -- ${path} ${path}."$$.$(date +%Y-%m-%d@%H:%M:%S)~"`);
  }
  steps.push(sh`mv -f -- "$tmp" ${path}`);
  if (state.kind !== 'file') {
    steps.push(sh`if [ -d /sys/fs/selinux ] && command -v restorecon >/dev/null 2>&1; then restorecon -- ${path} 2>/dev/null || true; fi`);
  }
  // Stdin is the expected size on one line, then the bytes: the size check catches a transfer cut off
  // half-way (the channel closing gives `cat` an ordinary end of input), and the size stays off the
  // command line, where a secret's length would be logged. `read` takes exactly one line from a pipe.
  const header = `${wanted.length}\n`;
  const content = options.content;
  const secret = content instanceof Secret;
  return {
    run: Script.join(steps),
    stdin: content instanceof Secret ? new Secret(header + content.reveal(), content.label) : Buffer.concat([Buffer.from(header), wanted]),
    description: secret ? `write ${path}` : `write ${path} (${wanted.length} bytes)`,
  };
}

/** `owner:group` for the temp file: asked values, else the existing file's ids; empty when nothing to set. */
function ownerSpec(options: FileContentOptions, state: FileState): string {
  const existing = state.kind === 'file';
  const user = options.owner ?? (existing ? String(state.uid) : undefined);
  const grp = options.group ?? (existing ? String(state.gid) : undefined);
  if (user === undefined && grp === undefined) return '';
  return `${user ?? ''}${grp !== undefined ? `:${grp}` : ''}`;
}

/**
 * A chown to a user that does not exist would fail half-way through a run; say so while planning. Costs
 * one probe, and only when a name differs from the current owner or group.
 */
export async function checkAccountsExist(options: PathAttributes, state: Pick<FileState, 'owner' | 'group'>, host: HostContext): Promise<void> {
  const checks: Array<['passwd' | 'group', string]> = [];
  if (options.owner !== undefined && !/^\d+$/.test(options.owner) && options.owner !== state.owner) checks.push(['passwd', options.owner]);
  if (options.group !== undefined && !/^\d+$/.test(options.group) && options.group !== state.group) checks.push(['group', options.group]);
  if (checks.length === 0) return;
  const script = Script.join(checks.map(([db, name]) => sh`getent ${db} ${name} >/dev/null || echo missing=${db}`));
  const output = await host.probe(script);
  for (const [db, name] of checks) {
    if (output.stdout.includes(`missing=${db}`)) {
      const what = db === 'passwd' ? 'user' : 'group';
      throw new ModuleError(`${what} ${JSON.stringify(name)} does not exist on ${host.name}`, `create the ${what} first, or give a numeric id`);
    }
  }
}

/** Parameter schemas shared by every module that sets a file's mode, owner and group. */
export const fileAttributeParams = {
  /** Permission bits as a quoted octal string, e.g. `"0644"`; default: keep the existing file's, umask for a new one. */
  mode: s.string({ pattern: /^0?[0-7]{3,4}$/, what: 'an octal mode as a quoted string, e.g. "0644"' }).optional(),
  /** User that owns the file (a name or a uid); default: keep the existing owner, the running user for a new file. */
  owner: s.string({ pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/, what: 'a user name or uid' }).optional(),
  /** Group of the file (a name or a gid); default as for owner. */
  group: s.string({ pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/, what: 'a group name or gid' }).optional(),
};

/** Schema for an absolute path on the host. */
export const hostPath = (what = 'an absolute path on the host') =>
  s.string({ pattern: /^\//, what });

const params = s
  .object({
    /** Where the file goes on the host (absolute path). */
    dest: hostPath(),
    /** The file's content, inline; a `secret(...)` is written but never shown in diffs or logs. Exclusive with `src`. */
    content: s.union<string | Secret, string | Secret>(s.string(), s.secret()).optional(),
    /** A file on the controller (relative to the working directory) whose bytes are copied. Exclusive with `content`. */
    src: s.string({ nonEmpty: true, what: 'a path on the controller' }).optional(),
    ...fileAttributeParams,
    /** Keep a timestamped copy (`DEST.PID.YYYY-MM-DD@HH:MM:SS~`) of the old file before replacing it. */
    backup: s.boolean().default(false),
    /** Replace an existing file whose content differs (Ansible's `force`); false: only create a missing file. */
    force: s.boolean().default(true),
    /** When dest is a symbolic link, write where it points instead of replacing the link by a file. */
    follow: s.boolean().default(false),
    /** Create dest's missing parent directories instead of failing. */
    createParents: s.boolean().default(false),
  })
  .rule((p) => (p.content === undefined) === (p.src === undefined) ? 'give exactly one of content and src' : undefined);

export type CopyParams = InputOf<typeof params>;

export const copy = defineModule({
  name: 'copy',
  summary: 'Make a file hold exactly the given content (inline or a local file), with mode, owner and group',
  params,
  async plan(p, host) {
    const content = p.content ?? (await readLocal(p.src!));
    return planFileContent(destinationOptions(p, content), host);
  },
});

/** The parameters copy and template share (dest, attributes, backup, force, follow, createParents) as planFileContent options. */
export interface DestinationParams {
  dest: string;
  mode?: string;
  owner?: string;
  group?: string;
  backup: boolean;
  force: boolean;
  follow: boolean;
  createParents: boolean;
}

export function destinationOptions(p: DestinationParams, content: FileContentOptions['content']): FileContentOptions {
  return {
    path: p.dest,
    content,
    mode: p.mode,
    owner: p.owner,
    group: p.group,
    backup: p.backup,
    createParents: p.createParents,
    follow: p.follow,
    onlyIfMissing: !p.force,
  };
}

/** Reads a controller-side source file; a missing one is the playbook's mistake, said while planning. */
async function readLocal(src: string): Promise<Buffer> {
  const path = resolve(src);
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new ModuleError(`copy src ${path} is a directory`, 'copy files one by one; directories are not copied recursively');
    throw new ModuleError(`cannot read copy src ${path} on the controller (${code ?? String(error)})`, 'check the path; relative paths are resolved from the working directory');
  }
}
