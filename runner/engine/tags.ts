/**
 * --tags / --skip-tags selection with Ansible's special tags: `always` runs unless skipped by name,
 * `never` runs only when asked for by name, `tagged` / `untagged` select by whether a task has tags.
 */
export interface TagFilter {
  only: string[];
  skip: string[];
}

export function selectByTags(taskTags: string[], filter: TagFilter): boolean {
  const tags = new Set(taskTags);
  const matches = (wanted: string[]) =>
    wanted.some((tag) => tags.has(tag) || (tag === 'all' && !tags.has('never')) || (tag === 'tagged' && tags.size > 0) || (tag === 'untagged' && tags.size === 0));
  if (filter.skip.length > 0 && matches(filter.skip)) return false;
  if (tags.has('always')) return true;
  if (filter.only.length === 0) return !tags.has('never');
  return matches(filter.only);
}
