import { expect } from 'chai';
import { blockinfile, type BlockinfileParams } from '../../modules/blockinfile.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { expectNoCanary, HOSTILE, readBack, removeScratchDir, scratchDirTarget, seedFile, snapshot } from '../support/file-test-support.ts';
import { seededSampler } from '../support/seeded-random.ts';
import { applyModule, onHost, type LabTarget } from '../support/targets.ts';

const ROOT = '/tmp/drover-test-files/blockinfile';

describe('blockinfile on a lab host', function () {
  let target: LabTarget;
  before(async function () {
    target = await scratchDirTarget(this, ROOT);
  });
  after(async () => removeScratchDir(target, ROOT));

  it('inserts, reads back, does nothing the second time, updates in place, and check mode changes nothing', async () => {
    const path = `${ROOT}/hosts`;
    await seedFile(target, path, '127.0.0.1 localhost\n::1 localhost\n', '0644');
    const params: BlockinfileParams = { path, block: '10.0.0.11 node-1\n10.0.0.12 node-2', marker: '# {mark} drover lab' };
    const first = await applyModule(target, blockinfile, params);
    expect(first.status, first.msg).to.equal('changed');
    const expected = '127.0.0.1 localhost\n::1 localhost\n# BEGIN drover lab\n10.0.0.11 node-1\n10.0.0.12 node-2\n# END drover lab\n';
    expect(await readBack(target, path)).to.deep.equal({ content: expected, stat: '644 root root' });

    const again = await applyModule(target, blockinfile, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands.filter((command) => command.executed)).to.deep.equal([]);

    const before = await snapshot(target, ROOT);
    const check = await applyModule(target, blockinfile, { ...params, block: '10.0.0.13 node-3' }, { check: true });
    expect(check.changed).to.equal(true);
    expect(check.diffs[0]).to.deep.include({ after: '127.0.0.1 localhost\n::1 localhost\n# BEGIN drover lab\n10.0.0.13 node-3\n# END drover lab\n' });
    expect(await snapshot(target, ROOT)).to.equal(before);

    await applyModule(target, blockinfile, { ...params, block: '10.0.0.13 node-3' });
    expect((await readBack(target, path)).content).to.equal('127.0.0.1 localhost\n::1 localhost\n# BEGIN drover lab\n10.0.0.13 node-3\n# END drover lab\n');
    const removed = await applyModule(target, blockinfile, { path, marker: '# {mark} drover lab', state: 'absent' });
    expect(removed.status).to.equal('changed');
    expect((await readBack(target, path)).content).to.equal('127.0.0.1 localhost\n::1 localhost\n');
  });

  it('predicts in check mode exactly what the real run does (seeded sample)', async () => {
    const { pick } = seededSampler(99);
    const path = `${ROOT}/sample`;
    await seedFile(target, path, '[a]\nk=1\n[b]\nk=2\n');
    for (let sample = 0; sample < 12; sample++) {
      const params: BlockinfileParams = {
        path,
        state: pick(['present', 'present', 'absent'] as const),
        block: pick(['x=1', 'x=1\ny=2', 'z']),
        marker: pick(['# {mark} one', '# {mark} two']),
        ...pick([{}, { insertafter: '^\\[a\\]' }, { insertbefore: '^\\[b\\]' }, { insertbefore: 'BOF' }]),
        ...(pick([true, false]) ? { mode: pick(['0644', '0640']) } : {}),
      };
      await predictThenApply(target, blockinfile, params, `sample ${sample}: ${JSON.stringify(params)}`);
    }
  });

  it('carries hostile strings in path, block and marker literally', async () => {
    for (const [index, hostile] of HOSTILE.entries()) {
      const path = `${ROOT}/h${index} ${hostile.replace(/\//g, '_')}`;
      const marker = `# {mark} ${hostile.replace(/\n/g, ' ')}`;
      const result = await applyModule(target, blockinfile, { path, block: hostile, marker, create: true });
      expect(result.status, `${JSON.stringify(hostile)}: ${result.msg}`).to.equal('changed');
      const flat = hostile.replace(/\n/g, ' ');
      expect((await readBack(target, path)).content).to.equal(`# BEGIN ${flat}\n${hostile}\n# END ${flat}\n`);
      expect((await applyModule(target, blockinfile, { path, block: hostile, marker })).status).to.equal('ok');
    }
    await expectNoCanary(target);
  });

  it('fails clearly on a missing file without create, changing nothing', async () => {
    const result = await applyModule(target, blockinfile, { path: `${ROOT}/missing`, block: 'x' });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.equal(`${ROOT}/missing does not exist on ${target.name}`);
    expect((await onHost(target, `test -e ${ROOT}/missing`)).exitCode).to.equal(1);
    const onDirectory = await applyModule(target, blockinfile, { path: ROOT, block: 'x' });
    expect(onDirectory.status).to.equal('failed');
    expect(onDirectory.msg).to.equal(`${ROOT} is a directory`);
  });
});
