import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { terminalWidth } from '../../../runner/report/terminal.ts';

const FIXTURE = resolve(import.meta.dirname, '../../fixtures/report/terminal-width.ts');

async function drive(columns: number): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', FIXTURE, String(columns)], { timeout: 20_000, cwd: join(import.meta.dirname, '../../..') });
  return stdout;
}

describe('report/terminal on a terminal', function () {
  this.timeout(30_000);

  it('prints results and finishes on a terminal that reports no width (no spinner: it would loop forever)', async () => {
    const output = await drive(0);
    expect(output).to.include('node1').and.include('a long task');
    expect(output).not.to.include('working:');
  });

  it('shows the spinner with the hosts still working on a terminal with a width', async () => {
    const output = await drive(100);
    expect(output).to.include('working:').and.include('node2');
    expect(output).to.include('a long task');
  });

  it('reads the width only from a stream that has one', () => {
    expect(terminalWidth(process.stdout)).to.be.a('number');
    expect(terminalWidth({ columns: 0 } as unknown as NodeJS.WriteStream)).to.equal(0);
    expect(terminalWidth({ columns: 132 } as unknown as NodeJS.WriteStream)).to.equal(132);
    expect(terminalWidth({} as unknown as NodeJS.WriteStream)).to.equal(0);
  });
});
