/**
 * Host key checking over real SSH: what the handshake accepts, refuses and records, with known_hosts
 * files written the way OpenSSH's own tools write them (ssh-keyscan, ssh-keygen -H).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectSsh } from '../../runner/transport/ssh.ts';
import { HostKeyError, type ConnectionSpec } from '../../runner/transport/transport.ts';
import { generateKey, describeWithSshd, startSshd, type TestSshd } from '../support/sshd.ts';
import { countMatches, specFor } from './fixtures.ts';

const run = promisify(execFile);

async function connectError(spec: ConnectionSpec): Promise<unknown> {
  return connectSsh(spec).then(
    async (connection) => {
      await connection.close();
      return undefined;
    },
    (error: unknown) => error,
  );
}

async function connectsAndRuns(spec: ConnectionSpec): Promise<void> {
  const connection = await connectSsh(spec);
  try {
    expect((await connection.exec('echo ok', { timeoutMs: 5000 })).stdout).to.equal('ok\n');
  } finally {
    await connection.close();
  }
}

describeWithSshd('transport/ssh host keys (real sshd)', function () {
  this.timeout(30_000);
  let server: TestSshd;
  let hostFingerprint: string;
  let knownHosts: string;

  before(async () => {
    server = await startSshd();
    // The fingerprint as OpenSSH prints it: `256 SHA256:… comment (ED25519)`.
    const { stdout } = await run('ssh-keygen', ['-lf', `${server.hostKey.privateKeyFile}.pub`]);
    hostFingerprint = stdout.split(' ')[1] ?? '';
    knownHosts = join(server.dir, 'kh-under-test');
  });
  after(async () => server?.stop());

  const spec = async (policy: ConnectionSpec['hostKeyPolicy'], overrides: Partial<ConnectionSpec> = {}) => specFor(server, { knownHostsFiles: [knownHosts], hostKeyPolicy: policy, ...overrides });

  it('accepts a host recorded by ssh-keyscan', async () => {
    const { stdout } = await run('ssh-keyscan', ['-p', String(server.port), '-t', 'ed25519', '127.0.0.1']);
    await writeFile(knownHosts, stdout);
    await connectsAndRuns(await spec('strict'));
  });

  it('refuses an unknown host key under strict, with the fingerprint and the way out, without retrying', async () => {
    await writeFile(knownHosts, '');
    const connectionsBefore = countMatches(server.log(), /Connection from 127\.0\.0\.1/);
    const error = await connectError(await spec('strict', { name: 'node1', connectRetries: 3 }));
    expect(error).to.be.instanceOf(HostKeyError);
    const hostKeyError = error as HostKeyError;
    expect(hostKeyError.host).to.equal('node1');
    expect(hostKeyError.fingerprint).to.equal(hostFingerprint);
    expect(hostKeyError.message).to.contain(hostFingerprint).and.contain(`node1 (127.0.0.1:${server.port})`).and.contain('is not known');
    expect(hostKeyError.hint).to.contain('--accept-new-host-keys').and.contain(`ssh-keyscan -p ${server.port} 127.0.0.1`);
    expect(countMatches(server.log(), /Connection from 127\.0\.0\.1/) - connectionsBefore).to.equal(1);
  });

  it('records an unknown key under accept-new, and the next connection passes under strict', async () => {
    const fresh = join(server.dir, 'accept-new', 'known_hosts');
    await connectsAndRuns(await spec('accept-new', { knownHostsFiles: [fresh] }));
    expect(await readFile(fresh, 'utf8')).to.equal(`${server.knownHostsLine()}\n`);
    await connectsAndRuns(await spec('strict', { knownHostsFiles: [fresh] }));
    // OpenSSH's client agrees with what was recorded.
    await run('ssh', [
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${fresh}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-i',
      server.clientKey?.privateKeyFile ?? '',
      '-p',
      String(server.port),
      'root@127.0.0.1',
      'true',
    ]);
  });

  it('refuses a changed host key even under accept-new, and leaves known_hosts alone', async () => {
    const impostor = await generateKey(server.dir, 'impostor');
    const recorded = `[127.0.0.1]:${server.port} ${impostor.type} ${impostor.blob}\n`;
    await writeFile(knownHosts, recorded);
    const error = await connectError(await spec('accept-new'));
    expect(error).to.be.instanceOf(HostKeyError);
    expect((error as HostKeyError).message)
      .to.contain('CHANGED')
      .and.contain(hostFingerprint);
    expect((error as HostKeyError).hint).to.contain(`ssh-keygen -R '[127.0.0.1]:${server.port}' -f ${knownHosts}`);
    expect(await readFile(knownHosts, 'utf8')).to.equal(recorded);
  });

  it('accepts a hashed known_hosts entry made by ssh-keygen -H', async () => {
    await writeFile(knownHosts, `${server.knownHostsLine()}\n`);
    await run('ssh-keygen', ['-H', '-f', knownHosts]);
    const text = await readFile(knownHosts, 'utf8');
    expect(text.startsWith('|1|'), 'the entry is hashed').to.equal(true);
    expect(text).not.to.contain('127.0.0.1');
    await connectsAndRuns(await spec('strict'));
  });

  it('does not take a bare host entry for a non-standard port (OpenSSH records [host]:port)', async () => {
    await writeFile(knownHosts, `127.0.0.1 ${server.hostKey.type} ${server.hostKey.blob}\n`);
    expect(await connectError(await spec('strict'))).to.be.instanceOf(HostKeyError);
  });

  it('treats a host known only by a key of another type as unknown, as OpenSSH does, and says so', async () => {
    const other = await generateKey(server.dir, 'other-type', { type: 'ecdsa' });
    await writeFile(knownHosts, `[127.0.0.1]:${server.port} ${other.type} ${other.blob}\n`);
    const error = await connectError(await spec('strict'));
    expect(error).to.be.instanceOf(HostKeyError);
    expect((error as HostKeyError).message).to.contain('only keys of other types: ecdsa-sha2-nistp256');
  });

  it('refuses a key marked @revoked', async () => {
    await writeFile(knownHosts, `${server.knownHostsLine()}\n@revoked * ${server.hostKey.type} ${server.hostKey.blob}\n`);
    const error = await connectError(await spec('accept-new'));
    expect((error as HostKeyError).message).to.contain('@revoked');
  });

  it('checks nothing under insecure-ignore, and writes no known_hosts', async () => {
    const absent = join(server.dir, 'never-written');
    await connectsAndRuns(await spec('insecure-ignore', { knownHostsFiles: [absent] }));
    expect(existsSync(absent)).to.equal(false);
  });
});
