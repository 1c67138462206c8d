/**
 * getUrl on real lab hosts. Traffic goes only to lab hosts and loopback: lab-2 serves files with
 * `python3 -m http.server` (its request log, read back over SSH, tells whether a download happened) and
 * lab-1 downloads from lab-2's address; for `fromController`, a Node HTTP server on the controller's
 * 127.0.0.1 serves the file and counts the requests while both hosts receive it.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getUrl } from '../../modules/get-url.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const SERVED = '/tmp/drover-get-url-served';
const DIR = '/tmp/drover-get-url';
const PORT = 18_431;
const V1 = 'release v1\n'.repeat(1000);
const V2 = 'release v2\n'.repeat(1000);
// No slash in the name: $(touch drover-get-url-pwned) would create the marker in the shell's directory.
const HOSTILE_DEST = `${DIR}/a'b $(touch drover-get-url-pwned) \`id\`;c`;
const PWNED = '~/drover-get-url-pwned /drover-get-url-pwned /tmp/drover-get-url-pwned';

describe('getUrl on lab hosts', function () {
  let client: LabTarget;
  let server: LabTarget;
  let base: string;

  const requests = async (): Promise<string[]> => {
    const log = await onHost(server, `cat ${SERVED}.log`);
    return log.stdout.split('\n').filter((line) => line.includes('"GET '));
  };
  const onClient = async (script: string) => (await onHost(client, script)).stdout.trim();

  before(async function () {
    [client, server] = (await labTargets(this, 2)) as [LabTarget, LabTarget];
    const setup = await onHost(
      server,
      `rm -rf ${SERVED} ${SERVED}.log; mkdir -p ${SERVED} && printf '%s' '${V1}' > ${SERVED}/v1 && printf '%s' '${V2}' > ${SERVED}/v2
cd ${SERVED} && (setsid python3 -m http.server ${PORT} --bind ${server.address} > ${SERVED}.log 2>&1 < /dev/null & echo $! > ${SERVED}.pid)
for i in $(seq 50); do python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)' ${server.address} ${PORT} 2>/dev/null && exit 0; sleep 0.2; done; exit 1`,
    );
    expect(setup.exitCode, setup.stderr).to.equal(0);
    base = `http://${server.address}:${PORT}`;
    const prep = await onHost(client, `rm -rf ${DIR} ${PWNED}; mkdir -p ${DIR}`);
    expect(prep.exitCode, prep.stderr).to.equal(0);
  });
  after(async () => {
    // The server started in before(), by its process id.
    await onHost(server, `kill "$(cat ${SERVED}.pid)"; rm -rf ${SERVED} ${SERVED}.log ${SERVED}.pid`);
    await onHost(client, `rm -rf ${DIR} ${PWNED}`);
  });

  it('downloads with python3 (no curl or wget on the host), verified, with the asked mode; a re-run downloads nothing', async () => {
    expect(await onClient('command -v curl wget || echo none')).to.equal('none');
    const params = { url: `${base}/v1`, dest: `${DIR}/pkg`, sha256: sha(V1), mode: '0640', group: 'daemon' };
    const first = await applyModule(client, getUrl, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(await onClient(`sha256sum < ${DIR}/pkg | cut -d' ' -f1; stat -c '%a %U:%G' ${DIR}/pkg`)).to.equal(`${sha(V1)}\n640 root:daemon`);
    expect(await requests()).to.have.length(1);

    const again = await applyModule(client, getUrl, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands).to.deep.equal([]);
    expect(await requests()).to.have.length(1);

    // Only the mode differs: put right without a download.
    const mode = await applyModule(client, getUrl, { ...params, mode: '0600' });
    expect(mode.status, mode.msg).to.equal('changed');
    expect(await onClient(`stat -c %a ${DIR}/pkg`)).to.equal('600');
    expect(await requests()).to.have.length(1);
  });

  it('check mode reports the download and changes nothing on the host, nor downloads', async () => {
    const check = await applyModule(client, getUrl, { url: `${base}/v2`, dest: `${DIR}/pkg`, sha256: sha(V2) }, { check: true });
    expect(check.status, check.msg).to.equal('changed');
    expect(check.checkMode).to.equal(true);
    expect(check.changes[0]).to.match(/^replace \(sha256 differs\) with download/);
    expect(await onClient(`sha256sum < ${DIR}/pkg | cut -d' ' -f1`)).to.equal(sha(V1));
    expect(await requests()).to.have.length(1);
  });

  it('a checksum mismatch fails with expected and actual, leaves the old file and no temp file', async () => {
    const wrong = sha('something else');
    const result = await applyModule(client, getUrl, { url: `${base}/v2`, dest: `${DIR}/pkg`, sha256: wrong });
    expect(result.status).to.equal('failed');
    expect(result.msg)
      .to.include(`sha256 mismatch for ${base}/v2: expected ${wrong}, got ${sha(V2)}`)
      .and.include('was left as it was');
    expect(await onClient(`sha256sum < ${DIR}/pkg | cut -d' ' -f1; ls -A ${DIR} | grep -c drover || true`)).to.equal(`${sha(V1)}\n0`);
    expect(await requests()).to.have.length(2);

    // A URL the server does not have: the download fails, the file stays.
    const missing = await applyModule(client, getUrl, { url: `${base}/nothing`, dest: `${DIR}/pkg`, sha256: sha(V2) });
    expect(missing.status).to.equal('failed');
    expect(missing.msg).to.match(/download of .*\/nothing failed/);
    expect(await onClient(`sha256sum < ${DIR}/pkg | cut -d' ' -f1`)).to.equal(sha(V1));
  });

  it('hostile URL and dest strings are one word each: the file arrives, nothing in them runs', async () => {
    const url = `${base}/v2?x='$(touch${'${IFS}'}/tmp/drover-get-url-pwned)\`id\`;rm`;
    const result = await applyModule(client, getUrl, { url, dest: HOSTILE_DEST, sha256: sha(V2) });
    expect(result.status, result.msg).to.equal('changed');
    const hostileOnHost = `${DIR}/a'\\''b $(touch drover-get-url-pwned) \`id\`;c`;
    expect(await onClient(`sha256sum < '${hostileOnHost}' | cut -d' ' -f1`)).to.equal(sha(V2));
    expect(await onClient(`ls ${PWNED} 2>/dev/null | grep -q . && echo pwned || echo clean`)).to.equal('clean');
    expect((await requests()).at(-1)).to.include(`"GET /v2?x='$(touch\${IFS}/tmp/drover-get-url-pwned)\`id\`;rm HTTP/1.1" 200`);
  });

  describe('fromController', () => {
    let local: Server;
    let localBase: string;
    const seen: string[] = [];
    const BODY = Buffer.from('air-gapped artefact\n'.repeat(5000));

    before(async () => {
      local = createServer((request, response) => {
        seen.push(request.url ?? '');
        setTimeout(() => response.end(BODY), 100);
      });
      await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
      localBase = `http://127.0.0.1:${(local.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => local.close(() => resolve())));

    it('downloads once on the controller for both hosts, pushes to each; a re-run downloads nothing', async () => {
      const params = { url: `${localBase}/artefact`, dest: `/tmp/drover-get-url-ctl`, sha256: sha(BODY), fromController: true, mode: '0644' };
      const results = await Promise.all([client, server].map((target) => applyModule(target, getUrl, params)));
      for (const result of results) expect(result.status, result.msg).to.equal('changed');
      expect(seen).to.deep.equal(['/artefact']);
      for (const target of [client, server]) {
        expect((await onHost(target, `sha256sum < /tmp/drover-get-url-ctl | cut -d' ' -f1; stat -c %a /tmp/drover-get-url-ctl`)).stdout.trim()).to.equal(`${sha(BODY)}\n644`);
      }
      const again = await applyModule(client, getUrl, params);
      expect(again.status, again.msg).to.equal('ok');
      expect(seen).to.deep.equal(['/artefact']);
      await Promise.all([client, server].map((target) => onHost(target, 'rm -f /tmp/drover-get-url-ctl')));
    });

    it('a controller-side mismatch fails every host before any write; check mode writes nothing', async () => {
      const wrong = sha('not it');
      const failed = await applyModule(client, getUrl, { url: `${localBase}/other`, dest: `${DIR}/ctl`, sha256: wrong, fromController: true });
      expect(failed.status).to.equal('failed');
      expect(failed.msg).to.include(`expected ${wrong}, got ${sha(BODY)}`);
      const check = await applyModule(client, getUrl, { url: `${localBase}/third`, dest: `${DIR}/ctl`, sha256: sha(BODY), fromController: true }, { check: true });
      expect(check.status, check.msg).to.equal('changed');
      expect(await onClient(`test -e ${DIR}/ctl && echo present || echo absent`)).to.equal('absent');
    });
  });
});
