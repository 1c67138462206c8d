/**
 * Renders a Diff value for people: a unified diff for files, `before → after` for values. The module
 * only says what changes; how it looks is decided here, once.
 */
import { createTwoFilesPatch } from 'diff';
import type { Diff } from '../module.ts';

export function renderDiff(diff: Diff): string {
  if (diff.kind === 'value') return `${diff.name}: ${show(diff.before)} → ${show(diff.after)}`;
  const before = diff.before ?? '';
  const after = diff.after ?? '';
  const patch = createTwoFilesPatch(
    diff.before === null ? '/dev/null' : `${diff.path} (before)`,
    diff.after === null ? '/dev/null' : `${diff.path} (after)`,
    before,
    after,
    undefined,
    undefined,
    { context: 3 },
  );
  // Drop the "Index"/"====" header lines the library adds; keep ---/+++ and hunks.
  return patch
    .split('\n')
    .filter((line) => !line.startsWith('====') && !line.startsWith('Index:'))
    .join('\n')
    .trimEnd();
}

function show(value: string | null): string {
  return value === null ? '(absent)' : JSON.stringify(value);
}
