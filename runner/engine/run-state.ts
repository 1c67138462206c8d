/**
 * The run-wide state that makes fail-fast a runner policy rather than something each module does:
 * once `stop` is called, no new task starts on any host; tasks in flight finish; handlers do not run.
 */
import { setMaxListeners } from 'node:events';
import type { RecapLine, StopReason } from '../events.ts';
import type { TaskResult } from '../result.ts';

export type { StopReason };

export class RunState {
  #stopReason: StopReason | undefined;
  readonly #recap = new Map<string, RecapLine>();
  readonly failedHosts = new Set<string>();
  readonly unreachableHosts = new Set<string>();
  /** Every tag of every task called, so that a --tags or --skip-tags value that matched none can be named. */
  readonly seenTags = new Set<string>();
  /** Aborted on the second Ctrl-C: commands in flight are killed. */
  readonly abort = new AbortController();
  /** The exit status of an interrupted run: 128 + the number of the signal that stopped it (SIGINT 130, SIGTERM 143). */
  interruptExitCode = 130;
  /** Failures of the run itself, attributable to no host (code that threw outside every host's play). */
  runFailures = 0;
  /**
   * A dry run's newest predicted (not made) change, on any host: a read-only command that fails after it
   * may have read what that change would have made (a server another host would start), so the failure
   * cannot be trusted to be the apply's.
   */
  lastPrediction: { host: string; task: string } | undefined;

  constructor() {
    // Every command in flight listens for the abort: hundreds at once is expected, not a leak.
    setMaxListeners(0, this.abort.signal);
  }

  get stopping(): boolean {
    return this.#stopReason !== undefined;
  }

  get stopReason(): StopReason | undefined {
    return this.#stopReason;
  }

  /**
   * A stop after which nothing more runs, handlers included (they are remembered on the host for its next
   * run): Ctrl-C, or an audit log that can no longer record what runs. Another host's failure is not one:
   * a healthy host still runs the handlers it was notified (see settleHandlers).
   */
  get haltsHandlers(): boolean {
    return this.#stopReason === 'interrupted' || this.#stopReason === 'audit-failed';
  }

  /** Returns true the first time, so the caller announces the stop once. */
  stop(reason: StopReason): boolean {
    if (this.#stopReason) return false;
    this.#stopReason = reason;
    return true;
  }

  /** Makes sure a host appears in the recap even if nothing ran there. */
  track(host: string): RecapLine {
    let line = this.#recap.get(host);
    if (!line) {
      line = { host, ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, ignored: 0, notRun: false };
      this.#recap.set(host, line);
    }
    return line;
  }

  /** Counts a result; a failure the playbook ignores (ignoreErrors) counts as `ignored`, not `failed`. */
  count(result: TaskResult, ignored = false): void {
    const line = this.track(result.host);
    line[ignored && result.status === 'failed' ? 'ignored' : result.status === 'changed' ? 'changed' : result.status]++;
  }

  /** A block's rescue recovered the host: its failed task counts as rescued, and the host is not failed. */
  recover(host: string): void {
    const line = this.track(host);
    if (line.failed > 0) line.failed--;
    line.rescued = (line.rescued ?? 0) + 1;
    this.failedHosts.delete(host);
  }

  markNotRun(host: string): void {
    this.track(host).notRun = true;
  }

  recap(): RecapLine[] {
    return [...this.#recap.values()];
  }

  /** 0 all ok; 2 a host (or the run) failed; 4 a host unreachable and none failed (as Ansible); 130/143 interrupted. */
  exitCode(): number {
    if (this.#stopReason === 'interrupted') return this.interruptExitCode;
    if (this.failedHosts.size > 0 || this.runFailures > 0) return 2;
    if (this.unreachableHosts.size > 0) return 4;
    return 0;
  }
}
