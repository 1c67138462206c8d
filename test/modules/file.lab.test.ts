import { expect } from 'chai';
import { file, type FileParams } from '../../modules/file.ts';
import { expectNoCanary, HOSTILE, q, removeScratchDir, scratchDirTarget, snapshot } from '../support/file-test-support.ts';
import { applyModule, onHost, type LabTarget } from '../support/targets.ts';

const ROOT = '/tmp/drover-test-files/file';

describe('file on a lab host', function () {
  let target: LabTarget;
  const stat = async (path: string) => (await onHost(target, `stat -c '%F %a %U %G' -- ${q(path)} 2>&1`)).stdout.trim();
  before(async function () {
    target = await scratchDirTarget(this, ROOT);
  });
  after(async () => removeScratchDir(target, ROOT));

  it('creates a directory, reads it back, does nothing the second time, and check mode changes nothing', async () => {
    const params: FileParams = { path: `${ROOT}/d/e`, state: 'directory', mode: '0750', owner: 'daemon', group: 'daemon' };
    const first = await applyModule(target, file, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(await stat(`${ROOT}/d/e`)).to.equal('directory 750 daemon daemon');
    const again = await applyModule(target, file, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands.filter((command) => command.executed)).to.deep.equal([]);

    const before = await snapshot(target, ROOT);
    for (const other of [
      { ...params, mode: '0700' },
      { path: `${ROOT}/d`, state: 'absent' as const },
      { path: `${ROOT}/l`, state: 'link' as const, src: '/etc' },
      { path: `${ROOT}/t`, state: 'touch' as const },
    ]) {
      const check = await applyModule(target, file, other, { check: true });
      expect(check.changed, JSON.stringify(other)).to.equal(true);
    }
    expect(await snapshot(target, ROOT)).to.equal(before);
  });

  it('touches, links, removes, each once', async () => {
    const steps: Array<[FileParams, string]> = [
      [{ path: `${ROOT}/t`, state: 'touch', mode: '0600' }, 'regular empty file 600 root root'],
      [{ path: `${ROOT}/t`, state: 'file', mode: '0640', group: 'daemon' }, 'regular empty file 640 root daemon'],
      [{ path: `${ROOT}/l`, state: 'link', src: 't' }, 'symbolic link 777 root root'],
      [{ path: `${ROOT}/l`, state: 'link', src: '/etc/hostname' }, 'symbolic link 777 root root'],
      [{ path: `${ROOT}/l`, state: 'absent' }, `stat: cannot statx '${ROOT}/l': No such file or directory`],
    ];
    for (const [params, expected] of steps) {
      const result = await applyModule(target, file, params);
      expect(result.status, `${JSON.stringify(params)}: ${result.msg}`).to.equal('changed');
      expect(await stat(params.path)).to.equal(expected);
      expect((await applyModule(target, file, params)).status, JSON.stringify(params)).to.equal('ok');
    }
    expect((await onHost(target, `test -f ${ROOT}/t && readlink ${ROOT}/l || echo gone`)).stdout).to.equal('gone\n');
  });

  it('links a name near the 255-byte limit (the temporary link beside it had a name too long)', async () => {
    const path = `${ROOT}/${'n'.repeat(250)}`;
    const result = await applyModule(target, file, { path, state: 'link', src: '/etc/hostname' });
    expect(result.status, result.msg).to.equal('changed');
    expect((await onHost(target, `readlink -- ${q(path)}`)).stdout).to.equal('/etc/hostname\n');
    expect((await applyModule(target, file, { path, state: 'link', src: '/etc/hostname' })).status).to.equal('ok');
    expect((await onHost(target, `ls -a ${ROOT} | grep -c drover-link || true`)).stdout).to.equal('0\n');
  });

  it('applies attributes recursively, then reports nothing to do', async () => {
    await onHost(target, `mkdir -p ${ROOT}/r/s && touch ${ROOT}/r/a ${ROOT}/r/s/b && ln -s /etc/passwd ${ROOT}/r/link`);
    const params: FileParams = { path: `${ROOT}/r`, state: 'directory', owner: 'daemon', mode: '0750', recurse: true };
    const first = await applyModule(target, file, params);
    expect(first.status, first.msg).to.equal('changed');
    const listing = await onHost(target, `find ${ROOT}/r ! -type l -printf '%P %m %u\\n' | sort; stat -c '%U' /etc/passwd`);
    expect(listing.stdout).to.equal(' 750 daemon\na 750 daemon\ns 750 daemon\ns/b 750 daemon\nroot\n');
    expect((await applyModule(target, file, params)).status).to.equal('ok');
  });

  it('sets a mode exactly on setgid directories, the directory itself and under it, then reports nothing to do', async () => {
    // GNU chmod keeps a directory's setgid bit under `chmod 0755`: the task changed the mode on every run.
    await onHost(target, `mkdir -p ${ROOT}/sg/sub && chmod 2775 ${ROOT}/sg ${ROOT}/sg/sub`);
    const params: FileParams = { path: `${ROOT}/sg`, state: 'directory', mode: '0755', recurse: true };
    const first = await applyModule(target, file, params);
    expect(first.status, first.msg).to.equal('changed');
    expect((await onHost(target, `stat -c '%a' ${ROOT}/sg ${ROOT}/sg/sub`)).stdout).to.equal('755\n755\n');
    const again = await applyModule(target, file, params);
    expect(again.status, again.msg).to.equal('ok');
    // And a mode that asks for the bit keeps it.
    expect((await applyModule(target, file, { ...params, mode: '2770' })).status).to.equal('changed');
    expect((await onHost(target, `stat -c '%a' ${ROOT}/sg ${ROOT}/sg/sub`)).stdout).to.equal('2770\n2770\n');
    expect((await applyModule(target, file, { ...params, mode: '2770' })).status).to.equal('ok');
  });

  it('predicts in check mode exactly what the real run does (seeded sample)', async () => {
    const states: FileParams[] = [
      { path: `${ROOT}/s`, state: 'directory', mode: '0755' },
      { path: `${ROOT}/s`, state: 'directory', mode: '0700', group: 'daemon' },
      { path: `${ROOT}/s`, state: 'absent' },
      { path: `${ROOT}/s2`, state: 'touch' },
      { path: `${ROOT}/s2`, state: 'file', mode: '0600' },
      { path: `${ROOT}/s3`, state: 'link', src: 's2' },
      { path: `${ROOT}/s3`, state: 'link', src: 's' },
      { path: `${ROOT}/s3`, state: 'absent' },
    ];
    let seed = 5;
    for (let sample = 0; sample < 12; sample++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const params = states[seed % states.length]!;
      const predicted = await applyModule(target, file, params, { check: true });
      const real = await applyModule(target, file, params);
      const label = `sample ${sample}: ${JSON.stringify(params)}`;
      if (real.status === 'failed') {
        expect(predicted.status, label).to.equal('failed');
        expect(predicted.msg, label).to.equal(real.msg);
        continue;
      }
      expect(predicted.changed, label).to.equal(real.changed);
      expect(predicted.diffs, label).to.deep.equal(real.diffs);
    }
  });

  it('carries hostile strings in path and link target literally', async () => {
    for (const [index, hostile] of HOSTILE.entries()) {
      const name = `${ROOT}/h${index} ${hostile.replace(/\//g, '_')}`;
      expect((await applyModule(target, file, { path: name, state: 'directory' })).status, hostile).to.equal('changed');
      expect(await stat(name)).to.match(/^directory /);
      const link = await applyModule(target, file, { path: `${name}/link`, state: 'link', src: hostile });
      expect(link.status, `${hostile}: ${link.msg}`).to.equal('changed');
      expect((await onHost(target, `readlink -- ${q(`${name}/link`)}`)).stdout).to.equal(`${hostile}\n`);
      expect((await applyModule(target, file, { path: name, state: 'absent' })).status).to.equal('changed');
      expect((await onHost(target, `test -e ${q(name)}`)).exitCode).to.equal(1);
    }
    await expectNoCanary(target);
  });

  it('fails clearly on impossible requests, changing nothing', async () => {
    await onHost(target, `mkdir -p ${ROOT}/dir && : > ${ROOT}/plain`);
    const before = await snapshot(target, ROOT);
    const missing = await applyModule(target, file, { path: `${ROOT}/nothing`, state: 'file' });
    expect(missing.status).to.equal('failed');
    expect(missing.msg).to.equal(`${ROOT}/nothing does not exist`);
    expect(missing.failure?.hint).to.match(/touch/);
    const overDir = await applyModule(target, file, { path: `${ROOT}/dir`, state: 'link', src: '/etc', force: true });
    expect(overDir.msg).to.equal(`${ROOT}/dir is a directory; it is never replaced by a link`);
    const overFile = await applyModule(target, file, { path: `${ROOT}/plain`, state: 'link', src: '/etc' });
    expect(overFile.msg).to.equal(`${ROOT}/plain is a regular file, not a link`);
    const badOwner = await applyModule(target, file, { path: `${ROOT}/plain`, owner: 'drover-nobody-here' });
    expect(badOwner.status).to.equal('failed');
    expect(badOwner.msg).to.match(/user "drover-nobody-here" does not exist/);
    expect(await snapshot(target, ROOT)).to.equal(before);
  });
});
