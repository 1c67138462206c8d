import { expect } from 'chai';
import { connectionSettings, ConnectionVariableError, type ConnectionSettings } from '../../inventory/connection.ts';
import { inventoryFromText } from '../../inventory/load.ts';
import type { InventoryVars } from '../../inventory/values.ts';
import { Secret } from '../../runner/secret.ts';

/** Settings with Secrets revealed, so a table can state them. */
function plain(settings: ConnectionSettings): Record<string, unknown> {
  return Object.fromEntries(Object.entries(settings).map(([key, value]) => [key, value instanceof Secret ? `secret:${value.reveal()}` : value]));
}

const BASE = { become: false, connection: 'ssh', ignored: [] };

describe('inventory: connection variables', () => {
  const CASES: ReadonlyArray<readonly [string, string, InventoryVars, Record<string, unknown>]> = [
    ['nothing set', 'web1', {}, BASE],
    [
      "Ansible's names",
      'web1',
      {
        ansible_host: '10.0.0.5',
        ansible_port: 2222,
        ansible_user: 'admin',
        ansible_ssh_private_key_file: '~/.ssh/lab',
        ansible_password: 'pw',
        ansible_become: true,
        ansible_become_user: 'postgres',
        ansible_become_password: 'bpw',
        ansible_connection: 'ssh',
      },
      {
        ...BASE,
        address: '10.0.0.5',
        port: 2222,
        user: 'admin',
        privateKeyFile: '~/.ssh/lab',
        password: 'secret:pw',
        become: true,
        becomeUser: 'postgres',
        becomePassword: 'secret:bpw',
      },
    ],
    [
      'older Ansible aliases',
      'web1',
      { ansible_ssh_host: 'h', ansible_ssh_port: '22', ansible_ssh_user: 'u', ansible_ssh_pass: 'p', ansible_become_pass: 'b', ansible_private_key_file: 'k' },
      { ...BASE, address: 'h', port: 22, user: 'u', password: 'secret:p', becomePassword: 'secret:b', privateKeyFile: 'k' },
    ],
    [
      "drover's names win over Ansible's",
      'web1',
      {
        ssh_host: 'drover-host',
        ansible_host: 'ansible-host',
        ssh_port: 2200,
        ansible_port: 22,
        ssh_user: 'drover',
        ansible_user: 'ansible',
        ssh_key: 'drover.key',
        ansible_ssh_private_key_file: 'ansible.key',
        ssh_password: 'dp',
        ansible_password: 'ap',
        become: 'no',
        ansible_become: true,
        become_user: 'du',
        ansible_become_user: 'au',
        become_password: 'dbp',
        ansible_become_password: 'abp',
        connection: 'local',
        ansible_connection: 'ssh',
        known_hosts_file: 'drover_known',
        drover_known_hosts_file: 'other',
        ssh_key_passphrase: 'kp',
      },
      {
        ...BASE,
        address: 'drover-host',
        port: 2200,
        user: 'drover',
        privateKeyFile: 'drover.key',
        password: 'secret:dp',
        become: false,
        becomeUser: 'du',
        becomePassword: 'secret:dbp',
        connection: 'local',
        knownHostsFile: 'drover_known',
        keyPassphrase: 'secret:kp',
      },
    ],
    ['drover_known_hosts_file', 'web1', { drover_known_hosts_file: '/lab/known_hosts' }, { ...BASE, knownHostsFile: '/lab/known_hosts' }],
    ['localhost without an address is local', 'localhost', {}, { ...BASE, connection: 'local' }],
    ['127.0.0.1 without an address is local', '127.0.0.1', {}, { ...BASE, connection: 'local' }],
    ['localhost with an address is ssh', 'localhost', { ansible_host: '10.0.0.9' }, { ...BASE, address: '10.0.0.9' }],
    ['localhost with connection=ssh is ssh', 'localhost', { ansible_connection: 'ssh' }, BASE],
    ['smart and FQCN names', 'web1', { ansible_connection: 'ansible.builtin.smart' }, BASE],
    ['local by FQCN', 'web1', { ansible_connection: 'ansible.builtin.local' }, { ...BASE, connection: 'local' }],
    ['become as Ansible booleans', 'web1', { ansible_become: 'Yes' }, { ...BASE, become: true }],
    ['become 0', 'web1', { ansible_become: 0 }, BASE],
    ['become_method sudo is accepted', 'web1', { ansible_become_method: 'sudo' }, BASE],
    ['a numeric password (INI typing) is still a password', 'web1', { ansible_password: 1234 }, { ...BASE, password: 'secret:1234' }],
    ['null counts as unset', 'web1', { ssh_host: null, ansible_host: 'a' }, { ...BASE, address: 'a' }],
    [
      'ssh options drover has an equivalent for are honoured, the rest listed, not fatal',
      'web1',
      { ansible_ssh_common_args: '-o ProxyJump=bastion -o ControlMaster=auto', ansible_ssh_extra_args: '-v', ansible_ssh_pipelining: true, ansible_python_interpreter: '/usr/bin/python3' },
      { ...BASE, proxyJump: 'bastion', ignored: ['ansible_ssh_pipelining', 'ansible_ssh_common_args (-o ControlMaster=auto)', 'ansible_ssh_extra_args (-v)'] },
    ],
    [
      'a known_hosts file from ssh arguments, with strict checking (the default) asked for',
      'web1',
      { ansible_ssh_common_args: '-o UserKnownHostsFile=/srv/lab/known_hosts -o StrictHostKeyChecking=yes' },
      { ...BASE, knownHostsFile: '/srv/lab/known_hosts' },
    ],
    [
      'the common ssh arguments come before the extra ones: the first value wins, as in ssh',
      'web1',
      { ansible_ssh_common_args: '-o ProxyJump=first', ansible_ssh_extra_args: '-J second -o UserKnownHostsFile=/k' },
      { ...BASE, proxyJump: 'first', knownHostsFile: '/k' },
    ],
    ["drover's own known_hosts_file wins over the ssh arguments", 'web1', { known_hosts_file: '/a', ansible_ssh_common_args: '-o UserKnownHostsFile=/b' }, { ...BASE, knownHostsFile: '/a' }],
    [
      'host-key checking is never turned off from an inventory: it is reported instead',
      'web1',
      { ansible_ssh_common_args: "-o 'StrictHostKeyChecking no'", ansible_ssh_extra_args: '-J ops@jump:2222' },
      { ...BASE, proxyJump: 'ops@jump:2222', ignored: ['ansible_ssh_common_args (-o StrictHostKeyChecking no)'] },
    ],
  ];
  for (const [title, host, vars, expected] of CASES) {
    it(title, () => {
      expect(plain(connectionSettings(host, vars))).to.deep.equal(expected);
    });
  }

  const WRONG: ReadonlyArray<readonly [InventoryVars, string, RegExp]> = [
    [{ ansible_port: 'abc' }, 'ansible_port', /host 'web1': ansible_port is "abc", expected a port number/],
    [{ ansible_ssh_common_args: "-o 'ProxyJump=b" }, 'ansible_ssh_common_args', /host 'web1': ansible_ssh_common_args cannot be split into words: .*Fix its quoting/],
    [{ ssh_port: 70000 }, 'ssh_port', /ssh_port is 70000/],
    [{ ansible_port: 22.5 }, 'ansible_port', /22\.5/],
    [{ ansible_host: ['a'] }, 'ansible_host', /ansible_host is a list \(\["a"\]\), expected text/],
    [{ ansible_user: '' }, 'ansible_user', /ansible_user is empty/],
    [{ ansible_become: 'maybe' }, 'ansible_become', /ansible_become is "maybe", expected a boolean/],
    [{ ansible_connection: 'winrm' }, 'ansible_connection', /'winrm', which drover does not support/],
    [{ ansible_become_method: 'su' }, 'ansible_become_method', /only with sudo/],
    [{ ansible_password: ['hunter2'] }, 'ansible_password', /ansible_password is a list, expected a password string/],
  ];
  for (const [vars, variable, problem] of WRONG) {
    it(`refuses ${JSON.stringify(vars)}, naming host, variable and value`, () => {
      expect(() => connectionSettings('web1', vars))
        .to.throw(ConnectionVariableError, problem)
        .that.satisfies((error: ConnectionVariableError) => error.host === 'web1' && error.variable === variable && !error.message.includes('hunter2'));
    });
  }

  it('reads an INI inventory end to end, passwords as Secrets', () => {
    const inventory = inventoryFromText('[web]\nweb1 ansible_host=10.0.0.5 ansible_port=2222 ansible_become=yes\nlocalhost\n[web:vars]\nansible_user=admin\nansible_become_pass=s3cr3t\n', 'hosts.ini');
    expect(plain(connectionSettings('web1', inventory.varsFor('web1')))).to.deep.equal({
      ...BASE,
      address: '10.0.0.5',
      port: 2222,
      user: 'admin',
      become: true,
      becomePassword: 'secret:s3cr3t',
    });
    expect(connectionSettings('localhost', inventory.varsFor('localhost')).connection).to.equal('local');
    expect(connectionSettings('127.0.0.1', inventory.varsFor('127.0.0.1')).connection).to.equal('local');
  });
});
