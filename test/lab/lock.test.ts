import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLabLock } from '../../lab/lock.ts';

describe('lab/lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-lab-lock-'));

  it('runs one holder at a time', async () => {
    const file = join(dir, 'serial.lock');
    const events: string[] = [];
    const holder = (name: string) =>
      withLabLock(file, async () => {
        events.push(`${name} in`);
        await new Promise((resolveWait) => setTimeout(resolveWait, 50));
        events.push(`${name} out`);
      });
    await Promise.all([holder('a'), holder('b')]);
    // Either may get the lock first; what matters is that the second enters only after the first left.
    const first = events[0]!.split(' ')[0]!;
    const second = first === 'a' ? 'b' : 'a';
    expect(events).to.deep.equal([`${first} in`, `${first} out`, `${second} in`, `${second} out`]);
  });

  it('takes over a lock left by a dead process', async () => {
    const file = join(dir, 'stale.lock');
    const dead = spawnSync('true').pid;
    writeFileSync(file, `${dead}\n`);
    expect(await withLabLock(file, async () => readFileSync(file, 'utf8').trim(), 2000)).to.equal(String(process.pid));
  });

  it('waits for a live holder and names it when time runs out', async () => {
    const file = join(dir, 'busy.lock');
    writeFileSync(file, '1\n'); // PID 1 is always alive
    let error: unknown;
    await withLabLock(file, async () => undefined, 300).catch((caught: unknown) => (error = caught));
    expect(String(error)).to.match(/the lab is busy: process 1 holds .*busy\.lock/);
  });
});
