/**
 * Audit log signatures (issue 10 part 3), against OpenSSH itself: keys made by ssh-keygen, signatures
 * made by drover (from a key file and through a real ssh-agent) checked by `ssh-keygen -Y verify`, and
 * signatures made by `ssh-keygen -Y sign` checked by drover's verifier.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllowedSigners } from '../../../runner/audit/allowed-signers.ts';
import { closingFields, sealRecord, verifyChain } from '../../../runner/audit/chain.ts';
import { dearmor, decodeSignature, WireReader } from '../../../runner/audit/sshsig.ts';
import { AUDIT_NAMESPACE, AuditSignError, openAuditSigner, signAuditLog, signaturePath, verifyAuditSignature } from '../../../runner/audit/sign.ts';

const dir = mkdtempSync(join(tmpdir(), 'drover-sign-'));
const KEYS = { ed25519: ['-t', 'ed25519'], rsa: ['-t', 'rsa', '-b', '2048'], ecdsa: ['-t', 'ecdsa', '-b', '256'] } as const;
type KeyName = keyof typeof KEYS;
const NAMES = Object.keys(KEYS) as KeyName[];
const key = (name: string) => join(dir, name);
const principal = (name: string) => `${name}@drover.test`;
const now = new Date();

function sshKeygen(args: string[], input?: Buffer): { status: number | null; output: string } {
  const result = spawnSync('ssh-keygen', args, { input, encoding: 'buffer', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout.toString()}${result.stderr.toString()}` };
}

/** A closed log of `count` records, sealed as the writer seals them. */
function logLines(count: number, host = 'h'): string[] {
  const lines: string[] = [];
  for (let seq = 1; seq < count; seq++) lines.push(sealRecord(seq, lines[lines.length - 1], { kind: 'task', host: `${host}${seq}`, changed: seq % 2 === 0 }));
  lines.push(sealRecord(count, lines[lines.length - 1], { kind: 'run-end', exitCode: 0, ...closingFields(count, lines[lines.length - 1]) }));
  return lines;
}

let logCounter = 0;
function writeLog(lines: string[]): string {
  const path = join(dir, `log-${++logCounter}.jsonl`);
  writeFileSync(path, lines.map((line) => `${line}\n`).join(''));
  return path;
}

const allowedSignersPath = join(dir, 'allowed_signers');
const allowed = () => parseAllowedSigners(readFileSync(allowedSignersPath, 'utf8'), allowedSignersPath);

function opensshVerifies(logPath: string, identity: string, sigPath = signaturePath(logPath)): { status: number | null; output: string } {
  return sshKeygen(['-Y', 'verify', '-f', allowedSignersPath, '-I', identity, '-n', AUDIT_NAMESPACE, '-s', sigPath], readFileSync(logPath));
}

/** The log with one record edited and every hash after it recomputed: a chain that verifies. */
function recomputed(lines: string[]): string[] {
  const bodies = lines.map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    delete record.seq;
    delete record.prev;
    delete record.hash;
    return record;
  });
  bodies[1] = { ...bodies[1], host: 'nobody-was-here' };
  const forged: string[] = [];
  for (const [index, body] of bodies.entries()) {
    const seq = index + 1;
    const previous = forged[forged.length - 1];
    forged.push(sealRecord(seq, previous, body.kind === 'run-end' ? { ...body, ...closingFields(seq, previous) } : body));
  }
  return forged;
}

let agent: ChildProcess | undefined;
const agentSocket = join(dir, 'agent.sock');

describe('audit log signatures (SSHSIG, interoperable with ssh-keygen -Y)', function () {
  this.timeout(120_000);

  before(async () => {
    for (const name of [...NAMES, 'stranger']) {
      const made = sshKeygen([...(KEYS[name as KeyName] ?? KEYS.ed25519), '-N', '', '-C', principal(name), '-f', key(name), '-q']);
      expect(made.status, made.output).to.equal(0);
    }
    // Every key but the stranger's may sign audit logs.
    writeFileSync(allowedSignersPath, `# drover audit signers\n${NAMES.map((name) => `${principal(name)} namespaces="${AUDIT_NAMESPACE}" ${readFileSync(`${key(name)}.pub`, 'utf8').trim()}`).join('\n')}\n`);
    agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
    for (let waited = 0; !existsSync(agentSocket); waited += 50) {
      if (waited > 30_000) throw new Error('ssh-agent did not create its socket');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const name of ['ed25519', 'rsa', 'ecdsa'] as const) {
      const added = spawnSync('ssh-add', ['-q', key(name)], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket }, encoding: 'utf8', timeout: 30_000 });
      expect(added.status, added.stderr).to.equal(0);
    }
  });

  after(() => {
    if (agent?.pid) process.kill(agent.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const name of NAMES) {
    it(`signs with a ${name} key file; drover and ssh-keygen -Y verify both name the signer`, async () => {
      const lines = logLines(6);
      const path = writeLog(lines);
      const signed = await signAuditLog(path, await openAuditSigner({ keyFile: key(name) }), lines[lines.length - 1]);
      expect(readFileSync(signed.sigPath, 'utf8')).to.match(/^-----BEGIN SSH SIGNATURE-----\n[\s\S]+\n-----END SSH SIGNATURE-----\n$/);
      const verdict = verifyAuditSignature(path, readFileSync(path), allowed(), now);
      expect(verdict, JSON.stringify(verdict)).to.include({ status: 'trusted' });
      expect(verdict.principals).to.deep.equal([principal(name)]);
      const fingerprint = sshKeygen(['-l', '-f', `${key(name)}.pub`]).output.split(' ')[1]!;
      expect(verdict.signer).to.include(fingerprint);
      const openssh = opensshVerifies(path, principal(name));
      expect(openssh.status, openssh.output).to.equal(0);
      expect(openssh.output).to.include(`Good "${AUDIT_NAMESPACE}" signature for ${principal(name)}`);
    });

    it(`verifies a signature made by ssh-keygen -Y sign with a ${name} key`, () => {
      const path = writeLog(logLines(4));
      const made = sshKeygen(['-Y', 'sign', '-f', key(name), '-n', AUDIT_NAMESPACE, path]);
      expect(made.status, made.output).to.equal(0);
      const verdict = verifyAuditSignature(path, readFileSync(path), allowed(), now);
      expect(verdict, JSON.stringify(verdict)).to.include({ status: 'trusted' });
      expect(verdict.principals).to.deep.equal([principal(name)]);
      // …and refuses the same signature over one changed byte.
      const changed = Buffer.from(readFileSync(path));
      changed[10] = changed[10]! ^ 1;
      expect(verifyAuditSignature(path, changed, allowed(), now).status).to.equal('bad');
    });
  }

  it('signs through ssh-agent: its first key, or the one a .pub file names (RSA, ECDSA); OpenSSH verifies each', async () => {
    const cases = [
      [{ agentSocket }, 'ed25519'],
      [{ agentSocket, keyFile: `${key('rsa')}.pub` }, 'rsa'],
      [{ agentSocket, keyFile: `${key('ecdsa')}.pub` }, 'ecdsa'],
    ] as const;
    for (const [settings, name] of cases) {
      const lines = logLines(5);
      const path = writeLog(lines);
      const signer = await openAuditSigner(settings);
      expect(signer.description).to.include('in ssh-agent');
      await signAuditLog(path, signer, lines[lines.length - 1]);
      const verdict = verifyAuditSignature(path, readFileSync(path), allowed(), now);
      expect(verdict.principals, JSON.stringify(verdict)).to.deep.equal([principal(name)]);
      const openssh = opensshVerifies(path, principal(name));
      expect(openssh.status, openssh.output).to.equal(0);
      // An RSA signature through the agent must be rsa-sha2-512, not the agent's SHA-1 default.
      const blob = decodeSignature(dearmor(readFileSync(signaturePath(path), 'utf8'))).signature;
      expect(new WireReader(blob, 'test').text()).to.equal({ ed25519: 'ssh-ed25519', rsa: 'rsa-sha2-512', ecdsa: 'ecdsa-sha2-nistp256' }[name]);
    }
  });

  it('catches a recomputed chain: the chain verifies, the signature does not (drover and OpenSSH)', async () => {
    const lines = logLines(6);
    const path = writeLog(lines);
    await signAuditLog(path, await openAuditSigner({ keyFile: key('ed25519') }), lines[lines.length - 1]);
    const forged = recomputed(lines);
    writeFileSync(path, forged.map((line) => `${line}\n`).join(''));
    expect(verifyChain(readFileSync(path, 'utf8')).status, 'the forged chain itself is intact').to.equal('intact');
    const verdict = verifyAuditSignature(path, readFileSync(path), allowed(), now);
    expect(verdict.status).to.equal('bad');
    expect(verdict.problem).to.match(/changed after it was signed/);
    expect(opensshVerifies(path, principal('ed25519')).status).to.not.equal(0);
  });

  it('refuses a signature by a key the allowed signers do not name (a forger re-signing with their own key)', async () => {
    const lines = logLines(5);
    const path = writeLog(lines);
    await signAuditLog(path, await openAuditSigner({ keyFile: key('stranger') }), lines[lines.length - 1]);
    const verdict = verifyAuditSignature(path, readFileSync(path), allowed(), now);
    expect(verdict.status).to.equal('untrusted');
    expect(verdict.problem).to.match(/no line/);
    expect(opensshVerifies(path, principal('stranger')).status).to.not.equal(0);
    // Without allowed signers the signature still matches, but nothing says whose it is.
    expect(verifyAuditSignature(path, readFileSync(path), undefined, now).status).to.equal('unchecked');
  });

  it('honours the allowed signers options: another namespace, a validity window already over', async () => {
    const lines = logLines(3);
    const path = writeLog(lines);
    await signAuditLog(path, await openAuditSigner({ keyFile: key('ed25519') }), lines[lines.length - 1]);
    const pub = readFileSync(`${key('ed25519')}.pub`, 'utf8').trim();
    const signersFor = (options: string) => parseAllowedSigners(`${principal('ed25519')} ${options} ${pub}\n`, 'test');
    expect(verifyAuditSignature(path, readFileSync(path), signersFor('namespaces="git,file"'), now)).to.include({ status: 'untrusted' });
    expect(verifyAuditSignature(path, readFileSync(path), signersFor('valid-before="20200101Z"'), now)).to.include({ status: 'untrusted' });
    expect(verifyAuditSignature(path, readFileSync(path), signersFor('valid-after="20200101",namespaces="drover-*"'), now)).to.include({ status: 'trusted' });
  });

  it('refuses a signature made for another namespace (a git commit signature replayed)', () => {
    const path = writeLog(logLines(3));
    expect(sshKeygen(['-Y', 'sign', '-f', key('ed25519'), '-n', 'git', path]).status).to.equal(0);
    const verdict = verifyAuditSignature(path, readFileSync(path), allowed(), now);
    expect(verdict.status).to.equal('bad');
    expect(verdict.problem).to.match(/namespace "git"/);
  });

  it('reports a log with no signature as missing', () => {
    const path = writeLog(logLines(3));
    expect(verifyAuditSignature(path, readFileSync(path), allowed(), now).status).to.equal('missing');
  });

  it('refuses to sign a log that changed on disk during the run, and names the fix for an encrypted key', async () => {
    const lines = logLines(4);
    const path = writeLog(recomputed(lines));
    const signer = await openAuditSigner({ keyFile: key('ed25519') });
    let refused: unknown;
    await signAuditLog(path, signer, lines[lines.length - 1]).catch((error: unknown) => (refused = error));
    expect(refused).to.be.instanceOf(AuditSignError);
    expect(existsSync(signaturePath(path))).to.equal(false);

    const encrypted = join(dir, 'encrypted');
    expect(sshKeygen(['-t', 'ed25519', '-N', 'secret passphrase', '-f', encrypted, '-q']).status).to.equal(0);
    const error = await openAuditSigner({ keyFile: encrypted }).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(AuditSignError);
    expect((error as AuditSignError).hint).to.include(`ssh-add ${encrypted}`);
    const noAgent = await openAuditSigner({}).catch((caught: unknown) => caught);
    expect((noAgent as AuditSignError).message).to.include('SSH_AUTH_SOCK is not set');
  });
});
