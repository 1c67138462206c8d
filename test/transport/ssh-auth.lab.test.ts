/**
 * Authentication over real SSH: encrypted key files, ssh-agent, passwords, and the errors when none of
 * them can work.
 */
import { expect } from 'chai';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Secret } from '../../runner/secret.ts';
import { connectSsh, keyNeedsPassphrase } from '../../runner/transport/ssh.ts';
import { UnreachableError, type ConnectionSpec } from '../../runner/transport/transport.ts';
import { generateKey, describeWithSshd, startSshd, withTestUser, type KeyPair, type TestSshd } from '../support/sshd.ts';
import { countRetries, eventually, specFor } from './fixtures.ts';

const run = promisify(execFile);

async function whoami(spec: ConnectionSpec): Promise<string> {
  const connection = await connectSsh(spec);
  try {
    return (await connection.exec('id -un', { timeoutMs: 5000 })).stdout.trim();
  } finally {
    await connection.close();
  }
}

async function failure(spec: ConnectionSpec): Promise<UnreachableError> {
  const error = await connectSsh(spec).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).to.be.instanceOf(UnreachableError);
  return error as UnreachableError;
}

describeWithSshd('transport/ssh authentication (real sshd)', function () {
  this.timeout(30_000);
  let server: TestSshd;
  let encrypted: KeyPair;
  let agentKey: KeyPair;
  let plainKey: KeyPair;
  let keysDir: string;

  before(async () => {
    keysDir = await mkdtemp(join(tmpdir(), 'drover-keys-'));
    encrypted = await generateKey(keysDir, 'encrypted', { passphrase: 'correct horse' });
    agentKey = await generateKey(keysDir, 'agent');
    plainKey = await generateKey(keysDir, 'plain');
    server = await startSshd({ authorizedKeys: [encrypted.publicKey, agentKey.publicKey, plainKey.publicKey], passwordAuthentication: true });
  });
  after(async () => {
    await server?.stop();
    await rm(keysDir, { recursive: true, force: true });
  });

  describe('private key files', () => {
    it('tells whether a key file needs a passphrase', async () => {
      expect(await keyNeedsPassphrase(encrypted.privateKeyFile)).to.equal(true);
      expect(await keyNeedsPassphrase(plainKey.privateKeyFile)).to.equal(false);
    });

    it('logs in with an encrypted key and its passphrase', async () => {
      const spec = await specFor(server, { privateKeyFile: encrypted.privateKeyFile, passphrase: new Secret('correct horse') });
      expect(await whoami(spec)).to.equal('root');
    });

    it('says clearly that an encrypted key needs its passphrase', async () => {
      const error = await failure(await specFor(server, { name: 'node2', privateKeyFile: encrypted.privateKeyFile }));
      expect(error.host).to.equal('node2');
      expect(error.message).to.contain(`the private key ${encrypted.privateKeyFile} is encrypted and no passphrase was given`);
      expect(error.hint).to.contain('passphrase').and.contain('ssh-add');
    });

    it('says the passphrase is wrong, without showing it', async () => {
      const error = await failure(await specFor(server, { privateKeyFile: encrypted.privateKeyFile, passphrase: new Secret('battery staple') }));
      expect(error.message).to.contain('is wrong').and.not.contain('battery staple');
    });

    it('names a key file that cannot be read', async () => {
      const error = await failure(await specFor(server, { privateKeyFile: '/nonexistent/id_ed25519' }));
      expect(error.message).to.contain('cannot read the private key /nonexistent/id_ed25519');
      expect(error.hint).to.contain('ansible_ssh_private_key_file');
    });

    it('names a file that is not a private key', async () => {
      const notAKey = join(server.dir, 'not-a-key');
      await writeFile(notAKey, 'hello\n');
      const error = await failure(await specFor(server, { privateKeyFile: notAKey }));
      expect(error.message).to.contain(`${notAKey} is not a private key`);
    });
  });

  describe('ssh-agent', () => {
    let agent: ChildProcess;
    let socket: string;
    before(async () => {
      socket = join(server.dir, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      await eventually(
        async () =>
          run('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: socket } }).then(
            () => true,
            (error: { code?: number }) => error.code === 1,
          ),
        15_000,
        'ssh-agent to listen',
      );
      await run('ssh-add', [agentKey.privateKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    });
    after(() => {
      agent?.kill();
    });

    it('logs in with a key held by ssh-agent', async () => {
      const spec = await specFor(server, { agentSocket: socket });
      delete spec.privateKeyFile;
      expect(await whoami(spec)).to.equal('root');
    });

    it('goes on to the next method when the agent socket is dead', async () => {
      const spec = await specFor(server, { agentSocket: join(server.dir, 'no-agent-here.sock'), privateKeyFile: plainKey.privateKeyFile });
      expect(await whoami(spec)).to.equal('root');
    });
  });

  describe('passwords', () => {
    // A throwaway user with a random password, deleted afterwards (userdel); sshd here listens on
    // 127.0.0.1 only and lives for this test file alone.
    const user = 'drovertest';
    const password = `pw-${randomBytes(9).toString('base64url')}`;
    let removeUser: () => Promise<void>;
    before(async () => {
      removeUser = await withTestUser(user, password);
    });
    after(async () => removeUser?.());

    it('logs in with a password, even past a dead agent socket', async () => {
      const spec = await specFor(server, { user, password: new Secret(password), agentSocket: join(server.dir, 'none.sock') });
      delete spec.privateKeyFile;
      expect(await whoami(spec)).to.equal(user);
    });

    it('reports a wrong password as an authentication failure that does not contain it, without retrying', async () => {
      const wrong = `wrong-${randomBytes(6).toString('hex')}`;
      const spec = await specFor(server, { user, password: new Secret(wrong), connectRetries: 3 });
      delete spec.privateKeyFile;
      const retries = countRetries();
      const error = await failure(spec).finally(retries.restore);
      expect(error.message).to.contain(`authentication as ${user} failed`).and.contain('password');
      expect(`${error.message} ${error.hint ?? ''}`).not.to.contain(wrong);
      // One attempt: no pause for a retry (sshd delays a failed password by design, so time tells nothing).
      expect(retries.pauses()).to.equal(0);
    });
  });

  it('refuses to connect with no way to log in, saying what to set', async () => {
    const spec = await specFor(server, { agentSocket: undefined });
    delete spec.privateKeyFile;
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const error = await failure(spec);
      expect(error.message).to.contain('no way to log in as root');
      expect(error.hint).to.contain('ansible_ssh_private_key_file');
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });
});
