import { expect } from 'chai';
import { join } from 'node:path';
import { loadInventory } from '../../inventory/load.ts';
import { removeTree, writeTree } from './tree.ts';

type Place = 'inventory all' | 'inventory parent' | 'inventory child' | 'inventory host' | 'group_vars/all' | 'group_vars/prod' | 'group_vars/web' | 'host_vars/w1';

/**
 * w1 is in web, a child of prod (all → prod → web). `v` is set to the name of each place in the row; the
 * winner is what Ansible's default precedence gives.
 */
const TABLE: ReadonlyArray<readonly [readonly Place[], Place]> = [
  [['inventory all', 'inventory parent'], 'inventory parent'],
  [['inventory all', 'inventory parent', 'inventory child'], 'inventory child'],
  [['inventory child', 'inventory parent'], 'inventory child'],
  [['inventory child', 'inventory host'], 'inventory host'],
  [['inventory all', 'group_vars/all'], 'group_vars/all'],
  [['group_vars/all', 'group_vars/prod'], 'group_vars/prod'],
  [['group_vars/prod', 'group_vars/web'], 'group_vars/web'],
  [['group_vars/web', 'inventory parent'], 'group_vars/web'],
  // As Ansible: every group_vars/ file beats every group variable written in the inventory file.
  [['inventory child', 'group_vars/all'], 'group_vars/all'],
  [['group_vars/web', 'inventory host'], 'inventory host'],
  [['inventory host', 'host_vars/w1'], 'host_vars/w1'],
  [['inventory all', 'inventory parent', 'inventory child', 'inventory host', 'group_vars/all', 'group_vars/prod', 'group_vars/web', 'host_vars/w1'], 'host_vars/w1'],
];

function tree(places: readonly Place[]): Record<string, string> {
  const set = (place: Place): string => (places.includes(place) ? `v='${place}'` : '');
  const files: Record<string, string> = {
    'hosts.ini': [`[web]`, `w1 ${set('inventory host')}`, `[prod:children]`, `web`, `[prod:vars]`, set('inventory parent'), `[web:vars]`, set('inventory child'), `[all:vars]`, set('inventory all')].join('\n'),
  };
  for (const place of places) if (place.includes('/')) files[`${place}.yml`] = `v: '${place}'\n`;
  return files;
}

describe('inventory: variable precedence', () => {
  const roots: string[] = [];
  after(async () => {
    for (const root of roots) await removeTree(root);
  });

  const load = async (files: Record<string, string>, name = 'hosts.ini') => {
    const root = await writeTree(files);
    roots.push(root);
    return loadInventory(join(root, name));
  };

  for (const [places, winner] of TABLE) {
    it(`${places.join(' + ')} → ${winner}`, async () => {
      const inventory = await load(tree(places));
      expect(inventory.varsFor('w1').v).to.equal(winner);
    });
  }

  it('merges groups of the same depth alphabetically, unless ansible_group_priority says otherwise', async () => {
    const files = (priority: string): Record<string, string> => ({
      'hosts.ini': `[db]\nboth\n[web]\nboth\n[db:vars]\nv=db\n${priority}\n[web:vars]\nv=web\n`,
      'group_vars/db.yml': 'f: db\n',
      'group_vars/web.yml': 'f: web\n',
    });
    const plain = await load(files(''));
    expect(plain.varsFor('both')).to.deep.include({ v: 'web', f: 'web' });
    const prioritised = await load(files('ansible_group_priority=10'));
    expect(prioritised.groups.get('db')?.priority).to.equal(10);
    expect(prioritised.varsFor('both')).to.deep.include({ v: 'db', f: 'db' });
  });

  it('ignores ansible_group_priority in group_vars/, as Ansible does', async () => {
    const inventory = await load({
      'hosts.ini': '[db]\nboth\n[web]\nboth\n',
      'group_vars/db.yml': 'v: db\nansible_group_priority: 10\n',
      'group_vars/web.yml': 'v: web\n',
    });
    expect(inventory.groups.get('db')?.priority).to.equal(1);
    expect(inventory.varsFor('both').v).to.equal('web');
  });

  it('replaces a mapping or list whole instead of merging it (hash_behaviour=replace)', async () => {
    const inventory = await load({
      'hosts.ini': "[web]\nw1\n[all:vars]\nm={'a': 1, 'b': 2}\nl=[1, 2]\n",
      'group_vars/web.yml': 'm: { c: 3 }\nl: [3]\n',
    });
    expect(inventory.varsFor('w1')).to.deep.include({ m: { c: 3 }, l: [3] });
  });

  it('lets the later of two definitions in one file win, for hosts and groups', async () => {
    const inventory = await load({ 'hosts.ini': '[web]\nw1 v=1\n[db]\nw1 v=2\n[web:vars]\ng=1\ng=2\n' });
    expect(inventory.varsFor('w1')).to.deep.include({ v: 2, g: 2 });
  });

  it('reports where each layer comes from, lowest first', async () => {
    const inventory = await load(tree(['inventory all', 'inventory parent', 'inventory child', 'inventory host', 'group_vars/all', 'group_vars/prod', 'group_vars/web', 'host_vars/w1']));
    const labels = inventory.varSourcesFor('w1').map((source) => source.label.replace(/^.*drover-inventory-[^/]+\//, ''));
    expect(labels).to.deep.equal(['hosts.ini: group all', 'hosts.ini: group prod', 'hosts.ini: group web', 'group_vars/all.yml', 'group_vars/prod.yml', 'group_vars/web.yml', 'hosts.ini: host w1', 'host_vars/w1.yml']);
  });
});
