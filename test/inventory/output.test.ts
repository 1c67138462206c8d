import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { inventoryGraph } from '../../inventory/graph.ts';
import { inventoryListJson } from '../../inventory/list.ts';
import { inventoryFromText, loadInventory } from '../../inventory/load.ts';
import { MASK } from '../../runner/secret.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

const inventory = inventoryFromText(
  [
    'bastion ansible_host=203.0.113.10 ansible_password=hunter2',
    '[k8s_control]',
    'cp1 ansible_port=2222',
    '[k8s_workers]',
    'node[1:2]',
    '[k8s:children]',
    'k8s_control',
    'k8s_workers',
    '[k8s:vars]',
    'pod_cidr=10.244.0.0/16',
    '[empty]',
  ].join('\n'),
  'hosts.ini',
);

describe('inventory: --graph', () => {
  it('draws the group tree as ansible-inventory --graph', () => {
    expect(inventoryGraph(inventory)).to.equal(
      ['@all:', '  |--@ungrouped:', '  |  |--bastion', '  |--@k8s:', '  |  |--@k8s_control:', '  |  |  |--cp1', '  |  |--@k8s_workers:', '  |  |  |--node1', '  |  |  |--node2', '  |--@empty:'].join('\n'),
    );
  });

  it('draws only the given hosts, or one subtree', () => {
    expect(inventoryGraph(inventory, ['node2'], 'k8s')).to.equal(['@k8s:', '  |--@k8s_control:', '  |--@k8s_workers:', '  |  |--node2'].join('\n'));
    expect(() => inventoryGraph(inventory, inventory.hosts, 'nope')).to.throw(/group 'nope' is not in the inventory/);
  });
});

describe('inventory: --list', () => {
  it('prints the JSON of ansible-inventory --list, keys sorted, secrets masked', () => {
    const text = inventoryListJson(inventory);
    expect(text).to.not.include('hunter2');
    expect(JSON.parse(text)).to.deep.equal({
      _meta: {
        hostvars: {
          bastion: { ansible_host: '203.0.113.10', ansible_password: MASK },
          cp1: { ansible_port: 2222, pod_cidr: '10.244.0.0/16' },
          node1: { pod_cidr: '10.244.0.0/16' },
          node2: { pod_cidr: '10.244.0.0/16' },
        },
      },
      all: { children: ['ungrouped', 'k8s', 'empty'] },
      k8s: { children: ['k8s_control', 'k8s_workers'] },
      k8s_control: { hosts: ['cp1'] },
      k8s_workers: { hosts: ['node1', 'node2'] },
      ungrouped: { hosts: ['bastion'] },
    });
    // Sorted keys and a 4-space indent, as Ansible's json.dumps(sort_keys=True, indent=4).
    expect(text.split('\n').slice(0, 4)).to.deep.equal(['{', '    "_meta": {', '        "hostvars": {', '            "bastion": {']);
    const topKeys = [...text.matchAll(/^ {4}"([^"]+)"/gm)].map((match) => match[1]);
    expect(topKeys).to.deep.equal(['_meta', 'all', 'k8s', 'k8s_control', 'k8s_workers', 'ungrouped']);
  });

  it('lists only the hosts --limit selected', () => {
    expect(JSON.parse(inventoryListJson(inventory, ['cp1']))).to.deep.equal({
      _meta: { hostvars: { cp1: { ansible_port: 2222, pod_cidr: '10.244.0.0/16' } } },
      all: { children: ['ungrouped', 'k8s', 'empty'] },
      k8s: { children: ['k8s_control', 'k8s_workers'] },
      k8s_control: { hosts: ['cp1'] },
    });
  });

  it('masks group_vars passwords too', async () => {
    const text = inventoryListJson(await loadInventory(fixture('dirs/inventory.yaml')));
    expect(text).to.not.include('s3cret');
    expect(JSON.parse(text)._meta.hostvars.cp1.ansible_become_password).to.equal(MASK);
  });
});
