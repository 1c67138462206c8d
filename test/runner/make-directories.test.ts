/**
 * mkdir -p one level at a time: the directories drover makes for paths the operator chooses (audit log,
 * fetch destination, type-check cache, known_hosts). Node 20's recursive mkdir spins for ever under /proc,
 * so that case runs in a child process with a time limit: a hang fails the test instead of the suite.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../../runner/cli/typecheck.ts';
import { makeDirectories } from '../../runner/make-directories.ts';
import { ROOT } from '../support/run-cli.ts';

describe('makeDirectories (mkdir -p, one level at a time)', () => {
  it('makes every missing level with the mode asked, and accepts what exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-mkdirs-'));
    try {
      makeDirectories(join(dir, 'a', 'b', 'c'), 0o700);
      expect(statSync(join(dir, 'a', 'b', 'c')).isDirectory()).to.equal(true);
      expect(statSync(join(dir, 'a')).mode & 0o777).to.equal(0o700);
      makeDirectories(join(dir, 'a', 'b'));
      writeFileSync(join(dir, 'file'), '');
      expect(() => makeDirectories(join(dir, 'file', 'x')))
        .to.throw()
        .with.property('code', 'ENOTDIR');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails at once under /proc, naming the level, where Node’s recursive mkdir never returns', () => {
    const script = `import('${join(ROOT, 'runner/make-directories.ts')}').then(({ makeDirectories }) => {
      try { makeDirectories('/proc/drover-no-such/cache'); console.log('made'); } catch (error) { console.log(error.code, error.path); }
    });`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(child.error, 'the child did not finish within 60 s').to.equal(undefined);
    expect(child.stdout.trim()).to.equal('ENOENT /proc/drover-no-such');
  });
});

describe('the type-check cache directory', () => {
  it('is $DROVER_CACHE_DIR, else $XDG_CACHE_HOME/drover, else ~/.cache/drover; empty or relative values are ignored', () => {
    expect(cacheDir({ DROVER_CACHE_DIR: '/var/cache/x', XDG_CACHE_HOME: '/xdg' })).to.equal('/var/cache/x');
    expect(cacheDir({ XDG_CACHE_HOME: '/xdg' })).to.equal('/xdg/drover');
    expect(cacheDir({ DROVER_CACHE_DIR: '', XDG_CACHE_HOME: '' })).to.equal(join(homedir(), '.cache', 'drover'));
    expect(cacheDir({ DROVER_CACHE_DIR: 'relative', XDG_CACHE_HOME: 'rel' })).to.equal(join(homedir(), '.cache', 'drover'));
  });
});
