/**
 * A plan's changes as people see them: the summaries and each command's display form (secrets masked),
 * for tables that compare a plan with what an operator would read.
 */
import { renderCommand, type Command } from '../../runner/command.ts';
import type { Plan } from '../../runner/module.ts';

/** Every command of the plan, change after change. */
export function planCommands(plan: Plan): Command[] {
  return plan.changes.flatMap((change) => change.commands);
}

/** The display form of every command of the plan, in order. */
export function displayedCommands(plan: Plan): string[] {
  return planCommands(plan).map((command) => renderCommand(command).display);
}

/** The one-line summary of each change. */
export function changeSummaries(plan: Plan): string[] {
  return plan.changes.map((change) => change.summary);
}
