/** The git commit of the playbook's checkout, for the audit log: which version of the code ran. */
import { spawnSync } from 'node:child_process';
import { basename, dirname } from 'node:path';

/**
 * `dirty` when what ran is not what the commit holds: a tracked file changed, or the playbook itself is not
 * in the commit (untracked). Other untracked files do not count (logs, scratch files), but the playbook
 * does: a run of an untracked playbook is not a run of that commit's code.
 */
export function gitInfo(path: string): { commit: string; dirty: boolean } | undefined {
  const cwd = dirname(path);
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' });
  if (head.status !== 0) return undefined;
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' });
  const tracked = spawnSync('git', ['ls-files', '--error-unmatch', '--', basename(path)], { cwd, encoding: 'utf8' });
  return { commit: head.stdout.trim(), dirty: status.stdout.trim() !== '' || tracked.status !== 0 };
}
