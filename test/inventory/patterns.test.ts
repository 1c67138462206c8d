import { expect } from 'chai';
import { HostPatternError } from '../../inventory/errors.ts';
import { inventoryFromText } from '../../inventory/load.ts';
import { limitHosts, selectHosts, splitPattern } from '../../inventory/patterns.ts';

const inventory = inventoryFromText(['[k8s_control]', 'cp1', '[k8s_workers]', 'node[01:03]', '[web]', 'web-1', 'web-2', 'web10', '[db]', 'db1', 'node03', '[k8s:children]', 'k8s_control', 'k8s_workers', '[empty]'].join('\n'), 'hosts.ini');
const ALL_HOSTS = ['cp1', 'node01', 'node02', 'node03', 'web-1', 'web-2', 'web10', 'db1'];

describe('inventory: host patterns', () => {
  const CASES: ReadonlyArray<readonly [string, string[]]> = [
    ['all', ALL_HOSTS],
    ['*', ALL_HOSTS],
    ['k8s', ['cp1', 'node01', 'node02', 'node03']],
    ['cp1', ['cp1']],
    ['node*', ['node01', 'node02', 'node03']],
    ['web-?', ['web-1', 'web-2']],
    ['*1', ['cp1', 'node01', 'web-1', 'db1']],
    ['~web\\d+', ['web10']],
    ['~node0[12]', ['node01', 'node02']],
    ['~n', ['node01', 'node02', 'node03']],
    ['web:db', ['node03', 'web-1', 'web-2', 'web10', 'db1']],
    ['web,db', ['node03', 'web-1', 'web-2', 'web10', 'db1']],
    ['db:web', ['node03', 'web-1', 'web-2', 'web10', 'db1']],
    ['k8s , web-1', ['cp1', 'node01', 'node02', 'node03', 'web-1']],
    ['k8s:&db', ['node03']],
    ['k8s:!db', ['cp1', 'node01', 'node02']],
    ['!db', ['cp1', 'node01', 'node02', 'web-1', 'web-2', 'web10']],
    ['&k8s_workers', ['node01', 'node02', 'node03']],
    // Unions, then intersections, then exclusions, wherever they are written.
    ['k8s:!db:&k8s_workers', ['node01', 'node02']],
    ['!db:&k8s_workers:k8s', ['node01', 'node02']],
    ['k8s_workers[0]', ['node01']],
    ['k8s_workers[-1]', ['node03']],
    ['k8s_workers[1:]', ['node02', 'node03']],
    ['k8s_workers[0:1]', ['node01', 'node02']],
    ['node0[!3]', ['node01', 'node02']],
    ['localhost', ['localhost']],
    ['web:localhost', ['web-1', 'web-2', 'web10', 'localhost']],
  ];
  for (const [pattern, hosts] of CASES) {
    it('a name that is both a host and a group selects the group, as in Ansible, and the inventory warns', () => {
      const clash = inventoryFromText(['web', 'all', 'solo', '[web]', 'h3', 'web'].join('\n'), 'clash.ini');
      expect(selectHosts(clash, 'web')).to.deep.equal(['web', 'h3']);
      expect(selectHosts(clash, 'all')).to.deep.equal(['web', 'all', 'solo', 'h3']);
      expect(selectHosts(clash, 'solo')).to.deep.equal(['solo']);
      expect(clash.warnings).to.deep.equal([
        "'web' is both a host and a group: a pattern naming it selects the group's hosts (rename one of them to select the host alone)",
        "'all' is both a host and a group: a pattern naming it selects the group's hosts (rename one of them to select the host alone)",
      ]);
    });

    it(`${pattern} → ${hosts.join(' ')}`, () => {
      expect(selectHosts(inventory, pattern)).to.deep.equal(hosts);
    });
  }

  const ERRORS: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['typo', 'typo', /'typo' in host pattern 'typo' matches no host and no group/],
    ['all:!dbz', 'dbz', /'dbz' .* matches no host and no group/],
    ['k8s:&nope*', 'nope*', /matches no host and no group/],
    ['~eb', '~eb', /matches no host and no group/],
    ['~web[', '~web[', /not a valid regular expression/],
    ['k8s_workers[5]', 'k8s_workers[5]', /index 5 is beyond the 3 matching host/],
    ['node0[12]', 'node0[12]', /read as a subscript of 'node0'/],
    ['web:&db', 'web:&db', /selects no hosts/],
    ['web:&', '&', /has an empty term/],
    ['empty', 'empty', /selects no hosts/],
    ['ungrouped', 'ungrouped', /selects no hosts/],
    ['', '', /is empty/],
  ];
  for (const [pattern, term, problem] of ERRORS) {
    it(`refuses ${JSON.stringify(pattern)} and lists the groups`, () => {
      expect(() => selectHosts(inventory, pattern))
        .to.throw(HostPatternError, problem)
        .that.satisfies((error: HostPatternError) => error.term === term && error.message.includes('Groups in hosts.ini: all, ungrouped, k8s_control, k8s_workers, web, db, k8s, empty.'));
    });
  }

  // A pattern that cannot be read is an error wherever it is written; one that selects nothing here may be a play to skip.
  const PROBLEMS: ReadonlyArray<readonly [string, 'invalid' | 'no-match']> = [
    ['~web[', 'invalid'],
    ['~dead(', 'invalid'],
    ['web:&', 'invalid'],
    ['typo:&', 'invalid'],
    ['web:!', 'invalid'],
    ['', 'invalid'],
    ['typo', 'no-match'],
    ['all:!dbz', 'no-match'],
    ['k8s_workers[5]', 'no-match'],
  ];
  for (const [pattern, problem] of PROBLEMS) {
    it(`${JSON.stringify(pattern)} is ${problem}`, () => {
      expect(() => selectHosts(inventory, pattern, { allowEmpty: true }))
        .to.throw(HostPatternError)
        .with.property('problem', problem);
    });
  }

  it('returns [] for an empty group when asked to, but still refuses unknown names', () => {
    expect(selectHosts(inventory, 'empty', { allowEmpty: true })).to.deep.equal([]);
    expect(() => selectHosts(inventory, 'typo', { allowEmpty: true })).to.throw(HostPatternError);
  });
});

describe('inventory: --limit', () => {
  it('narrows a selection, keeping its order', () => {
    expect(limitHosts(inventory, selectHosts(inventory, 'k8s'), 'node0*')).to.deep.equal(['node01', 'node02', 'node03']);
    expect(limitHosts(inventory, ALL_HOSTS, 'db:!node03')).to.deep.equal(['db1']);
    expect(limitHosts(inventory, ['node03', 'cp1'], 'k8s')).to.deep.equal(['node03', 'cp1']);
  });

  it('refuses a limit that leaves nothing, unless empty is allowed', () => {
    expect(() => limitHosts(inventory, selectHosts(inventory, 'k8s'), 'web')).to.throw(HostPatternError, /leaves none of the 4 selected/);
    expect(limitHosts(inventory, selectHosts(inventory, 'k8s'), 'web', { allowEmpty: true })).to.deep.equal([]);
    expect(() => limitHosts(inventory, ALL_HOSTS, '@retry.txt')).to.throw(HostPatternError, /names a file/);
    expect(() => limitHosts(inventory, ALL_HOSTS, 'wbe')).to.throw(HostPatternError, /'wbe'/);
  });
});

describe('inventory: splitting patterns', () => {
  const CASES: ReadonlyArray<readonly [string, string[]]> = [
    ['a:b', ['a', 'b']],
    ['a:&b:!c', ['a', '&b', '!c']],
    ['a,b:c', ['a', 'b:c']],
    [' a , b ', ['a', 'b']],
    ['node[1:3]', ['node[1:3]']],
    ['node[1:3]:web', ['node[1:3]', 'web']],
    ['::1', ['::1']],
    ['fe80::1', ['fe80::1']],
    ['~web\\d+:db', ['~web\\d+', 'db']],
    ['~web[', ['~web[']],
  ];
  for (const [pattern, terms] of CASES) {
    it(`${pattern} → ${JSON.stringify(terms)}`, () => {
      expect(splitPattern(pattern)).to.deep.equal(terms);
    });
  }
});

describe('inventory: no inventory file', () => {
  it('offers only the implicit localhost, connected locally', async () => {
    const { loadInventory, NO_INVENTORY } = await import('../../inventory/load.ts');
    const none = await loadInventory();
    expect(none.file).to.equal(NO_INVENTORY);
    expect(none.hostNames()).to.deep.equal([]);
    expect(selectHosts(none, 'localhost')).to.deep.equal(['localhost']);
    expect(none.varsFor('localhost')).to.deep.equal({ ansible_connection: 'local' });
    expect(() => selectHosts(none, 'all')).to.throw(HostPatternError, /selects no hosts/);
    expect(() => none.varsFor('web1')).to.throw(/host 'web1' is not in the inventory/);
  });
});
