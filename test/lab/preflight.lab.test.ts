import { expect } from 'chai';
import { labProblems } from '../../lab/preflight.ts';

describe('lab/preflight', () => {
  const everything = () => true;

  it('finds nothing wrong for root with every program', () => {
    expect(labProblems({ uid: 0, has: everything })).to.deep.equal([]);
  });

  it('says root is needed', () => {
    expect(labProblems({ uid: 1000, has: everything })).to.deep.equal(['the lab needs root (network namespaces, mounts, systemd-nspawn): run as root']);
  });

  it('names missing programs and the packages that bring them', () => {
    const problems = labProblems({ uid: 0, has: (program) => program !== 'systemd-nspawn' && program !== 'mmdebstrap' });
    expect(problems).to.deep.equal(['missing systemd-nspawn, mmdebstrap: run `bash .ci/lab-prereqs.sh` (apt-get install systemd-container mmdebstrap)']);
  });

  it('lists every problem at once', () => {
    expect(labProblems({ uid: 1000, has: () => false })).to.have.length(2);
  });
});
