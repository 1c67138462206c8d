import { expect } from 'chai';
import { parse } from 'yaml';
import { renderInventory } from '../../lab/inventory.ts';

const options = { keyFile: '/repo/.lab/id_ed25519', knownHostsFile: '/repo/.lab/known_hosts' };

describe('lab/inventory', () => {
  it('puts the first host in control_plane and the rest in workers, all under k8s', () => {
    const text = renderInventory(
      [
        { name: 'lab-1', address: '10.231.0.11' },
        { name: 'lab-2', address: '10.231.0.12' },
        { name: 'lab-3', address: '10.231.0.13' },
      ],
      options,
    );
    expect(parse(text)).to.deep.equal({
      all: {
        vars: {
          drover_known_hosts_file: '/repo/.lab/known_hosts',
          ansible_ssh_common_args: '-o UserKnownHostsFile=/repo/.lab/known_hosts -o StrictHostKeyChecking=yes',
          ansible_python_interpreter: '/usr/bin/python3',
        },
        children: {
          k8s: {
            vars: { kubernetes_mirror: 'file:///srv/drover-k8s-repo' },
            children: {
              control_plane: { hosts: { 'lab-1': { ansible_host: '10.231.0.11', ansible_user: 'root', ansible_ssh_private_key_file: '/repo/.lab/id_ed25519' } } },
              workers: {
                hosts: {
                  'lab-2': { ansible_host: '10.231.0.12', ansible_user: 'root', ansible_ssh_private_key_file: '/repo/.lab/id_ed25519' },
                  'lab-3': { ansible_host: '10.231.0.13', ansible_user: 'root', ansible_ssh_private_key_file: '/repo/.lab/id_ed25519' },
                },
              },
            },
          },
        },
      },
    });
  });

  it('has an empty workers group for a single host', () => {
    const parsed = parse(renderInventory([{ name: 'lab-1', address: '10.231.0.11' }], options));
    expect(parsed.all.children.k8s.children.workers).to.deep.equal({ hosts: {} });
    expect(Object.keys(parsed.all.children.k8s.children.control_plane.hosts)).to.deep.equal(['lab-1']);
  });

  it('says it is generated', () => {
    expect(renderInventory([], options)).to.match(/^# Written by `npm run lab -- up`/);
  });
});
