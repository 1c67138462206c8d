/**
 * --tags / --skip-tags selection with Ansible's special tags: `always` runs unless skipped by name,
 * `never` runs only when asked for by name, `tagged` / `untagged` select by whether a task has tags.
 */
export interface TagFilter {
  only: string[];
  skip: string[];
}

/** Tags that select by a property rather than by name; they match no task by name, so they are never "unmatched". */
const SPECIAL_TAGS = new Set(['all', 'always', 'never', 'tagged', 'untagged']);

/**
 * A warning for each --tags / --skip-tags value no task of the run carried: a misspelt tag otherwise runs
 * nothing (or skips nothing) and exits 0, with only a screen of "skipped" lines to show for it.
 */
export function unmatchedTags(filter: TagFilter, seen: ReadonlySet<string>): string[] {
  const warn = (option: string, effect: string) => (tag: string) =>
    `${option} ${tag} matched no task of this run, so it ${effect}; check its spelling (tags seen: ${[...seen].sort().join(', ') || 'none'})`;
  const missing = (tags: string[]) => [...new Set(tags)].filter((tag) => !SPECIAL_TAGS.has(tag) && !seen.has(tag));
  return [...missing(filter.only).map(warn('--tags', 'selected nothing')), ...missing(filter.skip).map(warn('--skip-tags', 'skipped nothing'))];
}

export function selectByTags(taskTags: string[], filter: TagFilter): boolean {
  const tags = new Set(taskTags);
  const matches = (wanted: string[]) =>
    wanted.some(
      (tag) => tags.has(tag) || (tag === 'all' && !tags.has('never')) || (tag === 'tagged' && tags.size > 0) || (tag === 'untagged' && tags.size === 0),
    );
  if (filter.skip.length > 0 && matches(filter.skip)) return false;
  if (tags.has('always')) return true;
  if (filter.only.length === 0) return !tags.has('never');
  return matches(filter.only);
}
