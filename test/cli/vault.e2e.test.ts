/**
 * Ansible Vault through the CLI as an operator uses it: `inventory --list` with --vault-password-file and
 * --vault-id shows the decrypted values masked; a missing or wrong password is one clear message naming the
 * file, line and variable (no stack trace); `exec` loads the same inventory and its audit log never holds a
 * decrypted value. The fixtures were made by the real ansible-vault (test/inventory/fixtures/vault/).
 */
import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli } from '../support/run-cli.ts';

const fixtures = join(ROOT, 'test/inventory/fixtures/vault');
const inventory = join(fixtures, 'inventory.yaml');
const passwords = ['--vault-password-file', join(fixtures, 'vault-password'), '--vault-id', `prod@${join(fixtures, 'prod-password')}`];
const PLAINTEXTS = ['Become-S3cret!', 'db-Pa55word', 'tok-7f3a9c1e5b2d'];

describe('Ansible Vault values through the CLI', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'drover-vault-e2e-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('inventory --list decrypts with --vault-password-file and --vault-id and shows the values masked', async () => {
    const run = await runCli(['inventory', '-i', inventory, '--list', ...passwords]);
    expect(run.code, run.stderr).to.equal(0);
    for (const plain of PLAINTEXTS) expect(run.stdout + run.stderr).to.not.include(plain);
    const listing = JSON.parse(run.stdout) as { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    expect(listing._meta.hostvars.web1).to.deep.include({ ansible_host: '127.0.0.1', ansible_become_password: '********' });
    expect(listing._meta.hostvars.db1).to.deep.include({ db_password: '********', api_token: '********', replicas: 3, plain_setting: 'visible' });
  });

  it('an executable password file is run and its stdout is the password', async () => {
    const script = join(dir, 'vault-pass.sh');
    writeFileSync(script, `#!/bin/sh\ncat '${join(fixtures, 'vault-password')}'\n`);
    chmodSync(script, 0o755);
    const run = await runCli(['inventory', '-i', inventory, '--list', '--vault-password-file', script, '--vault-id', `prod@${join(fixtures, 'prod-password')}`]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('"ansible_become_password": "********"');
  });

  it('without a password: one message saying how to give one, no stack trace', async () => {
    const run = await runCli(['inventory', '-i', inventory, '--list']);
    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.match(/inventory\.yaml:5: the value of ansible_become_password is encrypted with Ansible Vault and no vault password was given/);
    expect(run.stderr).to.match(/--vault-password-file/);
    expect(run.stderr).to.not.match(/\n\s+at |internal error/);
  });

  it('with the wrong password: names the file, line and variable', async () => {
    const run = await runCli(['inventory', '-i', inventory, '--list', '--vault-password-file', join(fixtures, 'wrong-password')]);
    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.match(/inventory\.yaml:5: the vault password does not decrypt the value of ansible_become_password/);
    expect(run.stderr).to.not.match(/\n\s+at |internal error/);
  });

  it('--ask-vault-pass without a terminal says to use --vault-password-file', async () => {
    const run = await runCli(['inventory', '-i', inventory, '--list', '--ask-vault-pass']);
    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.match(/Vault password, but there is no terminal to ask on: pass --vault-password-file FILE instead of --ask-vault-pass/);
  });

  it('exec loads the vaulted inventory; the audit log holds no decrypted value', async () => {
    // Port 9 on 127.0.0.1 refuses at once: the run gets as far as connecting (exit 4, unreachable).
    const text = readFileSync(inventory, 'utf8').replace('ansible_host: 127.0.0.1', 'ansible_host: 127.0.0.1\n      ansible_port: 9');
    const copy = join(dir, 'inventory.yaml');
    writeFileSync(copy, text);
    const log = join(dir, 'exec.jsonl');
    const run = await runCli(['exec', 'web1', '-i', copy, '--audit-log', log, '--vault-password-file', join(fixtures, 'vault-password'), '--', 'true'], {
      env: { SSH_AUTH_SOCK: '' },
    });
    expect(run.code, run.stdout + run.stderr).to.equal(4);
    const audit = readFileSync(log, 'utf8');
    expect(audit).to.include('"web1"');
    for (const plain of PLAINTEXTS) expect(audit + run.stdout + run.stderr).to.not.include(plain);
  });
});
