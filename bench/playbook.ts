/**
 * The benchmark's node preparation, as drover runs it (bench/work.ts holds the values; the Ansible
 * playbook bench/ansible/prep.yml and the floor's bench/floor/prep.sh do the same work).
 *
 *   npx tsx run bench/playbook.ts -i .lab-K/inventory.yaml [--check]
 */
import { definePlaybook } from '../runner/playbook.ts';
import * as work from './work.ts';

const book = definePlaybook({ name: 'bench node preparation' });

const prep = book.play({
  name: 'prepare nodes',
  hosts: 'all',
  tasks: async (t, _host, ctx) => {
    await t.swapoff('swap off, now and in fstab', {});
    await t.copy('modules-load file', { dest: work.MODULES_LOAD_FILE, content: work.MODULES_LOAD_CONTENT, mode: '0644' });
    await t.sysctl('sysctls', { settings: { ...work.SYSCTLS }, sysctlFile: work.SYSCTL_FILE });
    await t.hosts('nodes in /etc/hosts', {
      entries: ctx.hosts('all').map((node) => ({ address: node.address, names: [node.name] })),
      marker: work.HOSTS_MARKER,
    });
    await t.file('config directory', { path: work.CONFIG_DIR, state: 'directory', mode: '0755' });
    await t.copy('runtime config', { dest: work.CONFIG_FILE, content: work.CONFIG_CONTENT, mode: '0644' });
    await t.systemd('agent unit', { name: work.UNIT_NAME, unitFile: work.UNIT_CONTENT, enabled: true, state: 'started' });
    await t.iptables('kubelet port', {
      chain: 'INPUT',
      protocol: 'tcp',
      destinationPort: work.IPTABLES_PORT,
      jump: 'ACCEPT',
      comment: work.IPTABLES_COMMENT,
    });
    await t.mount('scratch tmpfs in fstab', { path: work.TMPFS_PATH, src: 'tmpfs', fstype: 'tmpfs', opts: work.TMPFS_OPTS, state: 'present' });
  },
});

export default book.playbook([prep]);
