/**
 * getUrl on real lab hosts. Traffic goes only to lab hosts and loopback: lab-2 serves files with
 * `python3 -m http.server` (its request log, read back over SSH, tells whether a download happened) and
 * lab-1 downloads from lab-2's address; for `fromController`, a Node HTTP server on the controller's
 * 127.0.0.1 serves the file and counts the requests while both hosts receive it.
 *
 * The module uses whichever of curl, wget and python3 the host has, in that order. Other tests (and node
 * preparation) install curl on lab hosts, so each downloader's test leaves only that one on lab-1's PATH,
 * renaming the others aside and putting them back after, whatever the order the suite runs in.
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
const DOWNLOADERS = ['curl', 'wget', 'python3'] as const;
type Downloader = (typeof DOWNLOADERS)[number];
const HIDDEN = '.drover-get-url-hidden';

describe('getUrl on lab hosts', function () {
  let client: LabTarget;
  let server: LabTarget;
  let base: string;

  const requests = async (): Promise<string[]> => {
    const log = await onHost(server, `cat ${SERVED}.log`);
    return log.stdout.split('\n').filter((line) => line.includes('"GET '));
  };
  const onClient = async (script: string) => (await onHost(client, script)).stdout.trim();

  /** Runs `body` with `only` the one downloader on lab-1's PATH; the others are renamed aside, then back. */
  const withOnly = async (only: Downloader, body: () => Promise<void>) => {
    const others = DOWNLOADERS.filter((name) => name !== only);
    const hide = await onHost(client, others.map((name) => `p=$(command -v ${name}) && mv "$p" "$p${HIDDEN}"`).join('; ') + '; true');
    expect(hide.exitCode, hide.stderr).to.equal(0);
    try {
      expect(await onClient(`command -v ${DOWNLOADERS.join(' ')} | xargs -n1 basename`)).to.equal(only);
      await body();
    } finally {
      await onHost(client, `for p in /usr/bin/*${HIDDEN} /usr/local/bin/*${HIDDEN}; do [ -e "$p" ] && mv "$p" "\${p%${HIDDEN}}"; done; true`);
    }
  };

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
    // curl and wget come from the lab's Debian repository, as a real host's apt would install them.
    const prep = await onHost(client, `rm -rf ${DIR} ${PWNED}; mkdir -p ${DIR} && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl wget >/dev/null`);
    expect(prep.exitCode, prep.stderr).to.equal(0);
  });
  after(async () => {
    // The server started in before(), by its process id.
    await onHost(server, `kill "$(cat ${SERVED}.pid)"; rm -rf ${SERVED} ${SERVED}.log ${SERVED}.pid`);
    await onHost(client, `rm -rf ${DIR} ${PWNED}`);
  });

  it('downloads with python3 (no curl or wget on the host), verified, with the asked mode; a re-run downloads nothing', () =>
    withOnly('python3', async () => {
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
    }));

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

  for (const downloader of DOWNLOADERS) {
    it(`${downloader}: hostile URL and dest strings are one word each, sent byte for byte: the file arrives, nothing in them runs`, () =>
      withOnly(downloader, async () => {
        // ${IFS} and the backquotes are shell syntax; the braces are also curl's URL globbing syntax.
        const url = `${base}/v2?via=${downloader}&x='$(touch${'${IFS}'}/tmp/drover-get-url-pwned)\`id\`;rm`;
        const dest = `${HOSTILE_DEST}-${downloader}`;
        const result = await applyModule(client, getUrl, { url, dest, sha256: sha(V2) });
        expect(result.status, result.msg).to.equal('changed');
        const destOnHost = `${DIR}/a'\\''b $(touch drover-get-url-pwned) \`id\`;c-${downloader}`;
        expect(await onClient(`sha256sum < '${destOnHost}' | cut -d' ' -f1`)).to.equal(sha(V2));
        expect(await onClient(`ls ${PWNED} 2>/dev/null | grep -q . && echo pwned || echo clean`)).to.equal('clean');
        // curl and python3 send the characters as written; wget percent-encodes those a URL may not hold
        // (` { } |), which a server decodes back: what the server decodes is exactly what was asked for.
        const target = /"GET (\S+) HTTP\/1\.1" 200/.exec((await requests()).at(-1) ?? '')?.[1] ?? '';
        expect(decodeURIComponent(target)).to.equal(url.slice(base.length));
        if (downloader !== 'wget') expect(target).to.equal(url.slice(base.length));
      }));
  }

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
