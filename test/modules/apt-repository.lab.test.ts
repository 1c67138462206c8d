import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptRepository, repositoryPaths, type AptRepositoryParams } from '../../modules/apt-repository.ts';
import { executedCount } from '../support/executed.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

describe('aptRepository on a lab host', function () {
  this.timeout(180_000);
  const NAME = 'drover-test-aptrepo';
  const REPO = '/tmp/drover-test-apt-repository/repo';
  const PWNED = '/tmp/drover-test-aptrepo-pwned';
  const paths = repositoryPaths(NAME);
  let target: LabTarget;
  let gnupg: string;
  let key: string;
  let otherKey: string;
  let binaryKeyFile: string;

  const gpg = (...args: string[]): Buffer => execFileSync('gpg', ['--batch', '--quiet', '--homedir', gnupg, ...args]);
  const read = async (path: string): Promise<string> => (await onHost(target, `cat ${path} 2>/dev/null || echo '(absent)'`)).stdout;
  const files = async (): Promise<string> => (await onHost(target, `for f in ${Object.values(paths).join(' ')}; do test -e $f && { echo "== $f"; base64 -w0 < $f; echo; }; done; true`)).stdout;
  /** Where apt would take package `sl` from, by apt's own account. */
  const slSources = async (): Promise<string> => (await onHost(target, 'apt-cache policy sl')).stdout;

  async function clean(): Promise<void> {
    await onHost(target, `rm -f ${Object.values(paths).join(' ')} ${PWNED}; apt-get update -q >/dev/null 2>&1 || true`);
  }

  before(async function () {
    try {
      execFileSync('gpg', ['--version'], { stdio: 'ignore' });
    } catch {
      if (process.env.CI === 'true') throw new Error('CI=true and gpg is missing: install gnupg (signing the test repository needs it)');
      console.log('  aptRepository lab tests skipped: gpg is not installed on the controller');
      this.skip();
    }
    const targets = await labTargets(this, 3);
    target = targets[Math.min(2, targets.length - 1)]!;

    // A signing key made for this run, and a second one that must not verify the repository.
    gnupg = mkdtempSync(join(tmpdir(), 'drover-test-gnupg-'));
    gpg('--passphrase', '', '--quick-gen-key', 'drover test repository <repo@drover.invalid>', 'ed25519', 'sign', '0');
    gpg('--passphrase', '', '--quick-gen-key', 'drover other key <other@drover.invalid>', 'ed25519', 'sign', '0');
    key = gpg('--armor', '--export', 'repo@drover.invalid').toString();
    otherKey = gpg('--armor', '--export', 'other@drover.invalid').toString();
    binaryKeyFile = join(gnupg, 'repo.gpg');
    writeFileSync(binaryKeyFile, gpg('--export', 'repo@drover.invalid'));

    // A flat repository on the host holding `sl` from the lab's repository, signed with that key.
    const built = await onHost(
      target,
      `set -e; rm -rf ${REPO}; mkdir -p ${REPO}; cd ${REPO}; ln -s /srv/drover-repo/pool pool
awk 'BEGIN { RS = ""; ORS = "\\n\\n" } /^Package: sl\\n/' /srv/drover-repo/Packages > Packages
{ echo 'Origin: drover-test'; echo 'Label: drover-test'; echo 'Suite: drover-test'; echo 'Codename: drover-test'; echo "Date: $(date -Ru)"; echo 'SHA256:'; echo " $(sha256sum Packages | cut -d' ' -f1) $(stat -c %s Packages) Packages"; } > Release
cat Release`,
    );
    expect(built.exitCode, built.stderr).to.equal(0);
    const inRelease = execFileSync('gpg', ['--batch', '--quiet', '--homedir', gnupg, '--local-user', 'repo@drover.invalid', '--clearsign'], { input: built.stdout }).toString();
    expect((await onHost(target, `cat > ${REPO}/InRelease`, inRelease)).exitCode).to.equal(0);
    await clean();
  });
  after(async () => {
    if (gnupg) rmSync(gnupg, { recursive: true, force: true });
    if (target) {
      await clean();
      await onHost(target, 'rm -rf /tmp/drover-test-apt-repository');
    }
  });

  it('writes a deb822 source with its key, apt verifies the repository with it, re-run and check mode change nothing', async () => {
    const input: AptRepositoryParams = { name: NAME, uris: [`file:${REPO}`], suites: ['./'], signedBy: key };
    const first = await applyModule(target, aptRepository, input);
    expect(first.status, first.msg).to.equal('changed');
    expect(executedCount(first)).to.equal(3);
    expect(await read(paths.asc)).to.equal(key);
    expect(await read(paths.sources)).to.equal(`Types: deb\nURIs: file:${REPO}\nSuites: ./\nSigned-By: ${paths.asc}\n`);
    expect((await onHost(target, `stat -c '%a %U' ${paths.asc} ${paths.sources}`)).stdout).to.equal('644 root\n644 root\n');
    expect(await slSources()).to.include(`file:${REPO} ./ Packages`);

    const again = await applyModule(target, aptRepository, input);
    expect(again.status, again.msg).to.equal('ok');
    expect(executedCount(again)).to.equal(0);

    const before = await files();
    const check = await applyModule(target, aptRepository, { ...input, enabled: false }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([
      { kind: 'file', path: paths.sources, before: `Types: deb\nURIs: file:${REPO}\nSuites: ./\nSigned-By: ${paths.asc}\n`, after: `Types: deb\nURIs: file:${REPO}\nSuites: ./\nSigned-By: ${paths.asc}\nEnabled: no\n` },
    ]);
    expect(executedCount(check)).to.equal(0);
    expect(await files()).to.equal(before);
  });

  it('switches to a one-line source with a binary key file from the controller, leaving no duplicate', async () => {
    const result = await applyModule(target, aptRepository, { name: NAME, repo: `deb file:${REPO} ./`, signedBy: binaryKeyFile });
    expect(result.status, result.msg).to.equal('changed');
    expect(await read(paths.list)).to.equal(`deb [signed-by=${paths.gpg}] file:${REPO} ./\n`);
    const stored = await onHost(target, `base64 -w0 < ${paths.gpg}; echo; test -e ${paths.asc} || echo no-asc; test -e ${paths.sources} || echo no-sources`);
    expect(stored.stdout).to.equal(`${execFileSync('base64', ['-w0', binaryKeyFile]).toString()}\nno-asc\nno-sources\n`);
    expect(await slSources()).to.include(`file:${REPO} ./ Packages`);
    expect((await applyModule(target, aptRepository, { name: NAME, repo: `deb file:${REPO} ./`, signedBy: binaryKeyFile })).status).to.equal('ok');
  });

  it('fails clearly when the key does not verify the repository', async () => {
    // From scratch: apt does not verify again lists it fetched and verified before.
    await clean();
    const result = await applyModule(target, aptRepository, { name: NAME, uris: [`file:${REPO}`], suites: ['./'], signedBy: otherKey });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.include('apt-get update');
    expect(result.msg).to.match(/NO_PUBKEY|not signed|signatures couldn't be verified/);
  });

  it('removes every file, then has nothing to do', async () => {
    await applyModule(target, aptRepository, { name: NAME, uris: [`file:${REPO}`], suites: ['./'], signedBy: key, updateCache: false });
    const removed = await applyModule(target, aptRepository, { name: NAME, state: 'absent' });
    expect(removed.status, removed.msg).to.equal('changed');
    expect(await files()).to.equal('');
    expect(await slSources()).not.to.include(REPO);
    const again = await applyModule(target, aptRepository, { name: NAME, state: 'absent' });
    expect(again.status, again.msg).to.equal('ok');
  });

  it('check mode predicts exactly what a real run then does (seeded sample)', async () => {
    const random = seededBelow(11);
    const outcomes = new Set<string>();
    let previous: AptRepositoryParams | undefined;
    for (let round = 0; round < 6; round++) {
      const choice = random(4);
      const fresh: AptRepositoryParams =
        choice === 0
          ? { name: NAME, state: 'absent', updateCache: false }
          : choice === 1
            ? { name: NAME, repo: `deb file:${REPO} ./`, signedBy: key, updateCache: random(2) === 0 }
            : { name: NAME, uris: [`file:${REPO}`], suites: ['./'], signedBy: key, enabled: random(2) === 0, updateCache: random(2) === 0 };
      // A third of the rounds repeat the previous parameters, so rounds with nothing to change are sampled too.
      const input: AptRepositoryParams = previous && random(3) === 0 ? previous : fresh;
      previous = input;
      const before = await files();
      const predicted = await applyModule(target, aptRepository, input, { check: true });
      expect(await files(), 'check mode changed the host').to.equal(before);
      const real = await applyModule(target, aptRepository, input);
      const label = JSON.stringify({ ...input, signedBy: input.signedBy ? '(key)' : undefined });
      expect(real.status, `${label}: ${real.msg}`).to.equal(predicted.status);
      expect(real.diffs, label).to.deep.equal(predicted.diffs);
      outcomes.add(real.status);
    }
    expect([...outcomes]).to.include.members(['changed', 'ok']);
  });

  it('writes hostile text literally and never runs it; refuses it where it cannot be literal', async () => {
    const line = `deb [trusted=yes] file:/tmp/drover-test-apt-repository/$(touch${PWNED})\`touch${PWNED}\`;touch${PWNED} ./`;
    const literal = await applyModule(target, aptRepository, { name: NAME, repo: line, updateCache: false });
    expect(literal.status, literal.msg).to.equal('changed');
    expect(await read(paths.list)).to.equal(`${line}\n`);
    for (const input of [
      { name: `x; touch ${PWNED}`, repo: 'deb http://x ./' },
      { name: NAME, repo: `deb http://x ./\ntouch ${PWNED}` },
      { name: NAME, uris: ['http://x'], suites: ['./'], signedBy: `/nonexistent/$(touch ${PWNED})` },
    ] as AptRepositoryParams[]) {
      const result = await applyModule(target, aptRepository, input);
      expect(result.status, JSON.stringify(input)).to.equal('failed');
    }
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
    await onHost(target, `rm -f ${paths.list}`);
  });
});
