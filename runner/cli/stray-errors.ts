/**
 * Where an exception or rejection nothing handled goes (process-main.ts installs reportStrayError for the
 * whole process): to the open run, which reports and closes it like any failure. Kept apart from
 * run-context.ts so that the process can install its handlers without loading the engine, transport and
 * reporters, which a command like `--help` or `audit verify` never uses.
 */
import { codeLocation } from '../engine/code-location.ts';
import { describeError } from './describe-error.ts';

/** The open runs' handlers for errors nothing caught (one in practice; the latest wins). */
const openRuns: Array<(error: unknown) => void> = [];
let runsOpened = 0;

/** A run opens: its handler takes stray errors until the returned function is called (the run closed). */
export function takeStrayErrors(handler: (error: unknown) => void): () => void {
  openRuns.push(handler);
  runsOpened++;
  return () => {
    const index = openRuns.indexOf(handler);
    if (index >= 0) openRuns.splice(index, 1);
  };
}

/**
 * An exception or rejection nothing handled reached the process (process-main.ts): the open run reports
 * and closes it like any failure. Outside a run it is an error before anything ran (exit 1), or after the
 * run closed, a failure (exit 2) that is shown but no longer recorded.
 */
export function reportStrayError(error: unknown): void {
  const report = openRuns[openRuns.length - 1];
  if (report) {
    report(error);
    return;
  }
  const location = error instanceof Error ? codeLocation(error.stack) : undefined;
  process.stderr.write(`drover: an error was thrown outside any run${location ? ` at ${location}` : ''}: ${describeError(error)}\n`);
  if (runsOpened === 0) process.exit(1);
  process.exitCode = 2;
}
