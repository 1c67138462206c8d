import { expect } from 'chai';
import { hostNameOfMachine, hostSlot, hostSlots, indexOfName, labNetwork, MAX_HOSTS } from '../../lab/addressing.ts';

describe('lab/addressing', () => {
  // The default lab, whatever DROVER_LAB_INSTANCE this test process runs with.
  const lab0 = labNetwork(0);
  const cases: Array<[number, string, string, string, string]> = [
    [1, 'lab-1', '10.231.0.11', 'drover-lab-1', 'drover-h1'],
    [3, 'lab-3', '10.231.0.13', 'drover-lab-3', 'drover-h3'],
    [100, 'lab-100', '10.231.0.110', 'drover-lab-100', 'drover-h100'],
    [245, 'lab-245', '10.231.0.255', 'drover-lab-245', 'drover-h245'],
    [246, 'lab-246', '10.231.1.0', 'drover-lab-246', 'drover-h246'],
    [500, 'lab-500', '10.231.1.254', 'drover-lab-500', 'drover-h500'],
  ];
  for (const [index, name, address, netns, veth] of cases) {
    it(`host ${index} → ${name} ${address}`, () => {
      const slot = hostSlot(index, lab0);
      expect([slot.name, slot.address, slot.netns, slot.vethOutside]).to.deep.equal([name, address, netns, veth]);
    });
  }

  it('keeps interface names within the kernel limit of 15 bytes for the largest host number', () => {
    const slot = hostSlot(MAX_HOSTS, lab0);
    expect(slot.vethOutside.length).to.be.at.most(15);
    expect(slot.vethInside.length).to.be.at.most(15);
    expect(slot.address).to.equal('10.231.255.254');
  });

  it('gives every host a distinct address', () => {
    const addresses = hostSlots(1000, lab0).map((slot) => slot.address);
    expect(new Set(addresses).size).to.equal(1000);
    expect(addresses).to.not.include('10.231.0.1');
  });

  it('keeps a second lab instance apart: its own subnet, bridge, namespaces, links and machine names', () => {
    const lab2 = labNetwork(2);
    const slot = hostSlot(1, lab2);
    expect([slot.name, slot.machine, slot.address, slot.netns, slot.vethOutside]).to.deep.equal(['lab-1', 'drover2-lab-1', '10.233.0.11', 'drover2-lab-1', 'drover2-h1']);
    expect([lab2.bridge, lab2.gateway]).to.deep.equal(['drover2-br0', '10.233.0.1']);
    expect(hostSlot(MAX_HOSTS, labNetwork(9)).vethOutside.length).to.be.at.most(15);
    // Names of one lab never start with another's prefix, so `down` in one leaves the other alone.
    expect(slot.netns.startsWith(lab0.prefix)).to.equal(false);
    expect(hostSlot(1, lab0).machine).to.equal('lab-1');
    expect(hostNameOfMachine('drover2-lab-1', lab2)).to.equal('lab-1');
    expect(hostNameOfMachine('lab-1', lab2)).to.equal(undefined);
    expect(hostNameOfMachine('lab-1', lab0)).to.equal('lab-1');
  });

  for (const bad of [0, -1, 1.5, MAX_HOSTS + 1, Number.NaN]) {
    it(`refuses host number ${bad}`, () => {
      expect(() => hostSlot(bad)).to.throw(RangeError, /lab host number/);
    });
  }

  const names: Array<[string, number | undefined]> = [
    ['lab-1', 1],
    ['lab-42', 42],
    ['lab-0', undefined],
    ['lab-01', undefined],
    ['drover-lab-1', undefined],
    ['web-1', undefined],
  ];
  for (const [name, index] of names) {
    it(`reads the host number of ${name} as ${index}`, () => expect(indexOfName(name)).to.equal(index));
  }
});
