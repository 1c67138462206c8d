/**
 * How a timed-out or aborted command is stopped, the same for SSH and local commands: TERM first (sudo
 * relays TERM to its command but cannot relay KILL, and programs get to clean up), KILL if it is still
 * there a moment later, and if even that brings no end (a dead connection, a process stuck in the kernel)
 * the outcome is reported anyway, so the runner never waits forever.
 */

export interface StopTimings {
  /** How long the command has to exit after TERM before KILL. */
  termGraceMs: number;
  /** How long after KILL the transport still waits for the end before reporting without it. */
  killGraceMs: number;
}

export const DEFAULT_STOP_TIMINGS: StopTimings = { termGraceMs: 1000, killGraceMs: 2000 };

export interface StopActions {
  term(): void;
  kill(): void;
  /** Called when the command did not end even after KILL: report what there is. */
  giveUp(): void;
}

/** Starts the sequence; the returned function cancels the pending steps once the command has ended. */
export function startStopSequence(actions: StopActions, timings: StopTimings = DEFAULT_STOP_TIMINGS): () => void {
  let giveUpTimer: NodeJS.Timeout | undefined;
  actions.term();
  const killTimer = setTimeout(() => {
    actions.kill();
    giveUpTimer = setTimeout(actions.giveUp, timings.killGraceMs);
  }, timings.termGraceMs);
  return () => {
    clearTimeout(killTimer);
    if (giveUpTimer) clearTimeout(giveUpTimer);
  };
}
