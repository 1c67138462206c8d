import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControllerFile } from '../../../modules/lib/controller-file.ts';
import { ModuleError } from '../../../runner/module-error.ts';

/** The one reader of a task's controller-side `src` (copy, unarchive): a file, or an error that names it. */
describe('modules/lib: openControllerFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-controller-file-'));
    writeFileSync(join(dir, 'f'), 'bytes');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function failure(src: string): Promise<ModuleError> {
    try {
      await openControllerFile(src, 'unarchive src', 'give the archive file itself');
    } catch (error) {
      return error as ModuleError;
    }
    throw new Error(`opened ${src}`);
  }

  it('opens a file, sized and hashed once', async () => {
    const source = await openControllerFile(join(dir, 'f'), 'copy src', 'unused');
    expect(source.size).to.equal(5);
  });

  it('a missing file and a directory: the parameter, the absolute path and what to do', async () => {
    const missing = await failure(join(dir, 'nope'));
    expect(missing).to.be.instanceOf(ModuleError);
    expect(missing.message).to.equal(`cannot read unarchive src ${join(dir, 'nope')} on the controller (ENOENT)`);
    expect(missing.hint).to.match(/relative paths are resolved from the working directory/);
    const directory = await failure(dir);
    expect(directory.message).to.equal(`unarchive src ${dir} is a directory`);
    expect(directory.hint).to.equal('give the archive file itself');
  });

  it('a device or a FIFO is refused, not read (/dev/zero filled the memory)', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    for (const path of ['/dev/zero', join(dir, 'fifo')]) {
      const refused = await failure(path);
      expect(refused.message, path).to.equal(`unarchive src ${path} is not a regular file (a device, a FIFO or a socket)`);
      expect(refused.hint).to.equal('give a regular file; save a stream to a file first');
    }
  });
});
