/**
 * reboot on a real lab host (the lab restarts a host's nspawn when it reboots, as systemd-nspawn@.service
 * does; lab/machine.ts): check mode sends nothing; a reboot comes back with a new boot id and the same
 * session runs the next task; a playbook goes on after it through the CLI; a host whose sshd stays down
 * longer than the timeout fails as unreachable within that bound, and the run ends.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command } from '../../modules/command.ts';
import { reboot } from '../../modules/reboot.ts';
import { runCli, ROOT } from '../support/run-cli.ts';
import { Secret } from '../../runner/secret.ts';
import { applyModule, closeTargets, labHostTarget, labTargets, onHost, type LabTarget } from '../support/targets.ts';

const SLOW_SSH = '/etc/systemd/system/ssh.service.d/drover-reboot-test.conf';

describe('reboot on lab hosts', function () {
  let host: LabTarget;
  const bootId = async () => {
    const output = await onHost(host, 'cat /proc/sys/kernel/random/boot_id');
    expect(output.exitCode, output.stderr).to.equal(0);
    return output.stdout.trim();
  };
  /** Waits (bounded) until the host answers SSH again, for the clean-up after the failing case. */
  const answering = async (seconds: number) => {
    for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline; ) {
      if ((await onHost(host, 'true')).exitCode === 0) return true;
      await new Promise((resolveWait) => setTimeout(resolveWait, 2_000));
    }
    return false;
  };

  before(async function () {
    // The last lab host: the other suites mostly use the first ones.
    const targets = await labTargets(this, 3);
    host = targets[2]!;
  });
  after(async () => {
    if (await answering(120)) await onHost(host, `rm -f ${SLOW_SSH} /var/tmp/drover-reboot-after; systemctl daemon-reload`);
  });

  it('check mode reports the reboot and sends nothing: the boot id stays', async () => {
    const before = await bootId();
    const check = await applyModule(host, reboot, {}, { check: true });
    expect(check.status, check.msg).to.equal('changed');
    expect(check.checkMode).to.equal(true);
    expect(check.msg).to.match(/^reboot and wait up to 600 s/);
    expect(check.diffs).to.deep.equal([{ kind: 'value', name: 'boot id', before, after: '(a new boot)' }]);
    expect(check.commands.every((record) => !record.executed)).to.equal(true);
    await new Promise((resolveWait) => setTimeout(resolveWait, 5_000));
    expect(await bootId()).to.equal(before);
  });

  it('reboots, waits for the new boot, and the same session runs the next task over a new connection', async function () {
    this.timeout(600_000);
    const before = await bootId();
    await onHost(host, 'echo here > /run/drover-reboot-marker');
    const result = await applyModule(host, reboot, { timeout: 300 });
    expect(result.status, result.msg).to.equal('changed');
    expect(result.msg).to.match(/^rebooted; back after [\d.]+ s \(boot id [0-9a-f-]{36}\)$/);
    const after = await bootId();
    expect(after).to.not.equal(before);
    expect(result.value).to.include({ bootIdBefore: before, bootIdAfter: after });
    const next = await applyModule(host, command, { argv: ['cat', '/proc/sys/kernel/random/boot_id'], readOnly: true });
    expect(next.status, next.msg).to.equal('ok');
    expect(next.stdout.trim()).to.equal(after);
    expect((await onHost(host, 'test -e /run/drover-reboot-marker && echo kept || echo gone')).stdout).to.equal('gone\n');
  });

  it('as an unprivileged login with become (sudo with a password): the reboot runs under sudo, the wait needs none', async function () {
    this.timeout(600_000);
    const name = `${host.name} as ops`;
    const ops: LabTarget = { ...host, name, host: labHostTarget(name, host.address, host.keyPath, host.knownHostsPath, 'ops') };
    const become = { password: new Secret('drover-lab-ops', 'become password') };
    const before = await bootId();
    const result = await applyModule(ops, reboot, { timeout: 300 }, { become });
    expect(result.status, result.msg).to.equal('changed');
    expect(result.commands[0]!.line).to.match(/^sudo -H -S -p '' -u root -- /);
    expect(await bootId()).to.not.equal(before);
    const whoami = await applyModule(ops, command, { argv: ['id', '-un'], readOnly: true });
    expect(whoami.stdout).to.equal('ops\n');
  });

  it('a playbook goes on after the reboot (CLI): later tasks run on the new boot', async function () {
    this.timeout(600_000);
    const dir = mkdtempSync(join(tmpdir(), 'drover-reboot-'));
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `all:\n  vars:\n    drover_known_hosts_file: ${host.knownHostsPath}\n  hosts:\n    ${host.name}:\n      ansible_host: ${host.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${host.keyPath}\n`,
    );
    const audit = join(dir, 'audit.jsonl');
    const before = await bootId();
    const run = await runCli([join(ROOT, 'test/fixtures/playbooks/reboot-and-go-on.ts'), '-i', inventory, '--audit-log', audit], { timeoutMs: 400_000 });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const after = (await onHost(host, 'cat /var/tmp/drover-reboot-after')).stdout.trim();
    expect(after)
      .to.equal(await bootId())
      .and.not.equal(before);
    const tasks = readFileSync(audit, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { kind: string; module?: string; status?: string })
      .filter((record) => record.kind === 'task');
    expect(tasks.map((task) => `${task.module} ${task.status}`)).to.deep.equal(['shell changed', 'reboot changed', 'shell ok', 'shell changed']);
  });

  it('a host that does not come back within the timeout is unreachable, and the wait is bounded', async function () {
    this.timeout(600_000);
    // The CLI run above rebooted the host under the connection applyModule keeps: start afresh.
    await closeTargets();
    // sshd starts 60 s after the boot: longer than the 10 s timeout, and then the host is back for the clean-up.
    const slow = await onHost(host, `mkdir -p ${SLOW_SSH.replace(/\/[^/]+$/, '')} && printf '[Service]\\nExecStartPre=/bin/sleep 60\\nTimeoutStartSec=120\\n' > ${SLOW_SSH} && systemctl daemon-reload`);
    expect(slow.exitCode, slow.stderr).to.equal(0);
    const started = Date.now();
    const result = await applyModule(host, reboot, { timeout: 10 });
    const seconds = (Date.now() - started) / 1000;
    expect(result.status, result.msg).to.equal('unreachable');
    expect(result.msg).to.match(new RegExp(`^${host.name} was rebooted \\(boot id [0-9a-f-]{36}\\) and it did not come back within 10 s; last attempt: `));
    expect(result.failure?.hint).to.include('raise the reboot timeout');
    expect(seconds).to.be.below(60);
    // Later commands on that session fail at once, naming the same cause.
    const next = await applyModule(host, command, { argv: ['true'], readOnly: true });
    expect(next.status).to.equal('unreachable');
    expect(await answering(180), 'the host came back after its slow sshd').to.equal(true);
  });
});
