/**
 * A shell kept open on an SSH connection for the runner's read-only probes.
 *
 * Every `exec` costs a channel, an sshd session (fork, PAM, environment) and a login shell on the host:
 * about 50 ms a command at 20 hosts, against 8 ms for the same command written to a shell that is
 * already running. A re-run or a dry run is mostly probes, so each connection keeps one `/bin/sh`
 * reading command lines from its stdin, and the probes go there one at a time.
 *
 * The frame written for one command (`frame`): the rendered line, run in a subshell with stdin from
 * /dev/null, then an end mark with the exit status on stdout and an end mark on stderr:
 *
 *     ( eval 'exec <line>' ) </dev/null; printf '\n%s %d\n' MARK "$?"; printf '\n%s\n' MARK >&2
 *
 * (`exec ` only before a probe's line; see below.)
 *
 * - The subshell keeps the reader what it was: a command's `exit`, `cd`, traps or a syntax error (a
 *   non-interactive shell exits on one) end the subshell, never the reader.
 * - The line is the one an `exec` would send, so the command runs exactly as it would there: the same
 *   `/bin/sh -c '…'` (or sudo) process, with its own `$$`, in the same environment sshd gave the session.
 *   A rendered line is one simple command, which /bin/sh reads as any POSIX login shell would.
 * - A line of the form a probe has, `/bin/sh -c '…'` and nothing else, becomes the subshell itself
 *   (`exec`): without it dash forks again for it, one process more per probe on every host (issue 13).
 *   The subshell's status is then the command's own. Any other line (a sudo line, a test's compound
 *   line) runs as it is, where `exec` would cut it short.
 * - MARK is random per shell and numbered per command, and the frame travels on stdin, not on a command
 *   line: no output a probe reads (a file's contents) can end the command early.
 * - The newline before each mark means the mark always starts a line; `EndMark` takes that newline back
 *   off, so output without a final newline arrives byte for byte.
 *
 * What stays with `exec`: commands with stdin (secrets, the become password, file contents: the reader's
 * stdin is the frame stream), downloads, and every command that is not a probe: a user's command could
 * leave a background job writing to the shared stdout after its end mark. Output arriving between
 * commands (a straggler of that kind) retires the shell.
 *
 * Stops: sshd makes the reader a session leader, so a timeout or abort signals the reader's process group
 * exactly as it signals an `exec` command's (pid-marker.ts): the reader dies with the command, and the
 * next probe opens a new one. A reader that ends while a command runs, with no stop asked for, is
 * reported to the caller, which runs the (read-only) command again over `exec`.
 */
import { randomBytes } from 'node:crypto';
import { shellQuote } from '../command.ts';

/** The login shell reports its PID (pid-marker.ts), then becomes the reader. */
export const READER_LINE = 'exec /bin/sh -s';

/** A fresh mark prefix per shell: 96 random bits no file on the host can know. */
export function newMarkPrefix(): string {
  return `__drover_end_${randomBytes(12).toString('hex')}_`;
}

/** `/bin/sh -c` and one word as shellQuote writes it: one simple command, which `exec` may replace the subshell with. */
const ONE_SH_COMMAND = /^\/bin\/sh -c (?:[A-Za-z0-9_@%+=:,./-]+|'[^']*'(?:\\''[^']*')*)$/;

/** The text written to the reader's stdin for one command line. */
export function frame(line: string, mark: string): string {
  const command = ONE_SH_COMMAND.test(line) ? `exec ${line}` : line;
  return `( eval ${shellQuote(command)} ) </dev/null; printf '\\n%s %d\\n' ${mark} "$?"; printf '\\n%s\\n' ${mark} >&2\n`;
}

const EMPTY = Buffer.alloc(0);
const NEWLINE = 0x0a;

/**
 * Finds the end mark in one of the reader's output streams and hands on every byte before it. With
 * `withStatus` (stdout) the mark is followed by the exit status; on stderr by a newline alone. Bytes
 * that might be the start of the mark are held back until the next chunk shows whether they are.
 */
export class EndMark {
  readonly #needle: Buffer;
  #held: Buffer = EMPTY;
  #found = false;
  #status: number | undefined;

  constructor(
    mark: string,
    readonly withStatus: boolean,
  ) {
    this.#needle = Buffer.from(`\n${mark}${withStatus ? ' ' : '\n'}`, 'latin1');
  }

  get found(): boolean {
    return this.#found;
  }

  /** The exit status printed after the mark (stdout's mark only). */
  get status(): number | undefined {
    return this.#status;
  }

  /** Takes a chunk of the stream; returns the part of it that is the command's own output. */
  push(chunk: Buffer): Buffer {
    if (this.#found) return EMPTY;
    const data = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    this.#held = EMPTY;
    const at = data.indexOf(this.#needle);
    if (at >= 0) {
      if (!this.withStatus) {
        this.#found = true;
        return data.subarray(0, at);
      }
      const lineEnd = data.indexOf(NEWLINE, at + this.#needle.length);
      if (lineEnd < 0) {
        this.#held = Buffer.from(data.subarray(at));
        return data.subarray(0, at);
      }
      this.#found = true;
      this.#status = Number(data.subarray(at + this.#needle.length, lineEnd).toString('latin1'));
      return data.subarray(0, at);
    }
    const keep = this.#markStartAtEnd(data);
    // A copy: the held tail must not keep a large chunk alive.
    this.#held = Buffer.from(data.subarray(data.length - keep));
    return data.subarray(0, data.length - keep);
  }

  /** What was held back, for a command that ended without its mark (stopped, or the reader died). */
  flush(): Buffer {
    const held = this.#held;
    this.#held = EMPTY;
    return this.#found ? EMPTY : held;
  }

  /** The length of the longest end of `data` that begins the mark (usually 0, or 1 for a final newline). */
  #markStartAtEnd(data: Buffer): number {
    const longest = Math.min(data.length, this.#needle.length - 1);
    for (let length = longest; length > 0; length--) {
      const start = data.length - length;
      // The mark begins with a newline: only a tail starting with one can be its beginning.
      if (data[start] === NEWLINE && data.subarray(start).equals(this.#needle.subarray(0, length))) return length;
    }
    return 0;
  }
}
