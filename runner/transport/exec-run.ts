/**
 * The life of one command, shared by the SSH and local transports so both report the same ExecOutcome
 * the same way: output capped, a time limit, an abort signal, the TERM/KILL sequence, and exactly one
 * outcome however the command ends (exit, signal, stop, lost connection). The transport feeds it events
 * and supplies how to signal the command.
 */
import { performance } from 'node:perf_hooks';
import { CappedOutput, DEFAULT_MAX_OUTPUT_BYTES } from './capped-output.ts';
import { DEFAULT_STOP_TIMINGS, startStopSequence, type StopTimings } from './stop-sequence.ts';
import type { ExecOptions, ExecOutcome } from './transport.ts';

/** The longest delay setTimeout honours; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SignalActions {
  term(): void;
  /** KILL, and let go of the command (close the channel). */
  kill(): void;
}

export class ExecRun {
  readonly stdout: Pick<CappedOutput, 'push' | 'text' | 'release' | 'dropped'>;
  readonly stderr: CappedOutput;
  readonly outcome: Promise<ExecOutcome>;
  #resolve!: (outcome: ExecOutcome) => void;
  readonly #startedAt = performance.now();
  #exitCode: number | null = null;
  #signal: string | undefined;
  #timedOut = false;
  #aborted = false;
  #connectionLost = false;
  #transportError: string | undefined;
  #settled = false;
  #stopping = false;
  #cancelStop: (() => void) | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  /** Runs once, just before the outcome is taken: the kept shell hands on output it held back. */
  beforeFinish: (() => void) | undefined;
  readonly #onAbort = (): void => {
    this.#aborted = true;
    this.#stop();
  };

  /** Starts the clock: the time limit counts from here. */
  constructor(
    readonly options: ExecOptions,
    readonly actions: SignalActions,
    readonly stopTimings: StopTimings = DEFAULT_STOP_TIMINGS,
  ) {
    const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.stdout = options.stdoutSink
      ? { push: options.stdoutSink, text: () => '', release: () => {}, dropped: 0 }
      : new CappedOutput(maxBytes, options.outputBudget);
    this.stderr = new CappedOutput(maxBytes, options.outputBudget);
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${options.timeoutMs}`);
    // Past setTimeout's range (about 24.8 days, or Infinity) means no limit rather than an instant one.
    this.#timer =
      options.timeoutMs <= MAX_TIMER_MS
        ? setTimeout(() => {
            this.#timedOut = true;
            this.#stop();
          }, options.timeoutMs)
        : undefined;
    if (options.signal?.aborted) queueMicrotask(this.#onAbort);
    else options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** True once a timeout or abort asked the command to stop. */
  get stopping(): boolean {
    return this.#stopping;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The command's exit status, or the signal that ended it (with or without the SIG prefix). */
  exited(code: number | null, signal?: string): void {
    if (typeof code === 'number') this.#exitCode = code;
    if (signal) this.#signal = signal.replace(/^SIG/, '');
  }

  /** The connection dropped: report the host unreachable, without waiting for anything else. */
  connectionLost(reason: string): void {
    this.#connectionLost = true;
    this.#transportError ??= reason;
    this.finish();
  }

  /** The transport could not run the command (e.g. the server refused a channel). */
  failed(reason: string): void {
    this.#transportError ??= reason;
    this.finish();
  }

  /** The command was never sent: aborted while it waited for a channel. */
  abortedBeforeStart(): Promise<ExecOutcome> {
    this.#aborted = true;
    this.finish();
    return this.outcome;
  }

  /** Reports the outcome; later calls do nothing. */
  finish(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.beforeFinish?.();
    clearTimeout(this.#timer);
    this.#cancelStop?.();
    this.options.signal?.removeEventListener('abort', this.#onAbort);
    const stopped = this.#timedOut || this.#aborted || this.#connectionLost;
    const stdout = this.stdout.text();
    const stderr = this.stderr.text();
    // The bytes now live in the outcome's strings, which the runner reports and drops.
    this.stdout.release();
    this.stderr.release();
    const dropped = { stdout: this.stdout.dropped, stderr: this.stderr.dropped };
    this.#resolve({
      // A command stopped by us or cut off has no exit code worth trusting, even if one arrived late.
      exitCode: stopped ? null : this.#exitCode,
      ...(this.#signal ? { signal: this.#signal } : {}),
      stdout,
      stderr,
      ...(dropped.stdout + dropped.stderr > 0 && { outputDropped: dropped }),
      timedOut: this.#timedOut,
      aborted: this.#aborted,
      connectionLost: this.#connectionLost,
      durationMs: Math.round(performance.now() - this.#startedAt),
      ...(this.#transportError ? { transportError: this.#transportError } : {}),
    });
  }

  #stop(): void {
    if (this.#stopping || this.#settled) return;
    this.#stopping = true;
    this.#cancelStop = startStopSequence({ term: () => this.actions.term(), kill: () => this.actions.kill(), giveUp: () => this.finish() }, this.stopTimings);
  }
}
