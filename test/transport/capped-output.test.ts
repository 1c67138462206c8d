import { expect } from 'chai';
import { CappedOutput } from '../../runner/transport/capped-output.ts';

describe('transport/capped-output', () => {
  it('keeps everything under the limit, decoding characters split across chunks', () => {
    const output = new CappedOutput(100);
    const check = Buffer.from('✓');
    output.push(check.subarray(0, 1));
    output.push(check.subarray(1));
    expect(output.text()).to.equal('✓');
    expect(output.truncated).to.equal(false);
  });

  it('keeps exactly the limit and says how much it dropped', () => {
    const output = new CappedOutput(10);
    output.push(Buffer.from('12345678'));
    output.push(Buffer.from('9abcdef'));
    output.push(Buffer.from('ghij'));
    expect(output.truncated).to.equal(true);
    expect(output.text()).to.equal('123456789a\n[drover: output truncated: kept the first 10 bytes, dropped 9 more]');
  });
});
