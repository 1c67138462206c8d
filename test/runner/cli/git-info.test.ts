/** The playbook's commit for the audit log (runner/cli/git-info.ts), in a throwaway repository. */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitInfo } from '../../../runner/cli/git-info.ts';

describe('cli/git-info: which version of the playbook ran', () => {
  let dir: string;
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: dir, encoding: 'utf8' });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-git-info-'));
    git('init', '-q');
    writeFileSync(join(dir, 'site.ts'), 'export {};\n');
    git('add', 'site.ts');
    git('commit', '-q', '-m', 'site');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is clean for a committed playbook, and an untracked file elsewhere does not change that', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'scratch\n');
    expect(await gitInfo(join(dir, 'site.ts'))).to.deep.equal({ commit: git('rev-parse', 'HEAD').trim(), dirty: false });
  });

  it('is dirty for a playbook the commit does not hold (untracked), and for a changed tracked file', async () => {
    writeFileSync(join(dir, 'scratch.ts'), 'export {};\n');
    expect(await gitInfo(join(dir, 'scratch.ts'))).to.include({ dirty: true });
    writeFileSync(join(dir, 'site.ts'), 'export const changed = 1;\n');
    expect(await gitInfo(join(dir, 'site.ts'))).to.include({ dirty: true });
    git('add', 'site.ts'); // staged, not committed: still not what the commit holds
    expect(await gitInfo(join(dir, 'site.ts'))).to.include({ dirty: true });
  });

  it('is undefined outside a repository', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'drover-git-none-'));
    try {
      expect(await gitInfo(join(outside, 'site.ts'))).to.equal(undefined);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('is undefined in a repository without a commit yet', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'drover-git-fresh-'));
    try {
      execFileSync('git', ['init', '-q'], { cwd: fresh });
      writeFileSync(join(fresh, 'site.ts'), 'export {};\n');
      expect(await gitInfo(join(fresh, 'site.ts'))).to.equal(undefined);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('is undefined on a machine without git, and never rejects', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(await gitInfo(join(dir, 'site.ts'))).to.equal(undefined);
    } finally {
      process.env.PATH = path;
    }
  });
});
