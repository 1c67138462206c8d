import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { detectFormat } from '../../inventory/format.ts';
import { inventoryGraph } from '../../inventory/graph.ts';
import { inventoryList } from '../../inventory/list.ts';
import { inventoryFromText, loadInventory } from '../../inventory/load.ts';
import { Secret } from '../../runner/secret.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

describe('inventory: YAML and INI read the same', () => {
  it('gives the same hosts, groups, variables, listing and graph for the same content', async () => {
    const ini = await loadInventory(fixture('same/hosts.ini'));
    const yaml = await loadInventory(fixture('same/hosts.yaml'));
    expect(ini.hosts).to.deep.equal(['bastion', 'cp1', 'node01', 'node02', 'node03', 'weba', 'webb']);
    expect(yaml.hosts).to.deep.equal(ini.hosts);
    expect(inventoryList(yaml)).to.deep.equal(inventoryList(ini));
    expect(inventoryGraph(yaml)).to.equal(inventoryGraph(ini));
    for (const host of ini.hosts) {
      expect(yaml.varsFor(host), host).to.deep.equal(ini.varsFor(host));
      expect(yaml.groupsOf(host), host).to.deep.equal(ini.groupsOf(host));
    }
    expect(ini.varsFor('cp1')).to.deep.include({ ansible_port: 2222, ansible_user: 'admin', kube_version: '1.30', max_pods: 110 });
    expect(ini.varsFor('weba')).to.deep.include({ ansible_port: 2200 });
    expect(ini.groups.get('k8s')?.children).to.deep.equal(['k8s_control', 'k8s_workers']);
  });
});

describe('inventory: INI value typing, host line vs [group:vars]', () => {
  // assignment, value on a host line, value in a :vars section (as ansible-core's ini.py does it)
  const CASES: ReadonlyArray<readonly [string, unknown, unknown]> = [
    ['x=2222', 2222, 2222],
    ['x=True', true, true],
    ['x=true', 'true', 'true'],
    ['x=FALSE', 'FALSE', 'FALSE'],
    ['x="123"', 123, '123'],
    [`x="'123'"`, '123', "'123'"],
    [`x='a b'`, 'a b', 'a b'],
    ['x=a#b', 'a', 'a#b'],
    ['x=[1,2]', [1, 2], [1, 2]],
    ['x=10.0.0.5', '10.0.0.5', '10.0.0.5'],
    ['x=', '', ''],
  ];
  for (const [assignment, onHostLine, inVarsSection] of CASES) {
    it(`${assignment}: host line ${JSON.stringify(onHostLine)}, :vars ${JSON.stringify(inVarsSection)}`, () => {
      const hostLine = inventoryFromText(`[g]\nh ${assignment}\n`, 'hosts.ini');
      const varsSection = inventoryFromText(`[g]\nh\n[g:vars]\n${assignment}\n`, 'hosts.ini');
      expect(hostLine.varsFor('h').x).to.deep.equal(onHostLine);
      expect(varsSection.varsFor('h').x).to.deep.equal(inVarsSection);
    });
  }

  it('keeps a password as written and makes it a Secret', () => {
    const inventory = inventoryFromText('[g]\nh ansible_password=0x10 ansible_become_pass="a b#c"\n[g:vars]\nssh_password=123\n', 'hosts.ini');
    const vars = inventory.varsFor('h');
    const reveal = (name: string): string => {
      const value = vars[name];
      if (!(value instanceof Secret)) throw new Error(`${name} is not a Secret`);
      return value.reveal();
    };
    expect(reveal('ansible_password')).to.equal('0x10');
    expect(reveal('ansible_become_pass')).to.equal('a b#c');
    expect(reveal('ssh_password')).to.equal('123');
  });
});

describe('inventory: INI structure', () => {
  it('handles ungrouped hosts, several groups per host, children declared before their group, and all:vars', () => {
    const inventory = inventoryFromText(['lonely', 'both', '[parent:children]', 'child', '[child]', 'both', 'c1:2201', '[other]', 'both', '[all:vars]', 'x=1'].join('\n'), 'hosts');
    expect(inventory.hosts).to.deep.equal(['lonely', 'both', 'c1']);
    expect(inventory.groups.get('ungrouped')?.hosts).to.deep.equal(['lonely']);
    expect(inventory.groups.get('parent')?.children).to.deep.equal(['child']);
    expect(inventory.groups.get('child')?.parents).to.deep.equal(['parent']);
    expect(inventory.groupsOf('both')).to.deep.equal(['all', 'other', 'parent', 'child']);
    expect(inventory.hostsIn('parent')).to.deep.equal(['both', 'c1']);
    expect(inventory.varsFor('c1')).to.deep.equal({ x: 1, ansible_port: 2201 });
  });
});

describe('inventory: YAML structure', () => {
  const yaml = [
    'all:',
    '  hosts:',
    '    lonely:',
    '  children:',
    '    web:',
    '      hosts:',
    '        web1: { http_port: 8080 }',
    '        web2:',
    '      vars: { role: web }',
    '    db:',
    '      hosts: db1',
    '      children:',
    '        web:',
    '    prod:',
    '      children:',
    '        web:',
    '          hosts:',
    '            web3:',
    '        db:',
    '  vars:',
    '    flags: { a: yes, b: y, c: on, d: No }',
    '    day: 2001-12-14',
    '    raw: !unsafe "{{ not_a_template }}"',
    '    sexagesimal: 1:30',
    '    defaults: &defaults { x: 1, y: 2 }',
    '    merged: { <<: *defaults, y: 3 }',
    '    other: &other { z: 4 }',
    '    both:',
    '      <<: *defaults',
    '      <<: *other',
  ].join('\n');

  it('reads null and mapping hosts, nested and repeated groups, a lone host name, YAML 1.1 values', () => {
    const inventory = inventoryFromText(yaml, 'inventory.yaml');
    expect(inventory.hosts).to.deep.equal(['lonely', 'web1', 'web2', 'db1', 'web3']);
    expect(inventory.groups.get('ungrouped')?.hosts).to.deep.equal(['lonely']);
    expect(inventory.groups.get('web')?.parents).to.deep.equal(['all', 'db', 'prod']);
    expect(inventory.groups.get('web')?.hosts).to.deep.equal(['web1', 'web2', 'web3']);
    expect(inventory.hostsIn('prod')).to.deep.equal(['web1', 'web2', 'db1', 'web3']);
    // db is also a child of prod, so it is deeper (2) than prod (1), and web deeper still.
    expect(inventory.groupsOf('web3')).to.deep.equal(['all', 'prod', 'db', 'web']);
    const vars = inventory.varsFor('web1');
    expect(vars).to.deep.include({ http_port: 8080, role: 'web', day: '2001-12-14', raw: '{{ not_a_template }}', sexagesimal: 90 });
    expect(vars.flags).to.deep.equal({ a: true, b: 'y', c: true, d: false });
    expect(vars.merged).to.deep.equal({ x: 1, y: 3 });
    // Merge keys may repeat (drover finds repeated keys itself now, with a set: see yaml-file.ts).
    expect(vars.both).to.deep.equal({ x: 1, y: 2, z: 4 });
  });

  it('freezes variables so one host cannot change what another sees', () => {
    const inventory = inventoryFromText(yaml, 'inventory.yaml');
    const flags = inventory.varsFor('web1').flags;
    expect(Object.isFrozen(flags)).to.equal(true);
    expect(Object.isFrozen(inventory.varsFor('web1'))).to.equal(true);
  });

  it('treats hosts listed only under all as ungrouped, and a group key other than all at the top', () => {
    const inventory = inventoryFromText('web:\n  hosts:\n    w1:\nall:\n  hosts:\n    a1:\n', 'inv.yml');
    expect(inventory.groups.get('all')?.children).to.deep.equal(['ungrouped', 'web']);
    expect(inventory.groups.get('ungrouped')?.hosts).to.deep.equal(['a1']);
  });
});

describe('inventory: format detection', () => {
  const CASES: ReadonlyArray<readonly [string, string, 'yaml' | 'ini']> = [
    ['inventory.yaml', '[web]\nw1\n', 'yaml'],
    ['inventory.yml', '', 'yaml'],
    ['inventory.json', '{}', 'yaml'],
    ['hosts.ini', 'all:\n', 'ini'],
    ['hosts', '# comment\n\nall:\n  hosts:\n', 'yaml'],
    ['hosts', '---\nall:\n', 'yaml'],
    ['hosts', '"web":\n', 'yaml'],
    ['hosts', '[web]\nw1\n', 'ini'],
    ['hosts', 'w1 ansible_host=10.0.0.1\n', 'ini'],
    ['hosts', 'w1:2222\n', 'ini'],
    ['hosts', '; comment\nw1\n', 'ini'],
    ['hosts', '', 'ini'],
  ];
  for (const [path, text, format] of CASES) {
    it(`${path} ${JSON.stringify(text.slice(0, 20))} → ${format}`, () => {
      expect(detectFormat(path, text)).to.equal(format);
    });
  }
});
