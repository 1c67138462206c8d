/**
 * Ansible Vault on real lab hosts: a vaulted `ansible_become_password` (encrypted by the real ansible-vault)
 * lets `exec --become` log in as the unprivileged `ops` user and become root; a playbook writes a vaulted
 * variable to a file with `copy`, read back over plain OpenSSH. The decrypted values never appear in the
 * output or the audit log.
 */
import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli } from '../support/run-cli.ts';
import { describeOnLab, onHost } from '../support/targets.ts';

const fixtures = join(ROOT, 'test/inventory/fixtures/vault');
const BECOME_PASSWORD = 'drover-lab-ops';
const APP_SECRET = 'vault-lab-Secr3t-7c1d';

describeOnLab('Ansible Vault values used against a lab host', 1, (targets) => {
  let dir: string;
  let inventory: string;
  const vault = () => ['--vault-password-file', join(fixtures, 'vault-password')];

  before(async () => {
    const target = targets()[0]!;
    dir = mkdtempSync(join(tmpdir(), 'drover-vault-lab-'));
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `all:\n  vars:\n    drover_known_hosts_file: ${target.knownHostsPath}\n  hosts:\n    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: ops\n      ansible_ssh_private_key_file: ${target.keyPath}\n`,
    );
    mkdirSync(join(dir, 'group_vars'));
    copyFileSync(join(fixtures, 'lab/all.yml'), join(dir, 'group_vars/all.yml'));
    await onHost(target, 'rm -rf /tmp/drover-vault-test');
  });
  after(async () => {
    await onHost(targets()[0]!, 'rm -rf /tmp/drover-vault-test');
    rmSync(dir, { recursive: true, force: true });
  });

  it('exec --become as ops with a vaulted ansible_become_password becomes root; the password is shown nowhere', async () => {
    const target = targets()[0]!;
    const log = join(dir, 'exec.jsonl');
    const run = await runCli(['exec', target.name, '-i', inventory, ...vault(), '--become', '--audit-log', log, '--', `id -un; echo ${BECOME_PASSWORD.length}`], {
      timeoutMs: 240_000,
    });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.include('root');
    for (const text of [run.stdout, run.stderr, readFileSync(log, 'utf8')]) {
      expect(text).to.not.include(BECOME_PASSWORD);
      expect(text).to.not.include(APP_SECRET);
    }
  });

  it('a playbook copies a vaulted variable to the host, read back over SSH; absent from stdout and the audit log', async () => {
    const target = targets()[0]!;
    const log = join(dir, 'play.jsonl');
    const playbook = join(ROOT, 'test/fixtures/playbooks/vault-copy.ts');
    const run = await runCli([playbook, '-i', inventory, ...vault(), '--diff', '-v', '--audit-log', log], { timeoutMs: 240_000 });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    // copy writes the content exactly (no newline added): the echo separates it from the mode.
    const written = await onHost(target, 'cat /tmp/drover-vault-test/secret; echo; stat -c %a /tmp/drover-vault-test/secret');
    expect(written.stdout).to.equal(`${APP_SECRET}\n600\n`);
    const audit = readFileSync(log, 'utf8');
    expect(audit).to.include('secret file');
    for (const text of [run.stdout, run.stderr, audit]) {
      expect(text).to.not.include(APP_SECRET);
      expect(text).to.not.include(BECOME_PASSWORD);
    }
    // Without the password the same run stops before touching the host, saying how to give one.
    const without = await runCli([playbook, '-i', inventory, '--audit-log', join(dir, 'none.jsonl')], { timeoutMs: 240_000 });
    expect(without.code).to.not.equal(0);
    expect(without.stderr).to.match(/group_vars\/all\.yml:1: the value of ansible_become_password is encrypted with Ansible Vault and no vault password was given/);
  });
});
