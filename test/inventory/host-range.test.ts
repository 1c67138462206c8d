import { expect } from 'chai';
import { InventoryError } from '../../inventory/errors.ts';
import { parseHostEntry } from '../../inventory/host-range.ts';

const AT = { file: 'hosts.ini', line: 7 };

const CASES: ReadonlyArray<readonly [string, string[], number?]> = [
  ['web1', ['web1']],
  ['web1:2222', ['web1'], 2222],
  ['10.0.0.5:22', ['10.0.0.5'], 22],
  ['node[01:03]', ['node01', 'node02', 'node03']],
  ['node[1:3]', ['node1', 'node2', 'node3']],
  ['node[:2]', ['node0', 'node1', 'node2']],
  ['node[01:10:3]', ['node01', 'node04', 'node07', 'node10']],
  ['web[a:c]', ['weba', 'webb', 'webc']],
  ['web[y:B]', ['weby', 'webz', 'webA', 'webB']],
  ['node[8:11].lab', ['node8.lab', 'node9.lab', 'node10.lab', 'node11.lab']],
  ['r[1:2]-n[a:b]', ['r1-na', 'r1-nb', 'r2-na', 'r2-nb']],
  ['node[01:02]:2200', ['node01', 'node02'], 2200],
  ['::1', ['::1']],
  ['fe80::1:2', ['fe80::1:2']],
  ['[2001:db8::5]:2222', ['2001:db8::5'], 2222],
];

describe('inventory: host entries and ranges', () => {
  for (const [entry, names, port] of CASES) {
    it(`${entry} → ${names.join(' ')}${port ? ` port ${port}` : ''}`, () => {
      const parsed = parseHostEntry(entry, AT);
      expect(parsed.names).to.deep.equal(names);
      expect(parsed.port).to.equal(port);
    });
  }

  const BAD: ReadonlyArray<readonly [string, RegExp]> = [
    ['node[3:1]', /begin 3 is greater than end 1/],
    ['web[c:a]', /begin 'c' comes after end 'a'/],
    ['node[01:100]', /same number of digits/],
    ['node[1:]', /must give an end value/],
    ['node[1:2:3:4]', /begin:end or begin:end:step/],
    ['node[1:5:0]', /step '0'/],
    ['node[a:5]', /both be numbers or both be single letters/],
    ['node[1:3', /without a closing/],
    ['node[0:9999999]', /more than 100000 hosts/],
    ['web1:99999', /outside 1-65535/],
    ['web1:ssh', /not followed by a port number/],
    [':22', /no host name/],
    ['---', /YAML document/],
  ];
  for (const [entry, problem] of BAD) {
    it(`refuses ${entry}, naming file and line`, () => {
      expect(() => parseHostEntry(entry, AT))
        .to.throw(InventoryError, problem)
        .with.property('message')
        .that.matches(/^hosts\.ini:7: /);
    });
  }
});
