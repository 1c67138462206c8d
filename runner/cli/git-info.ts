/** The git commit of the playbook's checkout, for the audit log: which version of the code ran. */
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';

export function gitInfo(path: string): { commit: string; dirty: boolean } | undefined {
  const cwd = dirname(path);
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' });
  if (head.status !== 0) return undefined;
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' });
  return { commit: head.stdout.trim(), dirty: status.stdout.trim() !== '' };
}
