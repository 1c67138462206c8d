/**
 * Every way the operator asks a running drover to stop, counted once: SIGINT (Ctrl-C), SIGTERM and
 * SIGHUP (terminal closed) delivered to this process; the same signals relayed by drover's supervisor
 * (run.ts, see supervise.ts) over IPC; and the loss of the launcher (supervisor, tsx, npm), which counts
 * as SIGTERM. The first request stops new tasks; the second kills the commands in flight.
 *
 * Ctrl-C reaches the whole process group, so one press arrives here twice: directly and relayed by the
 * supervisor. Both sides count presses, and the level is the larger count, never their sum: a signal
 * sent to drover's process alone, to the top process alone, or to the group all count as one.
 */
import { constants } from 'node:os';
import { watchLaunchers } from './launcher.ts';

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** What the supervisor sends its worker for each signal it received (`seq` counts them, from 1). */
export interface RelayedStop {
  type: 'drover-stop';
  signal: StopSignal;
  seq: number;
  /** Why, when it was no signal: the supervisor's launcher died. */
  why?: string;
}

export function isRelayedStop(message: unknown): message is RelayedStop {
  const candidate = message as Partial<RelayedStop> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.type === 'drover-stop' &&
    typeof candidate.seq === 'number' &&
    STOP_SIGNALS.includes(candidate.signal as StopSignal)
  );
}

export interface StopRequest {
  /** 1: stop starting tasks; 2 or more: kill the commands in flight. */
  level: number;
  /** The signal of the first request: it decides the exit status (128 + its number). */
  signal: StopSignal;
  /** How this request was told, for the operator. */
  how: string;
}

export type StopListener = (request: StopRequest) => void;

export function exitStatusOf(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

export class StopRequests {
  #direct = 0;
  #relayed = 0;
  #launcherLost = false;
  #level = 0;
  #first: StopSignal | undefined;
  readonly #listeners = new Set<StopListener>();
  readonly #onSignal = (signal: StopSignal) => {
    this.#direct++;
    this.#raise(signal, `${signal} received`);
  };

  /**
   * Listens while a run is open; returns the unsubscribe function. Signal handlers are installed only
   * while someone listens: outside a run nothing has been done, and the default (exit at once) is right.
   */
  subscribe(listener: StopListener): () => void {
    if (this.#listeners.size === 0) for (const signal of STOP_SIGNALS) process.on(signal, this.#onSignal);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) for (const signal of STOP_SIGNALS) process.off(signal, this.#onSignal);
    };
  }

  /** A signal the supervisor received and passed on. */
  relayed(message: RelayedStop): void {
    this.#relayed = Math.max(this.#relayed, message.seq);
    this.#raise(message.signal, message.why ?? `${message.signal} passed on by drover's supervisor`);
  }

  /** The launcher died: nobody can pass on the operator's signals any more; stop as for SIGTERM. */
  launcherLost(why: string): void {
    this.#launcherLost = true;
    this.#raise('SIGTERM', `${why}: stopping as for SIGTERM`);
  }

  /**
   * Wires up the sources other than this process's own signals: the supervisor's relay and its loss
   * when drover runs under run.ts, else the launchers (npm, tsx) above this process.
   */
  watchProcess(): void {
    if (process.env.DROVER_SUPERVISED === '1' && process.send && process.channel) {
      process.on('message', (message) => {
        if (isRelayedStop(message)) this.relayed(message);
      });
      const supervisor = process.ppid;
      process.on('disconnect', () => this.launcherLost(`drover's supervisor (pid ${supervisor}) is gone`));
      // The channel must not keep drover alive once its work is done.
      process.channel.unref();
      return;
    }
    watchLaunchers((why) => this.launcherLost(why));
  }

  #raise(signal: StopSignal, how: string): void {
    const level = Math.max(this.#direct, this.#relayed, this.#launcherLost ? 1 : 0);
    if (level <= this.#level) return;
    this.#level = level;
    this.#first ??= signal;
    if (this.#listeners.size === 0) {
      // Not inside a run: nothing was started that needs closing.
      process.exit(exitStatusOf(this.#first));
    }
    for (const listener of this.#listeners) listener({ level, signal: this.#first, how });
  }
}

/** The process's one set of stop requests (signals are process-wide). */
export const stopRequests = new StopRequests();
