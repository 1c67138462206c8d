import { expect } from 'chai';
import { parseState, type LabState } from '../../lab/state.ts';

const state: LabState = {
  rootfsKey: 'a2bfe6d4aaa34116',
  aptRepo: '/var/cache/drover-lab/apt-repo-1',
  inventory: '/repo/.lab/inventory.yaml',
  knownHosts: '/repo/.lab/known_hosts',
  key: '/repo/.lab/id_ed25519',
  hosts: [{ name: 'lab-1', address: '10.231.0.11', pid: 42, netns: 'drover-lab-1', root: '/var/lib/drover-lab/hosts/lab-1/root', log: '/repo/.lab/logs/lab-1.log' }],
};

describe('lab/state', () => {
  it('reads back what it wrote', () => {
    expect(parseState(JSON.parse(JSON.stringify(state)))).to.deep.equal(state);
  });

  const broken: Array<[string, unknown, RegExp]> = [
    ['not an object', [], /hosts.json is not an object/],
    ['hosts missing', { ...state, hosts: undefined }, /"hosts" is not a list/],
    ['pid as text', { ...state, hosts: [{ ...state.hosts[0], pid: '42' }] }, /host #1: "pid" is not a number/],
    ['address missing', { ...state, hosts: [{ ...state.hosts[0], address: undefined }] }, /"address" is not a string/],
  ];
  for (const [what, value, message] of broken) {
    it(`refuses a state with ${what}`, () => expect(() => parseState(value)).to.throw(message));
  }
});
