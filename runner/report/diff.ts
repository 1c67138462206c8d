/**
 * Renders a Diff value for people: a unified diff for files, `before → after` for values. The module
 * only says what changes; how it looks is decided here, once.
 */
import { createRequire } from 'node:module';
import type * as DiffLibrary from 'diff';
import type { Diff } from '../module.ts';

let library: typeof DiffLibrary | undefined;

/** The diff library, loaded on the first diff shown (its CommonJS build, synchronously): a run that shows none skips about 10 ms of start-up. */
function diffLibrary(): typeof DiffLibrary {
  library ??= createRequire(import.meta.url)('diff') as typeof DiffLibrary;
  return library;
}

export function renderDiff(diff: Diff): string {
  if (diff.kind === 'value') return `${diff.name}: ${show(diff.before)} → ${show(diff.after)}`;
  const before = diff.before ?? '';
  const after = diff.after ?? '';
  const patch = diffLibrary().createTwoFilesPatch(
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
