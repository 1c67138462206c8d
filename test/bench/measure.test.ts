import { expect } from 'chai';
import { measure, parseTimes } from '../../bench/measure.ts';

describe('bench measure', function () {
  // The machine is shared and loaded: bounds are generous, never tight windows.
  this.timeout(120_000);

  it("reads bash's `times`: its children's user + system time", () => {
    expect(parseTimes('0m0.010s 0m0.002s\n0m1.500s 0m0.250s\n')).to.equal(1750);
    expect(parseTimes('0m0.010s 0m0.002s\n2m3.000s 0m0.000s\n')).to.equal(123_000);
    expect(parseTimes('')).to.equal(undefined);
  });

  it('measures the CPU time of a grandchild that burns CPU, and its wall time', async () => {
    // node inside sh inside the measuring bash: the CPU is counted through two reaped levels.
    // Burns 500 ms of CPU, however long the shared machine takes to give it that.
    const burn = 'const s = process.cpuUsage(); for (;;) { const u = process.cpuUsage(s); if (u.user + u.system >= 500000) break; }';
    const result = await measure(['sh', '-c', `node -e '${burn}'`], { timeoutMs: 60_000 });
    expect(result.exitCode).to.equal(0);
    expect(result.cpuMs).to.be.at.least(500);
    expect(result.wallMs).to.be.at.least(500);
  });

  it("adds up the tree's resident memory: two children holding 150 MB each peak above 300 MB together", async () => {
    const hold = 'node -e "const b = Buffer.alloc(150e6, 1); setTimeout(() => b.length, 1500);"';
    const result = await measure(['sh', '-c', `${hold} & ${hold} & wait`], { timeoutMs: 60_000 });
    expect(result.exitCode).to.equal(0);
    expect(result.peakRssBytes).to.be.at.least(300e6);
    expect(result.peakProcesses).to.be.at.least(3);
  });

  it("keeps the command's output and exit status", async () => {
    const result = await measure(['sh', '-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 60_000 });
    expect(result).to.include({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('fails, naming the command, when it outlives its time limit', async () => {
    let error: unknown;
    await measure(['sleep', '30'], { timeoutMs: 300 }).catch((caught: unknown) => {
      error = caught;
    });
    expect(String(error)).to.match(/`sleep 30` was killed before it finished \(limit 0.3 s\)/);
  });
});
