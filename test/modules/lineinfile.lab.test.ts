import { expect } from 'chai';
import { lineinfile, type LineinfileParams } from '../../modules/lineinfile.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { expectNoCanary, HOSTILE, readBack, removeScratchDir, scratchDirTarget, seedFile, snapshot } from '../support/file-test-support.ts';
import { seededSampler } from '../support/seeded-random.ts';
import { applyModule, onHost, type LabTarget } from '../support/targets.ts';

const ROOT = '/tmp/drover-test-files/lineinfile';

describe('lineinfile on a lab host', function () {
  let target: LabTarget;
  before(async function () {
    target = await scratchDirTarget(this, ROOT);
  });
  after(async () => removeScratchDir(target, ROOT));

  it('edits, reads back, does nothing the second time, and check mode changes nothing', async () => {
    const path = `${ROOT}/sshd_config`;
    await seedFile(target, path, '#UsePAM yes\nPasswordAuthentication yes\nX11Forwarding no\n', '0600');
    const params: LineinfileParams = { path, regexp: '^#?PasswordAuthentication', line: 'PasswordAuthentication no' };
    const first = await applyModule(target, lineinfile, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(first.diffs).to.deep.equal([{ kind: 'file', path, before: '#UsePAM yes\nPasswordAuthentication yes\nX11Forwarding no\n', after: '#UsePAM yes\nPasswordAuthentication no\nX11Forwarding no\n' }]);
    expect(await readBack(target, path)).to.deep.equal({ content: '#UsePAM yes\nPasswordAuthentication no\nX11Forwarding no\n', stat: '600 root root' });

    const again = await applyModule(target, lineinfile, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands.filter((command) => command.executed)).to.deep.equal([]);

    const before = await snapshot(target, ROOT);
    const check = await applyModule(target, lineinfile, { path, line: 'UseDNS no', insertafter: '^#UsePAM' }, { check: true });
    expect(check.changed).to.equal(true);
    expect(check.diffs[0]).to.deep.include({ after: '#UsePAM yes\nUseDNS no\nPasswordAuthentication no\nX11Forwarding no\n' });
    expect(await snapshot(target, ROOT)).to.equal(before);
  });

  it('creates the file and its directory when asked, with a mode', async () => {
    const path = `${ROOT}/new/dir/list`;
    const result = await applyModule(target, lineinfile, { path, line: 'first', create: true, mode: '0640' });
    expect(result.status, result.msg).to.equal('changed');
    expect(await readBack(target, path)).to.deep.equal({ content: 'first\n', stat: '640 root root' });
  });

  it('follows a symbolic link and edits the file it points to', async () => {
    await seedFile(target, `${ROOT}/real`, 'a\n');
    await onHost(target, `ln -sfn real ${ROOT}/link`);
    const result = await applyModule(target, lineinfile, { path: `${ROOT}/link`, line: 'b' });
    expect(result.status, result.msg).to.equal('changed');
    expect((await readBack(target, `${ROOT}/real`)).content).to.equal('a\nb\n');
    expect((await onHost(target, `readlink ${ROOT}/link`)).stdout).to.equal('real\n');
  });

  it('predicts in check mode exactly what the real run does (seeded sample)', async () => {
    const { pick } = seededSampler(77);
    const path = `${ROOT}/sample`;
    await seedFile(target, path, 'k1=a\n# comment\nk2=b\n');
    for (let sample = 0; sample < 12; sample++) {
      const params: LineinfileParams = pick<LineinfileParams>([
        { path, regexp: `^${pick(['k1', 'k2', 'k3'])}=`, line: `${pick(['k1', 'k2', 'k3'])}=${pick(['a', 'b', 'c'])}` },
        { path, line: pick(['x', 'y']), insertafter: pick(['^# comment', 'BOF', 'EOF']) },
        { path, line: pick(['x', 'y']), insertbefore: pick(['^k2', 'BOF']) },
        { path, state: 'absent', regexp: pick(['^x', '^y', '^k3']) },
        { path, regexp: '^k1=', line: 'k1=a', mode: pick(['0644', '0600']) },
      ]);
      await predictThenApply(target, lineinfile, params, `sample ${sample}: ${JSON.stringify(params)}`);
    }
  });

  it('carries hostile strings in path, line and regexp literally', async () => {
    for (const [index, hostile] of HOSTILE.entries()) {
      const path = `${ROOT}/h${index} ${hostile.replace(/\//g, '_')}`;
      await seedFile(target, path, 'start\n');
      const line = hostile.replace(/\n/g, ' ');
      const result = await applyModule(target, lineinfile, { path, line, insertafter: 'BOF' });
      expect(result.status, `${JSON.stringify(hostile)}: ${result.msg}`).to.equal('changed');
      expect((await readBack(target, path)).content).to.equal(`${line}\nstart\n`);
      const escaped = hostile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const removed = await applyModule(target, lineinfile, { path, state: 'absent', regexp: `^${escaped.replace(/\n/g, ' ')}$` });
      expect(removed.status, removed.msg).to.equal('changed');
      expect((await readBack(target, path)).content).to.equal('start\n');
    }
    await expectNoCanary(target);
  });

  it('fails clearly on a missing file (no create) and on a bad regexp, changing nothing', async () => {
    const missing = await applyModule(target, lineinfile, { path: `${ROOT}/absent-file`, line: 'x' });
    expect(missing.status).to.equal('failed');
    expect(missing.msg).to.equal(`${ROOT}/absent-file does not exist on ${target.name}`);
    expect(missing.failure?.hint).to.match(/set create/);
    const badRegexp = await applyModule(target, lineinfile, { path: `${ROOT}/sample`, regexp: '(', line: 'x' });
    expect(badRegexp.status).to.equal('failed');
    expect(badRegexp.msg).to.match(/^regexp "\(" is not a valid regular expression/);
    expect((await onHost(target, `test -e ${ROOT}/absent-file`)).exitCode).to.equal(1);
  });
});
