/**
 * Where one host's play code stands, for the parts of the engine that change how a task failure unwinds
 * it: `t.block` (a rescue runs tasks on a host that failed) and `t.runOnce` (was anything only predicted).
 */
import type { TaskResult } from '../result.ts';

/** Thrown inside a host's play code to unwind it when the run stops or the host failed. */
export class HostStopped extends Error {
  constructor(readonly why: 'stopping' | 'failed') {
    super(`host stopped: ${why}`);
  }
}

export interface HostFlow {
  /** > 0 inside a block's rescue or always after a failure: tasks run on this failed host, and despite fail-fast. */
  rescuing: number;
  /** > 0 inside a `recovered: true` block: a failure is not recorded (no fail-fast) until its rescue decides. */
  deferring: number;
  /** The last task that failed on this host (what a rescue is given). */
  lastFailure?: TaskResult;
  /** Check-mode predictions of a change so far: a run-once whose code added one has an unknown result. */
  predictions: number;
}

export function newHostFlow(): HostFlow {
  return { rescuing: 0, deferring: 0, predictions: 0 };
}
