/**
 * The benchmark compares like with like: drover, Ansible and the floor each prepare their own real lab host
 * (lab-1, lab-2, lab-3), and the state read back over plain SSH is the same on all three and is what
 * bench/work.ts asks for; a second apply and a dry run then report no change, and each tool's output is
 * counted by the same code the benchmark uses (bench/tools.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { renderInventory } from '../../lab/inventory.ts';
import { measure } from '../../bench/measure.ts';
import { PHASES, prepareTool, REPO_DIR, TOOLS, type Tool } from '../../bench/tools.ts';
import * as work from '../../bench/work.ts';
import { describeWithLab, labSsh, type Lab, type LabHost } from '../support/lab.ts';

/** Puts a host back to before the benchmark's work (a host of a reused lab may hold an earlier run's). */
const RESET = `
systemctl disable --now ${work.UNIT_NAME} 2>/dev/null
rm -f ${work.UNIT_FILE} ${work.MODULES_LOAD_FILE} ${work.SYSCTL_FILE}; rm -rf ${work.CONFIG_DIR}
systemctl daemon-reload
while iptables -w -D INPUT -p tcp --dport ${work.IPTABLES_PORT} -m comment --comment ${work.IPTABLES_COMMENT} -j ACCEPT 2>/dev/null; do :; done
while iptables -w -D INPUT -p tcp -m tcp --dport ${work.IPTABLES_PORT} -m comment --comment ${work.IPTABLES_COMMENT} -j ACCEPT 2>/dev/null; do :; done
sed -i '/^# BEGIN ${work.HOSTS_MARKER}$/,/^# END ${work.HOSTS_MARKER}$/d' /etc/hosts
awk '$2 != "${work.TMPFS_PATH}"' /etc/fstab > /etc/fstab.new && cat /etc/fstab.new > /etc/fstab && rm /etc/fstab.new
sysctl -qw net.ipv4.ip_forward=0
`;

/** The state the work is about, read with plain commands; one "name: value" line each. */
const READ_BACK = `
echo "modules-load: $(cat ${work.MODULES_LOAD_FILE} | tr '\\n' ,)"
for key in ${Object.keys(work.SYSCTLS).join(' ')}; do
  echo "live $key: $(sysctl -n $key)"
  echo "file $key: $(sed -n "s/^$key *= *//p" ${work.SYSCTL_FILE})"
done
echo "hosts block: $(sed -n '/^# BEGIN ${work.HOSTS_MARKER}$/,/^# END ${work.HOSTS_MARKER}$/p' /etc/hosts | grep -v '^#' | tr -s ' \\t' ' ' | tr '\\n' ,)"
echo "config dir: $(stat -c %a ${work.CONFIG_DIR})"
echo "config file: $(stat -c %a ${work.CONFIG_FILE}) $(sha256sum < ${work.CONFIG_FILE} | cut -c1-16)"
echo "unit file: $(sha256sum < ${work.UNIT_FILE} | cut -c1-16)"
echo "unit: $(systemctl is-enabled ${work.UNIT_NAME}) $(systemctl is-active ${work.UNIT_NAME})"
echo "iptables: $(iptables -w -S INPUT | grep -- '--dport ${work.IPTABLES_PORT} ' | grep -- '--comment ${work.IPTABLES_COMMENT} ' | grep -c -- '-j ACCEPT$')"
echo "fstab: $(awk '$2 == "${work.TMPFS_PATH}" { print $1, $3, $4 }' /etc/fstab)"
`;

async function sha16(text: string, lab: Lab, host: LabHost): Promise<string> {
  const result = await labSsh(lab, host, 'sha256sum | cut -c1-16', { input: text });
  return result.stdout.trim();
}

describeWithLab('bench: the three tools do the same work', 3, (lab) => {
  const read = new Map<Tool, string>();
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-bench-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [index, tool] of TOOLS.entries()) {
    it(`${tool}: first apply changes a fresh host, second apply and dry run change nothing`, async function () {
      if (tool === 'ansible' && (await measure(['sh', '-c', 'command -v ansible-playbook'], { timeoutMs: 30_000 })).exitCode !== 0) {
        if (process.env.CI === 'true') throw new Error('ansible-playbook is not installed: apt-get install ansible');
        this.skip();
      }
      const host = lab().hosts[index]!;
      const reset = await labSsh(lab(), host, RESET);
      expect(reset.code, reset.stderr).to.equal(0);
      const toolDir = join(dir, tool);
      await rm(toolDir, { recursive: true, force: true });
      await mkdir(toolDir);
      // An inventory of this host alone, so that each tool prepares only its own host.
      const inventory = join(toolDir, 'inventory.yaml');
      await writeFile(inventory, renderInventory([host], { keyFile: lab().keyPath, knownHostsFile: lab().knownHostsPath }));
      const run = await prepareTool(tool, { hosts: [host], inventory, key: lab().keyPath, knownHosts: lab().knownHostsPath }, toolDir);
      for (const phase of PHASES) {
        const { argv, env } = run.invocation(phase);
        const result = await measure(argv, { env, cwd: REPO_DIR, timeoutMs: 300_000 });
        expect(result.exitCode, `${tool} ${phase}:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`).to.equal(0);
        const changes = await run.changes(phase, result.stdout);
        if (phase === 'first') expect(changes, `${tool} first apply`).to.be.greaterThan(5);
        else expect(changes, `${tool} ${phase}: ${result.stdout.slice(-2000)}`).to.equal(0);
      }
      const state = await labSsh(lab(), host, READ_BACK);
      expect(state.code, state.stderr).to.equal(0);
      read.set(tool, state.stdout.replace(`${host.address} ${host.name},`, 'ADDRESS NAME,'));
    });
  }

  it('leaves the same state on each host, the one bench/work.ts asks for', async function () {
    if (read.size === 0) this.skip();
    const host = lab().hosts[0]!;
    const expected = [
      `modules-load: ${work.MODULES_LOAD_CONTENT.replaceAll('\n', ',')}`,
      ...Object.entries(work.SYSCTLS).flatMap(([key, value]) => [`live ${key}: ${value}`, `file ${key}: ${value}`]),
      'hosts block: ADDRESS NAME,',
      'config dir: 755',
      `config file: 644 ${await sha16(work.CONFIG_CONTENT, lab(), host)}`,
      `unit file: ${await sha16(work.UNIT_CONTENT, lab(), host)}`,
      'unit: enabled active',
      'iptables: 1',
      `fstab: tmpfs tmpfs ${work.TMPFS_OPTS}`,
    ];
    for (const [tool, text] of read) expect(text.trim().split('\n'), tool).to.deep.equal(expected);
  });
});
