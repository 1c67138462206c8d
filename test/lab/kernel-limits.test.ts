import { expect } from 'chai';
import { requiredLimits } from '../../lab/kernel-limits.ts';

describe('lab/kernel-limits', () => {
  it('asks for more inotify instances than the default 128 well before 25 hosts', () => {
    const [instances] = requiredLimits(20);
    expect(instances).to.deep.equal({ key: 'fs/inotify/max_user_instances', minimum: 448 });
  });

  it('grows with the number of hosts', () => {
    const small = requiredLimits(3).map((limit) => limit.minimum);
    const large = requiredLimits(500).map((limit) => limit.minimum);
    for (const [index, value] of small.entries()) expect(large[index]).to.be.greaterThan(value);
  });
});
