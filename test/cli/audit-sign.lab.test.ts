/**
 * Signed audit logs that leave the controller, against lab hosts (issue 10 part 3): a real `exec` over
 * real SSH signs its log and copies every record, as it is written, to another lab host through
 * `--audit-copy 'command:ssh … cat > …'`; OpenSSH on that host verifies the copy against the signature;
 * a recomputed chain of the real log is caught by the signature.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closingFields, sealRecord, verifyChain } from '../../runner/audit/chain.ts';
import { runCli } from '../support/run-cli.ts';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

const REMOTE_COPY = '/var/log/drover-audit-copy.jsonl';

function inventoryOf(targets: LabTarget[], dir: string): string {
  const path = join(dir, 'inventory.yaml');
  writeFileSync(
    path,
    `all:\n  vars:\n    drover_known_hosts_file: ${targets[0]!.knownHostsPath}\n  hosts:\n${targets
      .map((target) => `    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${target.keyPath}\n`)
      .join('')}`,
  );
  return path;
}

describeOnLab('signed audit logs copied off the controller, against lab hosts', 2, (targets) => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-audit-lab-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await onHost(targets()[1]!, `rm -f ${REMOTE_COPY} /tmp/drover-audit-verify.*`);
  });

  it("signs a real run's log, copies it record by record to another host, and OpenSSH there verifies the copy", async function () {
    this.timeout(300_000);
    const [worker, vault] = targets() as [LabTarget, LabTarget];
    const key = join(dir, 'operator');
    expect(spawnSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-C', 'operator@drover.test', '-f', key, '-q']).status).to.equal(0);
    const allowed = `operator@drover.test namespaces="drover-audit" ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`;
    const log = join(dir, 'run.jsonl');
    const ssh = `ssh -i ${worker.keyPath} -o UserKnownHostsFile=${worker.knownHostsPath} -o StrictHostKeyChecking=yes -o BatchMode=yes root@${vault.address}`;
    const run = await runCli(['exec', worker.name, '-i', inventoryOf(targets(), dir), '--audit-log', log, '--audit-sign-key', key, '--audit-copy', `command:${ssh} 'cat > ${REMOTE_COPY}'`, '--', 'hostname; cat /etc/machine-id'], {
      env: { SSH_AUTH_SOCK: '' },
    });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const local = readFileSync(log, 'utf8');
    expect(local).to.include(`"host":"${worker.name}"`);

    // The copy on the other host is the log, byte for byte; OpenSSH there checks it against the signature.
    const copy = await onHost(vault, `cat ${REMOTE_COPY}`);
    expect(copy.stdout).to.equal(local);
    const sig = readFileSync(`${log}.sig`, 'utf8');
    const remoteVerify = await onHost(
      vault,
      [
        `printf '%s' '${allowed}' > /tmp/drover-audit-verify.allowed`,
        `cat > /tmp/drover-audit-verify.sig <<'EOF'\n${sig}EOF`,
        `ssh-keygen -Y verify -f /tmp/drover-audit-verify.allowed -I operator@drover.test -n drover-audit -s /tmp/drover-audit-verify.sig < ${REMOTE_COPY}`,
      ].join('\n'),
    );
    expect(remoteVerify.exitCode, remoteVerify.stdout + remoteVerify.stderr).to.equal(0);
    expect(remoteVerify.stdout).to.include('Good "drover-audit" signature for operator@drover.test');

    // Someone with root on the controller rewrites the host's output and recomputes every hash after it.
    const bodies = local
      .trim()
      .split('\n')
      .map((line) => {
        const { seq: _seq, prev: _prev, hash: _hash, ...body } = JSON.parse(line) as Record<string, unknown>;
        return body;
      });
    const output = bodies.findIndex((body) => body.kind === 'host-output');
    expect(output).to.be.greaterThan(0);
    bodies[output] = { ...bodies[output], stdoutTail: 'nothing happened here\n' };
    const forged: string[] = [];
    for (const [index, body] of bodies.entries()) {
      const previous = forged[forged.length - 1];
      forged.push(sealRecord(index + 1, previous, body.kind === 'run-end' ? { ...body, ...closingFields(index + 1, previous) } : body));
    }
    writeFileSync(log, forged.map((line) => `${line}\n`).join(''));
    expect(verifyChain(readFileSync(log, 'utf8')).status).to.equal('intact');
    const allowedPath = join(dir, 'allowed_signers');
    writeFileSync(allowedPath, allowed);
    const verify = await runCli(['audit', 'verify', '--allowed-signers', allowedPath, '--require-signature', log]);
    expect(verify.code, verify.stdout).to.equal(1);
    expect(verify.stdout).to.include('SIGNATURE BAD');
  });
});
