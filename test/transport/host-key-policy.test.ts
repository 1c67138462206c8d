import { expect } from 'chai';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHostKey, recordHostKey } from '../../runner/transport/host-key-policy.ts';
import { HostKeyError } from '../../runner/transport/transport.ts';

const ED_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIARjJ6EehbegrHOMeVB3bJaxlC+2uHtqza96lOJrLdaA';
const ED_A_FINGERPRINT = 'SHA256:fc4xYW3ujZQy7utJN/B7tqvHrx7N3uAL6G6AOPkhyNQ';
const ED_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIOtCi0taqXoh7sjFbYT8LJmLQjdFwtt3/olpFZKKKFNY';
const keyA = Buffer.from(ED_A, 'base64');

describe('transport/host-key-policy', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-hostkeys-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const spec = (knownHostsFiles: string[], hostKeyPolicy: 'strict' | 'accept-new') => ({
    name: 'node1',
    address: '10.0.0.5',
    port: 2222,
    knownHostsFiles,
    hostKeyPolicy,
  });

  it('refuses an unknown key under strict, naming host, address, fingerprint and the way out', async () => {
    const error = await checkHostKey(spec([join(dir, 'missing')], 'strict'), keyA).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).to.be.instanceOf(HostKeyError);
    const hostKeyError = error as HostKeyError;
    expect(hostKeyError.host).to.equal('node1');
    expect(hostKeyError.fingerprint).to.equal(ED_A_FINGERPRINT);
    expect(hostKeyError.message).to.contain('node1 (10.0.0.5:2222)').and.contain(ED_A_FINGERPRINT).and.contain('[10.0.0.5]:2222');
    expect(hostKeyError.hint).to.contain('--accept-new-host-keys').and.contain('ssh-keyscan -p 2222 10.0.0.5');
  });

  it('records an unknown key under accept-new, creating the file 0600 in a new 0700 directory', async () => {
    const file = join(dir, 'new-dir', 'known_hosts');
    await checkHostKey(spec([file], 'accept-new'), keyA);
    expect(await readFile(file, 'utf8')).to.equal(`[10.0.0.5]:2222 ssh-ed25519 ${ED_A}\n`);
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect((await stat(join(dir, 'new-dir'))).mode & 0o777).to.equal(0o700);
    // Recorded means known: strict accepts it now.
    await checkHostKey(spec([file], 'strict'), keyA);
  });

  it('refuses a changed key even under accept-new, with the ssh-keygen -R command', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `[10.0.0.5]:2222 ssh-ed25519 ${ED_B}\n`);
    const error = await checkHostKey(spec([file], 'accept-new'), keyA).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).to.be.instanceOf(HostKeyError);
    expect((error as HostKeyError).message)
      .to.contain('CHANGED')
      .and.contain(`${file}:1`);
    expect((error as HostKeyError).hint).to.contain(`ssh-keygen -R '[10.0.0.5]:2222' -f ${file}`);
    expect(await readFile(file, 'utf8')).to.equal(`[10.0.0.5]:2222 ssh-ed25519 ${ED_B}\n`);
  });

  it('refuses a revoked key under every policy that checks', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `@revoked * ssh-ed25519 ${ED_A}\n`);
    for (const policy of ['strict', 'accept-new'] as const) {
      const error = await checkHostKey(spec([file], policy), keyA).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect((error as HostKeyError).message).to.contain('@revoked');
    }
  });

  it('consults every known_hosts file given and records into the first', async () => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    await writeFile(second, `[10.0.0.5]:2222 ssh-ed25519 ${ED_A}\n`);
    await checkHostKey(spec([first, second], 'strict'), keyA);
  });

  it('appends from many concurrent connections without losing, interleaving or duplicating lines', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `# no newline at the end`);
    const names = Array.from({ length: 40 }, (_, index) => `[10.0.1.${index}]:22`);
    await Promise.all([
      ...names.map((name) => recordHostKey(file, name, keyA)),
      // The same jump host recorded by many targets at once: one line.
      ...Array.from({ length: 10 }, () => recordHostKey(file, 'bastion', keyA)),
    ]);
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines[0]).to.equal('# no newline at the end');
    expect(lines.at(-1)).to.equal('');
    const recorded = lines.slice(1, -1);
    expect(recorded).to.have.length(41);
    expect(recorded.filter((line) => line.startsWith('bastion '))).to.have.length(1);
    for (const name of names) expect(recorded).to.include(`${name} ssh-ed25519 ${ED_A}`);
  });
});
