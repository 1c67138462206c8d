import { expect } from 'chai';
import { markdownTable, problems, ratioLines, slowerThanFloor, spread, summarize, type Sample } from '../../bench/report.ts';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELP, parseOptions } from '../../bench/cli.ts';
import type { Phase, Tool } from '../../bench/tools.ts';

function sample(hosts: number, tool: Tool, phase: Phase, rep: number, wallMs: number, changes = phase === 'first' ? 8 : 0, exitCode = 0): Sample {
  return { hosts, tool, phase, rep, exitCode, wallMs, cpuMs: wallMs / 2, peakRssBytes: 100_000_000 + rep, peakProcesses: 3, changes };
}

describe('bench report', () => {
  it('takes the median and the range over repetitions', () => {
    expect(spread([3, 1, 2])).to.deep.equal({ median: 2, min: 1, max: 3 });
    expect(spread([4, 1, 3, 2])).to.deep.equal({ median: 2.5, min: 1, max: 4 });
    expect(spread([7])).to.deep.equal({ median: 7, min: 7, max: 7 });
    expect(() => spread([])).to.throw(/no values/);
  });

  it('summarizes per N, tool and phase in a fixed order, whatever order the runs came in', () => {
    const samples = [sample(20, 'floor', 'first', 1, 3000), sample(5, 'drover', 'second', 1, 2000), sample(5, 'drover', 'second', 2, 4000), sample(5, 'drover', 'first', 1, 5000)];
    const summaries = summarize(samples);
    expect(summaries.map((s) => `${s.hosts} ${s.tool} ${s.phase} ${s.runs}`)).to.deep.equal(['5 drover first 1', '5 drover second 2', '20 floor first 1']);
    expect(summaries[1]!.wall).to.deep.equal({ median: 3000, min: 2000, max: 4000 });
  });

  it('names failed runs, first applies that changed nothing and re-runs that changed something', () => {
    const [failed, idle, drifting, fine] = summarize([sample(5, 'drover', 'first', 1, 1000, 8, 2), sample(5, 'drover', 'second', 1, 1000, 0), sample(5, 'ansible', 'first', 1, 1000, 0), sample(5, 'ansible', 'check', 1, 1000, 3)]);
    expect(problems(failed!)).to.deep.equal(['drover first apply at N=5: 1 of 1 run(s) failed']);
    expect(problems(idle!)).to.deep.equal([]);
    expect(problems(drifting!)).to.deep.equal(['ansible first apply at N=5: changed nothing on fresh hosts']);
    expect(problems(fine!)).to.deep.equal(['ansible dry run at N=5: reported changes (3) on prepared hosts']);
  });

  it('renders one table row per summary, with the spread only where runs differ', () => {
    const table = markdownTable(summarize([sample(5, 'drover', 'second', 1, 2000), sample(5, 'drover', 'second', 2, 4000), sample(5, 'floor', 'first', 1, 12_345)]));
    const rows = table.trim().split('\n');
    expect(rows).to.have.length(4);
    expect(rows[2]).to.equal('| 5 | drover | second apply | 3.00 (2.00–4.00) | 1.50 (1.00–2.00) | 100 | 0 | 2 |');
    expect(rows[3]).to.equal('| 5 | floor | first apply | 12.3 | 6.17 | 100 | 8 | 1 |');
  });

  it('states the targets as ratios of medians, met or not', () => {
    const lines = ratioLines(
      summarize([
        sample(20, 'drover', 'second', 1, 1000),
        sample(20, 'ansible', 'second', 1, 25_000),
        sample(20, 'drover', 'check', 1, 1000),
        sample(20, 'ansible', 'check', 1, 10_000),
        sample(20, 'drover', 'first', 1, 3000),
        sample(20, 'floor', 'first', 1, 1000),
        sample(5, 'drover', 'second', 1, 1000),
        sample(5, 'ansible', 'second', 1, 5000),
      ]),
    );
    expect(lines).to.deep.equal([
      'N=5 second apply: drover 5.0× faster than Ansible',
      'N=20 second apply: drover 25.0× faster than Ansible (target ≥ 20×: met)',
      'N=20 dry run: drover 10.0× faster than Ansible (target ≥ 20×: NOT met)',
      "N=20 first apply: drover 3.00× the floor's time (target ≤ 1.5×: NOT met)",
    ]);
  });

  it("guards CI against a regression: drover's first apply above --max-ratio times the floor's (re-runs swing with start-up)", () => {
    const summaries = summarize([sample(5, 'drover', 'first', 1, 5100), sample(5, 'floor', 'first', 1, 1000), sample(5, 'drover', 'second', 1, 4900), sample(5, 'floor', 'second', 1, 1000), sample(5, 'drover', 'check', 1, 9000)]);
    expect(slowerThanFloor(summaries, 5)).to.deep.equal(["drover first apply at N=5: 5.10× the floor's time, above --max-ratio 5"]);
    expect(slowerThanFloor(summaries, 6)).to.deep.equal([]);
    // The second apply at 4.9× and the dry run (no floor to compare) are not judged.
    expect(slowerThanFloor(summaries, 4.8)).to.deep.equal(["drover first apply at N=5: 5.10× the floor's time, above --max-ratio 4.8"]);
  });

  it('takes --max-ratio only as a number ≥ 1, and only with both drover and the floor', () => {
    expect(parseOptions(['--tools', 'drover,floor', '--max-ratio', '5']).maxRatio).to.equal(5);
    expect(parseOptions([]).maxRatio).to.equal(undefined);
    expect(() => parseOptions(['--tools', 'drover,floor', '--max-ratio', 'fast'])).to.throw(/--max-ratio takes a number ≥ 1, got "fast"/);
    expect(() => parseOptions(['--tools', 'drover,floor', '--max-ratio', '0.5'])).to.throw(/--max-ratio takes a number ≥ 1/);
    expect(() => parseOptions(['--tools', 'drover', '--max-ratio', '5'])).to.throw(/--tools must include both/);
    expect(parseOptions(['--join', '/a,b']).join).to.deep.equal(['/a', resolve('b')]);
  });

  it('answers --help with every flag, and an unknown flag with the usage', () => {
    for (const flag of ['--hosts', '--reps', '--tools', '--out', '--keep-lab', '--max-ratio', '--join', '--help']) expect(HELP).to.include(flag);
    expect(() => parseOptions(['--frob'])).to.throw(/Unknown option '--frob'\nusage: npm run bench/);
    const cli = fileURLToPath(new URL('../../bench/cli.ts', import.meta.url));
    const help = spawnSync(process.execPath, ['--import', 'tsx', cli, '--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).to.equal(0);
    expect(help.stdout).to.equal(`${HELP}\n`);
  });

  it('compares no failed run: the ratio says which runs failed instead', () => {
    const summaries = summarize([sample(500, 'drover', 'first', 1, 2000, 8, 4), sample(500, 'floor', 'first', 1, 10_000)]);
    expect(ratioLines(summaries)).to.deep.equal(['N=500 first apply: drover against the floor not comparable (drover: 1 of 1 run(s) failed)']);
    expect(slowerThanFloor(summaries, 1)).to.deep.equal([]);
  });
});
