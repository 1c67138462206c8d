/**
 * Signed audit logs through the real CLI (issue 10 part 3): real runs (`exec` and `module` to hosts that
 * refuse the connection at once, so no lab is needed) sign their log with a key file or through a real
 * ssh-agent; `audit verify --allowed-signers` and OpenSSH's `ssh-keygen -Y verify` check it; a recomputed
 * chain, a stranger's key and a missing signature are refused with their own exit statuses.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closingFields, sealRecord } from '../../runner/audit/chain.ts';
import { ROOT, runCli } from '../support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'drover-audit-sign-'));
const inventory = join(dir, 'inventory.yaml');
const allowedSigners = join(dir, 'allowed_signers');
const agentSocket = join(dir, 'agent.sock');
const key = (name: string) => join(dir, name);
const principal = (name: string) => `${name}@drover.test`;
let agent: ChildProcess | undefined;
let runs = 0;

/** One exec run to the refusing hosts; returns the run and its log's path. */
async function signedRun(args: string[], env: Record<string, string> = { SSH_AUTH_SOCK: '' }) {
  const log = join(dir, `run-${++runs}.jsonl`);
  const run = await runCli(['exec', 'all', '-i', inventory, '--audit-log', log, ...args, '--', 'true'], { env });
  return { run, log, sig: `${log}.sig` };
}

const verify = (...args: string[]) => runCli(['audit', 'verify', ...args]);

function opensshVerify(log: string, identity: string): { status: number | null; output: string } {
  const result = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', allowedSigners, '-I', identity, '-n', 'drover-audit', '-s', `${log}.sig`], { input: readFileSync(log), encoding: 'buffer', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout.toString()}${result.stderr.toString()}` };
}

/** The log with one record edited and every hash after it recomputed, closing record included. */
function recomputeChain(log: string): void {
  const bodies = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const { seq: _seq, prev: _prev, hash: _hash, ...body } = JSON.parse(line) as Record<string, unknown>;
      return body;
    });
  bodies[0] = { ...bodies[0], operator: 'someone-else' };
  const lines: string[] = [];
  for (const [index, body] of bodies.entries()) {
    const previous = lines[lines.length - 1];
    lines.push(sealRecord(index + 1, previous, body.kind === 'run-end' ? { ...body, ...closingFields(index + 1, previous) } : body));
  }
  writeFileSync(log, lines.map((line) => `${line}\n`).join(''));
}

describe('signed audit logs through the CLI (issue 10 part 3)', function () {
  this.timeout(300_000);

  before(async () => {
    // Port 9 on localhost refuses at once: every host is unreachable, and the run still writes a whole log.
    writeFileSync(inventory, 'all:\n  hosts:\n    u[1:3]:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n');
    for (const [name, type] of [
      ['ed25519', 'ed25519'],
      ['rsa', 'rsa'],
      ['stranger', 'ed25519'],
    ]) {
      const made = spawnSync('ssh-keygen', ['-t', type!, '-N', '', '-C', principal(name!), '-f', key(name!), '-q'], { encoding: 'utf8', timeout: 60_000 });
      expect(made.status, made.stderr).to.equal(0);
    }
    writeFileSync(allowedSigners, ['ed25519', 'rsa'].map((name) => `${principal(name)} namespaces="drover-audit" ${readFileSync(`${key(name)}.pub`, 'utf8').trim()}\n`).join(''));
    agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
    for (let waited = 0; !existsSync(agentSocket); waited += 50) {
      if (waited > 30_000) throw new Error('ssh-agent did not create its socket');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const added = spawnSync('ssh-add', ['-q', key('rsa')], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket }, encoding: 'utf8', timeout: 30_000 });
    expect(added.status, added.stderr).to.equal(0);
  });

  after(() => {
    if (agent?.pid) process.kill(agent.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it('exec --audit-sign-key KEY signs the log; drover names the signer, OpenSSH agrees', async () => {
    const { run, log, sig } = await signedRun(['--audit-sign-key', key('ed25519')]);
    expect(run.code, run.stdout + run.stderr).to.equal(4);
    expect(run.stderr).to.include(`audit log signed: ${sig}`);
    expect(readFileSync(sig, 'utf8')).to.match(/^-----BEGIN SSH SIGNATURE-----\n/);
    const checked = await verify('--allowed-signers', allowedSigners, '--require-signature', log);
    expect(checked.code, checked.stdout + checked.stderr).to.equal(0);
    const fingerprint = spawnSync('ssh-keygen', ['-l', '-f', `${key('ed25519')}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1]!;
    expect(checked.stdout).to.include(`signed by ${principal('ed25519')} (ED25519 key ${fingerprint}`);
    const openssh = opensshVerify(log, principal('ed25519'));
    expect(openssh.status, openssh.output).to.equal(0);
    const show = await runCli(['audit', 'show', log]);
    expect(show.code, show.stdout).to.equal(0);
    expect(show.stdout).to.include(`signature: signature matches, by ED25519 key ${fingerprint}`);
  });

  it('module --sign-audit signs through ssh-agent (an RSA key, rsa-sha2-512); OpenSSH agrees', async () => {
    const log = join(dir, 'module.jsonl');
    const run = await runCli(['module', 'all', '-i', inventory, '--audit-log', log, '--sign-audit', 'command', 'argv=true'], { env: { SSH_AUTH_SOCK: agentSocket } });
    expect(run.code, run.stdout + run.stderr).to.equal(4);
    expect(run.stderr).to.match(/audit log signed: .*\(RSA key SHA256:\S+ \(rsa@drover\.test\) in ssh-agent\)/);
    const checked = await verify('--allowed-signers', allowedSigners, '--require-signature', log);
    expect(checked.code, checked.stdout).to.equal(0);
    expect(checked.stdout).to.include(`signed by ${principal('rsa')} (RSA key`);
    const openssh = opensshVerify(log, principal('rsa'));
    expect(openssh.status, openssh.output).to.equal(0);
  });

  it('a playbook run (--check) signs its log with an RSA key file (rsa-sha2-512); OpenSSH agrees', async () => {
    const log = join(dir, 'playbook.jsonl');
    // Every host logs in before a play, so the playbook runs on hosts of the local connection (a dry run of
    // shell tasks: nothing is sent), where the refusing hosts would now be reported unreachable.
    const local = join(dir, 'local.yaml');
    writeFileSync(local, 'all:\n  hosts:\n    l[1:3]:\n      ansible_connection: local\n');
    const run = await runCli([join(ROOT, 'test/fixtures/playbooks/fail-fast.ts'), '-i', local, '--check', '--audit-log', log, '--audit-sign-key', key('rsa')], { env: { SSH_AUTH_SOCK: '' } });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const checked = await verify('--allowed-signers', allowedSigners, '--require-signature', log);
    expect(checked.code, checked.stdout).to.equal(0);
    expect(checked.stdout).to.include(`signed by ${principal('rsa')} (RSA key`);
    expect(opensshVerify(log, principal('rsa')).status).to.equal(0);
  });

  it('catches a recomputed chain: the chain is intact, the signature refuses it (exit 1), and so does OpenSSH', async () => {
    const { run, log } = await signedRun(['--audit-sign-key', key('ed25519')]);
    expect(run.code, run.stderr).to.equal(4);
    recomputeChain(log);
    for (const args of [['--allowed-signers', allowedSigners], []]) {
      const checked = await verify(...args, log);
      expect(checked.code, checked.stdout).to.equal(1);
      expect(checked.stdout).to.match(/intact, \d+ records/);
      expect(checked.stdout).to.include('SIGNATURE BAD');
      expect(checked.stdout).to.include('changed after it was signed');
    }
    expect(opensshVerify(log, principal('ed25519')).status).to.not.equal(0);
    const show = await runCli(['audit', 'show', log]);
    expect(show.code, show.stdout).to.equal(1);
    expect(show.stdout).to.match(/chain: intact[\s\S]*signature: SIGNATURE BAD/);
  });

  it('refuses a log signed by a key the allowed signers do not name (exit 4)', async () => {
    const { run, log } = await signedRun(['--audit-sign-key', key('stranger')]);
    expect(run.code, run.stderr).to.equal(4);
    const checked = await verify('--allowed-signers', allowedSigners, log);
    expect(checked.code, checked.stdout).to.equal(4);
    expect(checked.stdout).to.include('SIGNER NOT ALLOWED');
    // Without a list of allowed keys the signature matches, and the output says who signed was not checked.
    const unchecked = await verify(log);
    expect(unchecked.code, unchecked.stdout).to.equal(0);
    expect(unchecked.stdout).to.include('was not checked');
  });

  it('refuses an unsigned log when a signature is required (exit 4), accepts it when not', async () => {
    const { run, log } = await signedRun([]);
    expect(run.code, run.stderr).to.equal(4);
    expect(existsSync(`${log}.sig`)).to.equal(false);
    const required = await verify('--allowed-signers', allowedSigners, '--require-signature', log);
    expect(required.code, required.stdout).to.equal(4);
    expect(required.stdout).to.include('UNSIGNED');
    const optional = await verify('--allowed-signers', allowedSigners, log);
    expect(optional.code, optional.stdout).to.equal(0);
    expect(optional.stdout).to.include('unsigned');
    const noPolicy = await verify('--require-signature', log);
    expect(noPolicy.code).to.equal(1);
    expect(noPolicy.stderr).to.include('--require-signature needs --allowed-signers');
  });

  it('refuses to start when it cannot sign (no agent), before any log is written or host contacted', async () => {
    const { run, log } = await signedRun(['--sign-audit'], { SSH_AUTH_SOCK: '' });
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    expect(run.stderr).to.include('SSH_AUTH_SOCK is not set');
    expect(run.stderr).to.include('ssh-add');
    expect(existsSync(log)).to.equal(false);
  });
});
