/**
 * Lets the SSH transport stop a remote command and everything it started.
 *
 * sshd runs each channel's command in a new session (setsid), so the login shell's PID is also the
 * process group of the whole command. sshd's own "signal" request would signal that group, but OpenSSH
 * refuses it for root logins ("session signalling requires privilege separation", which sshd drops
 * after a root login) — and drover often logs in as root. So the transport prefixes each line with
 * `echo __drover_pid=$$ >&2;`, takes that first stderr line out of the output, and on a timeout kills
 * the group from a second channel (`kill -TERM -PID`). The prefix runs in the login shell, before and
 * outside the rendered command, so it changes nothing the command sees. It needs a POSIX-like login
 * shell (sh, bash, dash, zsh, ksh, busybox) — as does running `/bin/sh -c '…'` lines at all; the
 * recorded command line (audit log) is the one without the prefix.
 */

const MARKER = '__drover_pid=';
/** A login shell's rc files may print before the marker; past this much stderr, stop looking. */
const SEARCH_LIMIT = 8192;

/** Prefixes a command line so that the remote shell reports its PID (= process group) on stderr first. */
export function withPidReport(line: string): string {
  return `echo ${MARKER}$$ >&2; ${line}`;
}

/** The command that signals reported process groups, run on another channel of the same connection. */
export function killGroupsLine(signal: 'TERM' | 'KILL', pids: readonly number[]): string {
  return `kill -${signal} ${pids.map((pid) => `-${pid}`).join(' ')} 2>/dev/null || true`;
}

/**
 * Sends group kills one channel at a time, batching the groups that wait meanwhile: when all eight
 * commands of a connection time out together, their kills take one or two channels, not eight more
 * than sshd's MaxSessions allows. `send` runs a line on its own channel and settles when it is done.
 */
export class GroupKills {
  readonly #pending = { TERM: new Set<number>(), KILL: new Set<number>() };
  #busy = false;

  constructor(readonly send: (line: string) => Promise<void>) {}

  request(pid: number, signal: 'TERM' | 'KILL'): void {
    this.#pending[signal].add(pid);
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#pending.TERM.size > 0 || this.#pending.KILL.size > 0) {
        // TERM first: a group that is due both gets its chance to exit cleanly before KILL.
        const signal = this.#pending.TERM.size > 0 ? 'TERM' : 'KILL';
        const pids = [...this.#pending[signal]];
        this.#pending[signal].clear();
        await this.send(killGroupsLine(signal, pids)).catch(() => undefined);
      }
    } finally {
      this.#busy = false;
    }
  }
}

/**
 * Takes the PID report out of a stderr stream: chunks pass through `push`, which returns the bytes
 * that belong to the command's own stderr. Until the marker is found (or ruled out), bytes are held back.
 */
export class PidReportFilter {
  #pid: number | undefined;
  #held = Buffer.alloc(0);
  #done = false;

  get pid(): number | undefined {
    return this.#pid;
  }

  push(chunk: Buffer): Buffer {
    if (this.#done) return chunk;
    this.#held = Buffer.concat([this.#held, chunk]);
    const text = this.#held.toString('latin1');
    // Only the login shell's rc files can write before the marker, so its first occurrence is ours.
    const match = new RegExp(`${MARKER}(\\d+)\\n`).exec(text);
    if (match && match[1] !== undefined) {
      this.#pid = Number(match[1]);
      const rest = Buffer.concat([this.#held.subarray(0, match.index), this.#held.subarray(match.index + match[0].length)]);
      return this.#release(rest);
    }
    if (this.#held.length > SEARCH_LIMIT) return this.#release(this.#held);
    return Buffer.alloc(0);
  }

  /** At the end of the stream: whatever is still held back is the command's. */
  flush(): Buffer {
    return this.#done ? Buffer.alloc(0) : this.#release(this.#held);
  }

  #release(bytes: Buffer): Buffer {
    this.#done = true;
    this.#held = Buffer.alloc(0);
    return bytes;
  }
}
