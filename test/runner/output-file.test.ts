/**
 * Output files (a saved plan, a merged log, a report) are whole or absent: a write the disk refuses part
 * way leaves nothing behind, so the same path can be retried; an existing file is never replaced.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outputFileProblem, writeOutputFile, type OutputFileSystem } from '../../runner/output-file.ts';

/** A disk that takes `room` bytes and then answers ENOSPC, as a full tmpfs does. */
function fullDisk(room: number): OutputFileSystem {
  let left = room;
  return {
    writeSync(fd, bytes, offset, length) {
      if (left === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const taken = Math.min(left, length);
      left -= taken;
      return writeSync(fd, bytes, offset, taken);
    },
  };
}

describe('output files', () => {
  it('writes a new file whole, owner-only, with no temporary file left beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-output-'));
    const path = join(dir, 'report.html');
    expect(writeOutputFile(path, 'x'.repeat(100_000))).to.deep.equal({ ok: true });
    expect(readFileSync(path, 'utf8')).to.equal('x'.repeat(100_000));
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    expect(readdirSync(dir)).to.deep.equal(['report.html']);
  });

  it('leaves nothing when the disk fills part way, so the same path can be retried', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-output-'));
    const path = join(dir, 'merged.jsonl');
    expect(writeOutputFile(path, 'y'.repeat(20_000), { fs: fullDisk(8192) })).to.deep.equal({ ok: false, code: 'ENOSPC', path });
    expect(readdirSync(dir)).to.deep.equal([]);
    expect(writeOutputFile(path, 'y'.repeat(20_000))).to.deep.equal({ ok: true });
    expect(readFileSync(path, 'utf8')).to.have.length(20_000);
  });

  it('never replaces a file, and says why a directory cannot take one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-output-'));
    const path = join(dir, 'plan.json');
    writeFileSync(path, 'reviewed');
    expect(writeOutputFile(path, 'other')).to.deep.equal({ ok: false, code: 'EEXIST', path });
    expect(readFileSync(path, 'utf8')).to.equal('reviewed');
    expect(outputFileProblem(path)).to.equal('exists');
    expect(outputFileProblem(dir)).to.equal('is a directory');
    expect(outputFileProblem(join(dir, 'missing', 'p.json'))).to.match(/^the directory .*missing does not exist$/);
    expect(outputFileProblem(join(dir, 'new.json'))).to.equal(undefined);
    expect(readdirSync(dir)).to.deep.equal(['plan.json']);
    // sysfs refuses new files even to root: a directory that cannot be written, found before a run.
    expect(outputFileProblem('/sys/plan.json')).to.match(/^a file cannot be created in \/sys \(EACCES\)$/);
    expect(writeOutputFile('/sys/plan.json', 'x')).to.deep.equal({ ok: false, code: 'EACCES', path: '/sys/plan.json' });
  });
});
