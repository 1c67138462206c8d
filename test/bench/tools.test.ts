import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ansibleInventory, ansibleVars, floorPrelude, recapChanges, shellQuote } from '../../bench/tools.ts';
import * as work from '../../bench/work.ts';

const hosts = [
  { name: 'lab-1', address: '10.0.0.11' },
  { name: 'lab-2', address: '10.0.0.12' },
];

function bash(script: string): string {
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  expect(result.status, result.stderr).to.equal(0);
  return result.stdout;
}

describe('bench tools', () => {
  it("sums the changes of drover's and Ansible's recap lines over hosts", () => {
    const drover = 'RECAP (0.8 s)\n  lab-1 : ok=1 changed=8 failed=0 skipped=0\n  lab-2 : ok=2 changed=7 failed=0\nexit 0: ok\n';
    const ansible = 'PLAY RECAP ****\nlab-1                      : ok=12   changed=9    unreachable=0    failed=0\nlab-2                      : ok=12   changed=0    unreachable=0\n';
    expect(recapChanges(drover)).to.equal(15);
    expect(recapChanges(ansible)).to.equal(9);
    expect(recapChanges('changed=4 in a task line\n')).to.equal(0);
    // drover's grouped recap (more than 5 hosts): one line for hosts whose counts are the same.
    const grouped = 'RECAP (4.5 s)\n  lab-[1:19] : ok=1 changed=8 failed=0 skipped=0 unreachable=0 ignored=0 · 19 hosts\n  lab-20     : ok=2 changed=7 failed=0 skipped=0 unreachable=0 ignored=0\n';
    expect(recapChanges(grouped)).to.equal(19 * 8 + 7);
  });

  it("quotes every value for bash, quotes included, so the floor's script sees bench/work.ts's exact text", () => {
    expect(bash(`x=${shellQuote("it's $HOME `id` \\n")}; printf '%s' "$x"`)).to.equal("it's $HOME `id` \\n");
    const prelude = floorPrelude('check', hosts);
    expect(bash(`${prelude}printf '%s' "$UNIT_CONTENT"`)).to.equal(work.UNIT_CONTENT);
    expect(bash(`${prelude}printf '%s' "$CONFIG_CONTENT"`)).to.equal(work.CONFIG_CONTENT);
    expect(bash(`${prelude}printf '%s' "$HOSTS_BLOCK"`)).to.equal('10.0.0.11 lab-1\n10.0.0.12 lab-2\n');
    expect(bash(`${prelude}echo "$MODE"; for s in $SYSCTLS; do echo "$s"; done`)).to.equal(
      `check\n${Object.entries(work.SYSCTLS)
        .map(([key, value]) => `${key}=${value}\n`)
        .join('')}`,
    );
  });

  it("gives Ansible the lab's hosts with the key, and no strict host-key arguments of the lab's inventory", () => {
    const inventory = parse(ansibleInventory({ hosts, inventory: '/x/inventory.yaml', key: '/x/id', knownHosts: '/x/known' }));
    expect(inventory).to.deep.equal({
      all: { vars: { ansible_user: 'root', ansible_ssh_private_key_file: '/x/id' }, hosts: { 'lab-1': { ansible_host: '10.0.0.11' }, 'lab-2': { ansible_host: '10.0.0.12' } } },
    });
    expect((ansibleVars().bench as Record<string, unknown>).sysctls).to.deep.equal(work.SYSCTLS);
  });
});
