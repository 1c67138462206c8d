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
 * Two git commands, at once and in the background: the playbook command starts them before its type check
 * and import and needs the answer only for the run-start record. `git status` walks the whole work tree,
 * which in a large repository takes longer than everything else drover does before connecting; its
 * porcelain v2 header names the commit, so no `rev-parse` is needed (each git costs a fork of drover's
 * process, about 15 ms). Never rejects: a machine without git, a playbook outside a repository, or a
 * repository without a commit gives undefined.
 */
export async function gitInfo(path: string): Promise<GitInfo | undefined> {
  const cwd = dirname(path);
  const [status, tracked] = await Promise.all([
    git(cwd, ['status', '--porcelain=v2', '--branch', '--untracked-files=no']),
    git(cwd, ['ls-files', '--error-unmatch', '--', basename(path)]),
  ]);
  if (!status.ok) return undefined;
  const lines = status.stdout.split('\n').filter((line) => line !== '');
  const commit = lines.find((line) => line.startsWith('# branch.oid '))?.slice('# branch.oid '.length);
  if (!commit || !/^[0-9a-f]{40,64}$/.test(commit)) return undefined;
  return { commit, dirty: lines.some((line) => !line.startsWith('# ')) || !tracked.ok };
}

function git(cwd: string, args: string[]): Promise<{ ok: boolean; stdout: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => resolve({ ok: !error, stdout }));
  });
}
