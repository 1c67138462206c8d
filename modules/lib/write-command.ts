/**
 * The one atomic write behind planFileContent: `mktemp` in the same directory, the content arrives on
 * stdin (never in argv), its size is checked (a cut-off transfer fails and leaves the old file),
 * chmod/chown to the asked values or to the existing file's, optional timestamped backup (`cp -p` to
 * `PATH.PID.YYYY-MM-DD@HH:MM:SS~`, as Ansible names them), then `mv -f` into place; a trap removes the
 * temp file on any failure or signal (also when the controller is gone: see the PIPE trap in
 * runner/command.ts), and temp files of earlier writes whose writer is gone are swept first.
 */
import { posix } from 'node:path';
import { Script, sh, type Command } from '../../runner/command.ts';
import { ContentSource, IN_MEMORY_FILE_LIMIT } from '../../runner/content-source.ts';
import { Secret } from '../../runner/secret.ts';
import type { FileState } from '../facts/file-state.ts';
import type { FileContentOptions } from './file-content.ts';
import { formatMode } from './mode.ts';

/**
 * Content the host produces itself (getUrl's download): `fill` writes the bytes into "$tmp" and checks
 * them (exits non-zero to leave the old file); every other step of the write is the same.
 */
export interface HostFill {
  fill: Script;
  /** What the command does, for reports ("download … to …"). */
  description: string;
}

/** The one atomic write. Every value is quoted by `sh`; the content travels on stdin, or the host makes it (`HostFill`). */
export function writeCommand(options: FileContentOptions, state: FileState, wanted: ContentSource | HostFill): Command {
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
  const base = dir === '/' ? '' : dir;
  steps.push(sweepStaleTempFiles(base));
  // The writer's PID is in the name so that a later write can tell a live temp file from an orphan.
  steps.push(sh`tmp=$(mktemp ${`${base}/.drover.`}"$$".XXXXXXXX)
pid=
trap '[ -z "$tmp" ] || rm -f -- "$tmp"' EXIT
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; exit 129' HUP
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; exit 130' INT
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; exit 143' TERM`);
  if (wanted instanceof ContentSource) {
    steps.push(sh`IFS= read -r expected
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
  } else {
    steps.push(wanted.fill);
  }
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
  // Renamed, the temp name is gone: the EXIT trap has nothing to remove and starts no `rm`.
  steps.push(sh`mv -f -- "$tmp" ${path}
tmp=`);
  if (state.kind !== 'file') {
    steps.push(sh`if [ -d /sys/fs/selinux ] && command -v restorecon >/dev/null 2>&1; then restorecon -- ${path} 2>/dev/null || true; fi`);
  }
  if (!(wanted instanceof ContentSource)) return { run: Script.join(steps), description: wanted.description };
  // Stdin is the expected size on one line, then the bytes: the size check catches a transfer cut off
  // half-way (the channel closing gives `cat` an ordinary end of input), and the size stays off the
  // command line, where a secret's length would be logged. `read` takes exactly one line from a pipe.
  const header = `${wanted.size}\n`;
  const content = options.content;
  const secret = content instanceof Secret;
  return {
    run: Script.join(steps),
    stdin: content instanceof Secret ? Secret.fromBytes(Buffer.concat([Buffer.from(header), content.revealBytes()]), content.label) : stdinFor(header, wanted),
    description: secret ? `write ${path}` : `write ${path} (${wanted.size} bytes)`,
  };
}
/**
 * Removes temp files that earlier writes left beside the destination (a controller killed with -9, a
 * host that rebooted mid-write): only drover's own names, `.drover.PID.XXXXXXXX` whose writer PID is no
 * longer running here — a concurrent write's file has a live writer and is left alone — and names of the
 * older form without a PID (`.drover.XXXXXXXX`) only after an hour untouched. Without /proc nothing is
 * judged stale. A writer in another PID namespace (a container sharing the directory) looks gone; the
 * hour rule cannot cover it, so such set-ups should not share a destination directory with drover.
 * Every write runs this on every host (issue 13), so `find` starts only when the shell's own glob has
 * found a name of the older form.
 */
function sweepStaleTempFiles(base: string): Script {
  return sh`if [ -d /proc/self ]; then
  for stale in ${base}/.drover.*.*; do
    writer=\${stale##*/.drover.}
    writer=\${writer%%.*}
    case $writer in ''|*[!0-9]*) continue ;; esac
    if [ -f "$stale" ] && [ ! -d "/proc/$writer" ]; then rm -f -- "$stale"; fi
  done
  for old in ${base}/.drover.????????; do
    if [ -e "$old" ]; then find ${base === '' ? '/' : base} -maxdepth 1 -type f -name '.drover.????????' -mmin +60 -exec rm -f -- {} + 2>/dev/null || true; fi
    break
  done
fi`;
}

/**
 * Small content is copied into the command's stdin bytes (cheap, one buffer per host); larger content is
 * streamed to each host from one shared source, so memory does not grow with hosts × bytes.
 */
function stdinFor(header: string, wanted: ContentSource): Command['stdin'] {
  if (wanted.bytes && wanted.size <= IN_MEMORY_FILE_LIMIT) return Buffer.concat([Buffer.from(header), wanted.bytes]);
  return wanted.stdin(Buffer.from(header));
}
/** `owner:group` for the temp file: asked values, else the existing file's ids; empty when nothing to set. */
function ownerSpec(options: FileContentOptions, state: FileState): string {
  const existing = state.kind === 'file';
  const user = options.owner ?? (existing ? String(state.uid) : undefined);
  const grp = options.group ?? (existing ? String(state.gid) : undefined);
  if (user === undefined && grp === undefined) return '';
  return `${user ?? ''}${grp !== undefined ? `:${grp}` : ''}`;
}
