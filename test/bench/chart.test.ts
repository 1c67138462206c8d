import { expect } from 'chai';
import { decades, renderChart } from '../../bench/chart.ts';
import { summarize, type Sample } from '../../bench/report.ts';
import type { Phase, Tool } from '../../bench/tools.ts';

function sample(hosts: number, tool: Tool, phase: Phase, wallMs: number): Sample {
  return { hosts, tool, phase, rep: 1, exitCode: 0, wallMs, cpuMs: 1, peakRssBytes: 1, peakProcesses: 1, changes: phase === 'first' ? 1 : 0 };
}

/** The circles' centres, by their tooltip text. */
function points(svg: string): Map<string, { x: number; y: number }> {
  const found = new Map<string, { x: number; y: number }>();
  for (const match of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*><title>([^<]+)<\/title>/g)) {
    found.set(match[3]!.replace(/:.*/, ''), { x: Number(match[1]), y: Number(match[2]) });
  }
  return found;
}

describe('bench chart', () => {
  it('spans whole decades, at least one', () => {
    expect(decades(0.5, 40)).to.deep.equal([0.1, 1, 10, 100]);
    expect(decades(2, 3)).to.deep.equal([1, 10]);
  });

  it('draws every tool of every phase on log-log axes: ten times slower is one decade up, four times the hosts the same step right each time', () => {
    const samples: Sample[] = [];
    for (const phase of ['first', 'second', 'check'] as const) {
      samples.push(sample(5, 'floor', phase, 1000), sample(20, 'floor', phase, 2000), sample(80, 'floor', phase, 4000));
      samples.push(sample(5, 'ansible', phase, 10_000), sample(20, 'ansible', phase, 20_000), sample(80, 'ansible', phase, 40_000));
    }
    const svg = renderChart(summarize(samples), 'title <&>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    expect(svg).to.contain('title &lt;&amp;&gt;');
    const at = points(svg);
    expect(at.size).to.equal(18);
    const floor5 = at.get('floor first apply, 5 hosts')!;
    const floor20 = at.get('floor first apply, 20 hosts')!;
    const floor80 = at.get('floor first apply, 80 hosts')!;
    const ansible5 = at.get('ansible first apply, 5 hosts')!;
    expect(floor20.x - floor5.x).to.be.closeTo(floor80.x - floor20.x, 0.2);
    expect(ansible5.x).to.equal(floor5.x);
    // 1 s → 10 s: one decade; 1 s → 2 s: log10(2) of a decade.
    const decade = floor5.y - ansible5.y;
    expect(decade).to.be.greaterThan(0);
    expect(floor5.y - floor20.y).to.be.closeTo(decade * Math.log10(2), 0.2);
    // every drawn coordinate lies inside the picture
    const [, width, height] = svg.match(/viewBox="0 0 (\d+) (\d+)"/)!.map(Number) as [string, number, number];
    for (const { x, y } of at.values()) {
      expect(x % 300).to.be.within(0, 300);
      expect(y).to.be.within(0, height);
      expect(x).to.be.within(0, width);
    }
  });

  it('draws a single N without dividing by zero', () => {
    const svg = renderChart(summarize([sample(5, 'drover', 'first', 3000), sample(5, 'floor', 'first', 1000)]), 't');
    expect(svg).not.to.match(/NaN|Infinity/);
    expect(points(svg).size).to.equal(2);
  });
});
