import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { controllerPath, fetchModule, fetchProbe, parseFetchProbe } from '../../modules/fetch.ts';
import { Download, DownloadError } from '../../runner/engine/download.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('fetch: where the copy goes', () => {
  const table: Array<[string, string, string, boolean, string]> = [
    ['out', '/etc/hosts', 'web-1', false, resolve('out/web-1/etc/hosts')],
    ['/srv/f/', '/etc/kubernetes/admin.conf', 'cp', false, '/srv/f/cp/etc/kubernetes/admin.conf'],
    ['/srv/ca.crt', '/etc/pki/ca.crt', 'cp', true, '/srv/ca.crt'],
    ['/srv/', '/etc/pki/ca.crt', 'cp', true, '/srv/ca.crt'],
  ];
  for (const [dest, src, host, flat, path] of table) it(`${dest} + ${host}:${src}${flat ? ' (flat)' : ''} → ${path}`, () => expect(controllerPath(dest, src, host, flat)).to.equal(path));

  it('refuses a host name or src that would climb out of dest', () => {
    expect(() => controllerPath('/srv', '/etc/x', '..', false)).to.throw(ModuleError, /cannot be a directory name/);
    expect(() => controllerPath('/srv', '/etc/x', 'a/b', false)).to.throw(ModuleError, /cannot be a directory name/);
    expect(() => controllerPath('/srv', '/etc/../../x', 'h', false)).to.throw(ModuleError, /".." component/);
  });
});

describe('fetch: the probe', () => {
  it('parses size, sha256 and whether everyone may read the file', () => {
    expect(parseFetchProbe('/p', 'h', `kind=file\nstat=12 640\nsha256=${'a'.repeat(64)}\n`, 0, '')).to.deep.equal({ size: 12, sha256: 'a'.repeat(64), worldReadable: false });
    expect(parseFetchProbe('/p', 'h', `kind=file\nstat=0 644\nsha256=${'b'.repeat(64)}\n`, 0, '')).to.deep.include({ worldReadable: true });
    expect(parseFetchProbe('/p', 'h', 'kind=absent\n', 0, '')).to.equal('absent');
  });
  it('fails for a directory and for a file it could not read, naming path and host', () => {
    expect(() => parseFetchProbe('/p', 'h', 'kind=other\n', 0, '')).to.throw(ModuleError, '/p on h is not a regular file');
    expect(() => parseFetchProbe('/p', 'h', 'kind=file\nstat=1 600\n', 1, 'sh: cannot open /p: Permission denied')).to.throw(ModuleError, 'could not read /p on h: sh: cannot open /p: Permission denied');
  });
  it('quotes a hostile src', () => {
    expect(fetchProbe("/tmp/a'$(reboot)").text).to.contain(`p='/tmp/a'\\''$(reboot)'`);
  });
});

describe('fetch: the plan against the controller copy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-fetch-'));
  const probe = (content: string) => new RecordedHost([{ match: 'sha256sum', output: { stdout: `kind=file\nstat=${content.length} 600\nsha256=${sha(content)}\n` } }], 'h1');

  it('no copy yet: one streamed command, a diff of checksums, mode 0600 for a private file', async () => {
    const plan = await planOn(fetchModule, { src: '/etc/secret', dest: dir }, probe('hello\n'));
    expect(plan.changes).to.have.length(1);
    expect(plan.changes[0]!.diff).to.deep.equal({ kind: 'value', name: `${dir}/h1/etc/secret sha256`, before: null, after: sha('hello\n') });
    expect(plan.changes[0]!.commands[0]!.stdoutTo).to.deep.equal({ path: `${dir}/h1/etc/secret`, sha256: sha('hello\n'), mode: 0o600 });
    expect(plan.value).to.deep.equal({ dest: `${dir}/h1/etc/secret`, sha256: sha('hello\n'), size: 6 });
  });

  it('a copy with the same sha256: nothing to do', async () => {
    writeFileSync(join(dir, 'same'), 'hello\n');
    const plan = await planOn(fetchModule, { src: '/etc/x', dest: join(dir, 'same'), flat: true }, probe('hello\n'));
    expect(plan.changes).to.deep.equal([]);
    expect(plan.reason).to.match(/is up to date/);
  });

  it('a missing src fails, or with failOnMissing false is ok', async () => {
    const absent = new RecordedHost([{ match: 'sha256sum', output: { stdout: 'kind=absent\n' } }], 'h1');
    expect(await planOn(fetchModule, { src: '/x', dest: dir }, absent).catch((error: Error) => error.message)).to.equal('no file at /x on h1');
    expect((await planOn(fetchModule, { src: '/x', dest: dir, failOnMissing: false }, absent)).reason).to.equal('/x does not exist on h1: nothing fetched');
  });
});

describe('fetch: the controller-side download', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-download-'));

  it('writes chunk by chunk, checks the sha256, renames into place with the mode', () => {
    const path = join(dir, 'sub/ok');
    const download = new Download({ path, sha256: sha('abcdef'), mode: 0o600 });
    download.write(Buffer.from('abc'));
    download.write(Buffer.from('def'));
    download.finish(true);
    expect(readFileSync(path, 'utf8')).to.equal('abcdef');
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    expect(readdirSync(join(dir, 'sub'))).to.deep.equal(['ok']);
  });

  it('a wrong checksum leaves no file under the real name and no temporary file', () => {
    const path = join(dir, 'bad');
    const download = new Download({ path, sha256: sha('expected'), mode: 0o644 });
    download.write(Buffer.from('other'));
    expect(() => download.finish(true)).to.throw(DownloadError, /the file changed while it was copied/);
    expect(existsSync(path)).to.equal(false);
    expect(readdirSync(dir).filter((name) => name.includes('bad'))).to.deep.equal([]);
  });

  it('a failed command removes the temporary file quietly (the command failure is the error)', () => {
    const path = join(dir, 'failed');
    const download = new Download({ path, sha256: sha('x'), mode: 0o644 });
    download.write(Buffer.from('x'));
    download.finish(false);
    expect(readdirSync(dir).filter((name) => name.includes('failed'))).to.deep.equal([]);
  });
});
