/**
 * The differences between a reviewed task (from a saved plan) and the same task planned afresh by an
 * apply, rendered for people: which command, stdin or diff changed, or only the probed state.
 *
 * @example
 *   compareTasks(saved, fresh) // undefined when identical, else "  command 1 differs:\n    - …\n    + …"
 */
import { PREDICTED_FINGERPRINT, type PlannedTask } from '../planned-task.ts';
import { renderDiff } from './diff.ts';
import type { Diff } from '../module.ts';

/**
 * The differences between the reviewed task and the fresh one, for people (the apply's failure message),
 * or undefined when they are identical. The key is compared by the caller (it finds the saved task by it).
 */
export function compareTasks(saved: PlannedTask, fresh: PlannedTask): string | undefined {
  const lines: string[] = [];
  const field = (name: string, before: unknown, after: unknown) => {
    if (JSON.stringify(before) !== JSON.stringify(after)) lines.push(`  ${name}: reviewed ${JSON.stringify(before)}, now ${JSON.stringify(after)}`);
  };
  field('module', saved.module, fresh.module);
  field('status', saved.status, fresh.status);
  field('uncertain', saved.uncertain, fresh.uncertain);
  listDifference('command', saved.commands, fresh.commands, lines);
  listDifference('stdin', saved.stdin, fresh.stdin, lines);
  diffDifference(saved.diffs, fresh.diffs, lines);
  // A task reviewed from the dry run's predicted state: the host it read then is not the one the apply
  // reads (the earlier tasks have really run); its commands and diffs are what must be the same.
  if (saved.fingerprint?.startsWith(PREDICTED_FINGERPRINT)) return lines.length > 0 ? lines.join('\n') : undefined;
  if (lines.length === 0 && saved.fingerprint !== fresh.fingerprint) {
    lines.push(
      `  probed state: the host read differently than at review (fingerprint ${short(saved.fingerprint)} → ${short(fresh.fingerprint)}), though the commands and diffs are the same`,
    );
  } else if (saved.fingerprint !== fresh.fingerprint) {
    lines.push(`  probed state: fingerprint ${short(saved.fingerprint)} → ${short(fresh.fingerprint)}`);
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}

function short(fingerprint: string | null): string {
  return fingerprint === null ? '(none)' : fingerprint.slice(0, 12);
}

function listDifference(what: string, saved: string[], fresh: string[], lines: string[]): void {
  const count = Math.max(saved.length, fresh.length);
  for (let index = 0; index < count; index++) {
    const before = saved[index];
    const after = fresh[index];
    if (before === after) continue;
    if (before === undefined) lines.push(`  ${what} ${index + 1} is new:\n${indent(after!, '    + ')}`);
    else if (after === undefined) lines.push(`  ${what} ${index + 1} is gone:\n${indent(before, '    - ')}`);
    else if (!before.includes('\n') && !after.includes('\n')) lines.push(`  ${what} ${index + 1} differs:\n    - ${before}\n    + ${after}`);
    // A script: only the lines that differ, with a little context, as a unified diff.
    else lines.push(`  ${what} ${index + 1} differs:\n${indent(renderDiff({ kind: 'file', path: `${what} ${index + 1}`, before, after }), '    ')}`);
  }
}

function diffDifference(saved: Diff[], fresh: Diff[], lines: string[]): void {
  const count = Math.max(saved.length, fresh.length);
  for (let index = 0; index < count; index++) {
    const before = saved[index];
    const after = fresh[index];
    if (JSON.stringify(before) === JSON.stringify(after)) continue;
    lines.push(
      `  diff ${index + 1} differs:\n    reviewed:\n${indent(before ? renderDiff(before) : '(no diff)', '      ')}\n    now:\n${indent(after ? renderDiff(after) : '(no diff)', '      ')}`,
    );
  }
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}
