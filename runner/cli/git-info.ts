/** The git commit of the playbook's checkout, for the audit log: which version of the code ran. */
import { execFile } from 'node:child_process';
import { basename, dirname } from 'node:path';

export interface GitInfo {
  commit: string;
  dirty: boolean;
}

/**
 * `dirty` when what ran is not what the commit holds: a tracked file changed, or the playbook itself is not
 * in the commit (untracked). Other untracked files do not count (logs, scratch files), but the playbook
 * does: a run of an untracked playbook is not a run of that commit's code.
 *
 * The three git commands run at once and in the background: the playbook command starts them before its
 * type check and import and needs the answer only for the run-start record. `git status` walks the whole
 * work tree, which in a large repository takes longer than everything else drover does before connecting,
 * and the three of them cost about 60 ms one after the other on an idle small checkout. Never rejects: a
 * machine without git, or a playbook outside a repository, gives undefined. A `git status` that fails counts
 * as dirty: the log must not claim a clean checkout it could not check.
 */
export async function gitInfo(path: string): Promise<GitInfo | undefined> {
  const cwd = dirname(path);
  const [head, status, tracked] = await Promise.all([
    git(cwd, ['rev-parse', 'HEAD']),
    git(cwd, ['status', '--porcelain', '--untracked-files=no']),
    git(cwd, ['ls-files', '--error-unmatch', '--', basename(path)]),
  ]);
  if (!head.ok) return undefined;
  return { commit: head.stdout.trim(), dirty: !status.ok || status.stdout.trim() !== '' || !tracked.ok };
}

function git(cwd: string, args: string[]): Promise<{ ok: boolean; stdout: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => resolve({ ok: !error, stdout }));
  });
}
