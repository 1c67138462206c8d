/**
 * getUrl without a lab: URL validation, the plan from a probed state (download, nothing, metadata only),
 * the download script's quoting, and the controller download (one per URL and sha256, verified) against
 * a Node HTTP server on 127.0.0.1.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileState } from '../../modules/facts/file-state.ts';
import { controllerDownload, downloadScript, getUrl, planGetUrl, urlProblem } from '../../modules/get-url.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';

const BODY = Buffer.from('payload v1\n');
const SHA = createHash('sha256').update(BODY).digest('hex');
const OTHER = 'a'.repeat(64);
const parse = (input: Record<string, unknown>) => getUrl.params.parse({ url: 'http://10.0.0.1/f', dest: '/opt/f', sha256: SHA, ...input }, '');
const absent: FileState = { path: '/opt/f', resolved: false, kind: 'absent', parentExists: true };
const file = (sha256: string, extra: Partial<FileState> = {}): FileState => ({
  path: '/opt/f',
  resolved: false,
  kind: 'file',
  parentExists: true,
  mode: '644',
  uid: 0,
  gid: 0,
  owner: 'root',
  group: 'root',
  size: 11,
  sha256,
  ...extra,
});

describe('getUrl: parameters', () => {
  it('accepts http and https URLs only, without credentials, spaces or control characters', () => {
    expect(urlProblem('https://get.helm.sh/helm.tgz')).to.equal(undefined);
    expect(urlProblem('http://10.0.0.2:8000/a%20b?x=1&y=2')).to.equal(undefined);
    expect(urlProblem('file:///etc/shadow')).to.match(/scheme file/);
    expect(urlProblem('ftp://x/y')).to.match(/scheme ftp/);
    expect(urlProblem('gopher://x/y')).to.match(/scheme gopher/);
    expect(urlProblem('https://user:pw@x/y')).to.match(/credentials/);
    expect(urlProblem('http://x/a b')).to.match(/space or a control/);
    expect(urlProblem('http://x/a\nb')).to.match(/space or a control/);
    expect(urlProblem('-o/etc/passwd')).to.equal('is not a URL');
    expect(urlProblem("http://x/$(id>/tmp/pwned)'`id`;rm")).to.equal(undefined); // legal URL characters: quoted, never run
    expect(() => parse({ url: 'file:///etc/passwd' })).to.throw(SchemaError, /only http and https/);
  });

  it('requires a 64-hex sha256 (sha256: prefix and upper case accepted)', () => {
    expect(() => getUrl.params.parse({ url: 'http://x/f', dest: '/opt/f' }, '')).to.throw(SchemaError);
    expect(() => parse({ sha256: 'abc' })).to.throw(SchemaError);
    expect(() => parse({ sha256: `md5:${SHA}` })).to.throw(SchemaError);
    expect(planGetUrl(parse({ sha256: `sha256:${SHA.toUpperCase()}` }), file(SHA)).changes).to.deep.equal([]);
  });

  it('refuses a relative dest and one ending in a slash', () => {
    expect(() => parse({ dest: 'opt/f' })).to.throw(SchemaError);
    expect(() => parse({ dest: '/opt/' })).to.throw(SchemaError);
  });
});

describe('getUrl: plan from the probed file', () => {
  it('same sha256 on the host: nothing to do, no download', () => {
    const plan = planGetUrl(parse({}), file(SHA));
    expect(plan.changes).to.deep.equal([]);
    expect(plan.reason).to.equal(`/opt/f already has sha256 ${SHA.slice(0, 12)}…; nothing downloaded`);
  });

  it('same sha256 but another mode: only chmod, no download', () => {
    const plan = planGetUrl(parse({ mode: '0600' }), file(SHA));
    expect(plan.changes).to.have.length(1);
    const text = plan.changes[0]!.commands.map((c) => ('text' in c.run ? c.run.text : '')).join('\n');
    expect(text).to.include('chmod').and.not.include('curl');
  });

  it('absent or different: one command that downloads to a temp file, checks the hash and renames', () => {
    for (const state of [absent, file(OTHER)]) {
      const plan = planGetUrl(parse({ mode: '0640', owner: 'root' }), state);
      expect(plan.changes).to.have.length(1);
      const [change] = plan.changes;
      expect(change!.summary).to.match(state.kind === 'absent' ? /^download http:\/\/10.0.0.1\/f → \/opt\/f/ : /^replace \(sha256 differs\)/);
      expect(change!.diff).to.include({ kind: 'file', path: '/opt/f', after: `(download of http://10.0.0.1/f, sha256 ${SHA})` });
      expect(change!.commands).to.have.length(1);
      const command = change!.commands[0]!;
      expect(command.stdin).to.equal(undefined);
      const text = 'text' in command.run ? command.run.text : '';
      expect(text).to.include('mktemp /opt/.drover."$$".XXXXXXXX').and.include(`want=${SHA}`).and.include('chmod 0640 -- "$tmp"');
      expect(text)
        .to.match(/chown root(:0)? -- "\$tmp"/)
        .and.include('mv -f -- "$tmp" /opt/f');
      expect(text.indexOf('got" != "$want"')).to.be.lessThan(text.indexOf('mv -f'));
    }
  });

  it('a missing directory fails unless createParents; a directory at dest fails', () => {
    expect(() => planGetUrl(parse({}), { ...absent, parentExists: false })).to.throw(ModuleError, /directory \/opt does not exist/);
    const text = (planGetUrl(parse({ createParents: true }), { ...absent, parentExists: false }).changes[0]!.commands[0]!.run as { text: string }).text;
    expect(text).to.include('mkdir -p -- /opt');
    expect(() => planGetUrl(parse({}), { ...absent, kind: 'directory' })).to.throw(ModuleError, /is a directory/);
  });

  it('the URL is one quoted word: its shell characters never reach the shell unquoted', () => {
    const url = "http://x/$(id>/tmp/pwned)'`id`;rm";
    const text = downloadScript(url, SHA, 60, '/opt/f').text;
    expect(text).to.include(`url='http://x/$(id>/tmp/pwned)'\\''\`id\`;rm'`);
    // Every other use is "$url" or a quoted word; curl gets it after --url, wget after --.
    expect(text).to.include('--url "$url"').and.include('-- "$url"');
  });
});

describe('getUrl: download on the controller', function () {
  this.timeout(60_000);
  let server: Server;
  let base: string;
  const requests: string[] = [];

  before(async () => {
    server = createServer((request, response) => {
      requests.push(request.url ?? '');
      if (request.url === '/redirect-file') {
        response.writeHead(302, { location: 'file:///etc/passwd' });
        response.end();
        return;
      }
      if (request.url === '/missing') {
        response.writeHead(404);
        response.end();
        return;
      }
      // Slow enough that concurrent callers overlap.
      setTimeout(() => response.end(BODY), 200);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('100 hosts asking at once share one download; the file has the verified bytes', async () => {
    requests.length = 0;
    const sources = await Promise.all(Array.from({ length: 100 }, () => controllerDownload(`${base}/shared`, SHA, 30)));
    expect(requests).to.deep.equal(['/shared']);
    expect(new Set(sources).size).to.equal(1);
    expect(sources[0]!.sha256).to.equal(SHA);
    expect(sources[0]!.size).to.equal(BODY.length);
    // A later host of the same run: still no second download.
    await controllerDownload(`${base}/shared`, SHA, 30);
    expect(requests).to.deep.equal(['/shared']);
  });

  it('a checksum mismatch fails with expected and actual, and is not cached (a retry downloads again)', async () => {
    requests.length = 0;
    const error = await controllerDownload(`${base}/bad`, OTHER, 30).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as Error).message).to.equal(`sha256 mismatch for ${base}/bad (downloaded on the controller): expected ${OTHER}, got ${SHA}; no host was changed`);
    await controllerDownload(`${base}/bad`, OTHER, 30).catch(() => undefined);
    expect(requests).to.deep.equal(['/bad', '/bad']);
  });

  it('the downloads are removed from the controller when the process exits', async () => {
    const temp = mkdtempSync(join(tmpdir(), 'drover-get-url-exit-'));
    try {
      // A process of its own, whose temp directory is `temp`: it downloads once, says so, and exits.
      const program = `const { controllerDownload } = await import(${JSON.stringify(new URL('../../modules/get-url.ts', import.meta.url).href)});
        const { readdirSync } = await import('node:fs');
        await controllerDownload(${JSON.stringify(`${base}/shared`)}, ${JSON.stringify(SHA)}, 30);
        console.log(readdirSync(${JSON.stringify(temp)}).filter((name) => name.startsWith('drover-get-url-')).length);`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { env: { ...process.env, TMPDIR: temp }, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect([status, stdout.trim()]).to.deep.equal([0, '1']);
      // tsx keeps its cache there too; the downloads are drover's.
      expect(readdirSync(temp).filter((name) => name.startsWith('drover-get-url-'))).to.deep.equal([]);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it('an HTTP error and a redirect to another scheme fail', async () => {
    const missing = await controllerDownload(`${base}/missing`, SHA, 30).catch((caught: unknown) => caught);
    expect((missing as Error).message).to.match(/HTTP 404/);
    const redirect = await controllerDownload(`${base}/redirect-file`, SHA, 30).catch((caught: unknown) => caught);
    expect(redirect).to.be.instanceOf(ModuleError);
  });
});
