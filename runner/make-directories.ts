/**
 * mkdir -p, one level at a time, for directories on the controller whose path the operator chooses (the
 * audit log's, fetch's destination, the type-check cache, known_hosts). Node 20's own recursive mkdir
 * loops for ever where a parent exists but mkdir answers ENOENT (as under /proc): it hung
 * `--audit-log /proc/x/y.jsonl` and `XDG_CACHE_HOME=/proc/x`. Throws the first failing mkdir's own error,
 * whose `path` is the level that could not be made.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export function makeDirectories(directory: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let current = directory; !existsSync(current); current = dirname(current)) {
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const level of missing) mkdirSync(level, { mode });
}
