/**
 * How many of a task's commands were sent to the host: zero for a re-run with nothing to do and for a
 * check-mode run, whatever the task planned.
 */
import type { TaskResult } from '../../runner/result.ts';

/** The number of the result's commands that ran on the host (check mode shows commands without running them). */
export function executedCount(result: TaskResult): number {
  return result.commands.filter((command) => command.executed).length;
}
