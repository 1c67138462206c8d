import { expect } from 'chai';
import { GroupKills, killGroupsLine, PidReportFilter, withPidReport } from '../../runner/transport/pid-marker.ts';

/** Feeds chunks through a filter and returns what the command's stderr ends up as, and the PID found. */
function filter(chunks: string[]): { stderr: string; pid: number | undefined } {
  const report = new PidReportFilter();
  const out = chunks.map((chunk) => report.push(Buffer.from(chunk, 'latin1')));
  out.push(report.flush());
  return { stderr: Buffer.concat(out).toString('latin1'), pid: report.pid };
}

describe('transport/pid-marker', () => {
  const cases: Array<[string, string[], string, number | undefined]> = [
    ['the marker alone', ['__drover_pid=123\n'], '', 123],
    ['the marker then output', ['__drover_pid=123\nboom\n'], 'boom\n', 123],
    ['the marker split across chunks', ['__drover_p', 'id=45', '6\nrest'], 'rest', 456],
    ['rc-file noise before the marker', ['bashrc says hi\n__drover_pid=7\nerr'], 'bashrc says hi\nerr', 7],
    ['noise without a line end before the marker', ['noise__drover_pid=8\nerr'], 'noiseerr', 8],
    ['no marker (a short stream)', ['plain\n'], 'plain\n', undefined],
    ['a later marker-like line left alone', ['__drover_pid=1\nx\n__drover_pid=2\n'], 'x\n__drover_pid=2\n', 1],
    ['bytes that are not UTF-8', ['__drover_pid=9\n\xff\xfe'], '\xff\xfe', 9],
  ];
  for (const [what, chunks, stderr, pid] of cases) {
    it(`handles ${what}`, () => {
      expect(filter(chunks)).to.deep.equal({ stderr, pid });
    });
  }

  it('gives up looking after 8 KiB and passes everything through', () => {
    const noise = 'n'.repeat(9000);
    const report = new PidReportFilter();
    expect(report.push(Buffer.from(noise)).toString()).to.equal(noise);
    expect(report.push(Buffer.from('__drover_pid=5\n')).toString()).to.equal('__drover_pid=5\n');
    expect(report.pid).to.equal(undefined);
  });

  it('prefixes lines and builds kill commands', () => {
    expect(withPidReport('/bin/sh -c true')).to.equal('echo __drover_pid=$$ >&2; /bin/sh -c true');
    expect(killGroupsLine('KILL', [4242, 7])).to.equal('kill -KILL -4242 -7 2>/dev/null || true');
  });

  it('sends kills one channel at a time, batching the groups that wait meanwhile', async () => {
    const sent: string[] = [];
    let open = 0;
    let mostOpen = 0;
    const finishers: Array<() => void> = [];
    const kills = new GroupKills((line) => {
      sent.push(line);
      mostOpen = Math.max(mostOpen, ++open);
      return new Promise<void>((resolve) =>
        finishers.push(() => {
          open--;
          resolve();
        }),
      );
    });
    kills.request(1, 'TERM');
    for (const pid of [2, 3, 4]) kills.request(pid, 'TERM');
    kills.request(5, 'KILL');
    expect(sent).to.deep.equal(['kill -TERM -1 2>/dev/null || true']);
    finishers.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.at(-1)).to.equal('kill -TERM -2 -3 -4 2>/dev/null || true');
    finishers.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.at(-1)).to.equal('kill -KILL -5 2>/dev/null || true');
    finishers.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).to.have.length(3);
    expect(mostOpen).to.equal(1);
  });
});
