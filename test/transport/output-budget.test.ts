import { expect } from 'chai';
import { CappedOutput } from '../../runner/transport/capped-output.ts';
import { OutputBudget } from '../../runner/transport/output-budget.ts';

const bytes = (n: number, fill = 'x') => Buffer.alloc(n, fill);

describe('run-wide output budget (--max-output)', () => {
  it('caps what all streams keep together, and says which limit cut the text', () => {
    const budget = new OutputBudget(1000, 100);
    const a = new CappedOutput(10_000, budget);
    const b = new CappedOutput(10_000, budget);
    a.push(bytes(800, 'a'));
    b.push(bytes(800, 'b'));
    expect(budget.used).to.equal(1000);
    expect(a.truncated).to.equal(false);
    expect(b.dropped).to.equal(600);
    expect(b.text()).to.equal(`${'b'.repeat(200)}\n[drover: output truncated: kept the first 200 bytes, dropped 600 more (the run's output limit, --max-output 1000 bytes, was reached)]`);
  });

  it('lets every stream keep its floor even when the budget is spent, so probes are not starved', () => {
    const budget = new OutputBudget(1000, 100);
    new CappedOutput(10_000, budget).push(bytes(5000));
    const probe = new CappedOutput(10_000, budget);
    probe.push(bytes(60, 'p'));
    expect(probe.truncated).to.equal(false);
    probe.push(bytes(60, 'q'));
    expect(probe.text()).to.match(/^p{60}q{40}\n\[drover: output truncated: kept the first 100 bytes, dropped 20 more/);
  });

  it('gets bytes back when a stream is released, and a cut stream never keeps later bytes (no holes)', () => {
    const budget = new OutputBudget(1000, 0);
    const first = new CappedOutput(10_000, budget);
    const second = new CappedOutput(10_000, budget);
    first.push(bytes(1000));
    second.push(bytes(10, 's'));
    expect(second.dropped).to.equal(10);
    first.release();
    expect(budget.used).to.equal(0);
    second.push(bytes(10, 't'));
    expect(second.text()).to.equal("\n[drover: output truncated: kept the first 0 bytes, dropped 20 more (the run's output limit, --max-output 1000 bytes, was reached)]");
    const third = new CappedOutput(10_000, budget);
    third.push(bytes(500, 'z'));
    expect(third.text()).to.equal('z'.repeat(500));
  });

  it('keeps the per-stream limit and its note when the run has room', () => {
    const out = new CappedOutput(10, new OutputBudget(1000, 0));
    out.push(bytes(25));
    expect(out.text()).to.equal(`${'x'.repeat(10)}\n[drover: output truncated: kept the first 10 bytes, dropped 15 more]`);
  });
});
