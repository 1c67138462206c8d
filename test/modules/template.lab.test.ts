import { expect } from 'chai';
import { template, type TemplateParams } from '../../modules/template.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { expectNoCanary, HOSTILE, readBack, removeScratchDir, scratchDirTarget, snapshot } from '../support/file-test-support.ts';
import { seededSampler } from '../support/seeded-random.ts';
import { applyModule, onHost, type LabTarget } from '../support/targets.ts';

const ROOT = '/tmp/drover-test-files/template';

describe('template on a lab host', function () {
  let target: LabTarget;
  before(async function () {
    target = await scratchDirTarget(this, ROOT);
  });
  after(async () => removeScratchDir(target, ROOT));

  const source = '# managed by drover\n{{#each nodes}}{{address}} {{name}}\n{{/each}}port={{port}}\n';

  it('renders, reads back, does nothing the second time, and check mode changes nothing', async () => {
    const params: TemplateParams = {
      dest: `${ROOT}/hosts.conf`,
      template: source,
      vars: {
        nodes: [
          { name: 'a', address: '10.0.0.1' },
          { name: 'b', address: '10.0.0.2' },
        ],
        port: 6443,
      },
      mode: '0600',
    };
    const first = await applyModule(target, template, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(await readBack(target, `${ROOT}/hosts.conf`)).to.deep.equal({ content: '# managed by drover\n10.0.0.1 a\n10.0.0.2 b\nport=6443\n', stat: '600 root root' });
    const again = await applyModule(target, template, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands.filter((command) => command.executed)).to.deep.equal([]);

    const before = await snapshot(target, ROOT);
    const check = await applyModule(target, template, { ...params, vars: { nodes: [], port: 1 } }, { check: true });
    expect(check.changed).to.equal(true);
    expect(check.diffs).to.deep.equal([{ kind: 'file', path: `${ROOT}/hosts.conf`, before: '# managed by drover\n10.0.0.1 a\n10.0.0.2 b\nport=6443\n', after: '# managed by drover\nport=1\n' }]);
    expect(await snapshot(target, ROOT)).to.equal(before);
  });

  it('predicts in check mode exactly what the real run does (seeded sample)', async () => {
    const { pick } = seededSampler(1234);
    for (let sample = 0; sample < 10; sample++) {
      const params: TemplateParams = {
        dest: `${ROOT}/sample.conf`,
        template: source,
        vars: { nodes: pick([[], [{ name: 'x', address: '1.1.1.1' }]]), port: pick([1, 2]) },
        ...(pick([true, false]) ? { mode: pick(['0644', '0600']) } : {}),
      };
      await predictThenApply(target, template, params, `sample ${sample}: ${JSON.stringify(params)}`);
    }
  });

  it('carries hostile strings in dest, template text and values literally', async () => {
    for (const [index, hostile] of HOSTILE.entries()) {
      const dest = `${ROOT}/h${index} ${hostile.replace(/\//g, '_')}`;
      const result = await applyModule(target, template, { dest, template: `${hostile}|{{v}}\n`, vars: { v: hostile } });
      expect(result.status, `${JSON.stringify(hostile)}: ${result.msg}`).to.equal('changed');
      expect((await readBack(target, dest)).content).to.equal(`${hostile}|${hostile}\n`);
    }
    await expectNoCanary(target);
  });

  it('fails on a missing name with the template and line, creating nothing', async () => {
    const result = await applyModule(target, template, { dest: `${ROOT}/never.conf`, template: 'a\nb={{nope}}\n' });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.match(new RegExp(`^template for ${ROOT}/never\\.conf: inline template:2:5: the template uses "nope", which is not defined`));
    expect((await onHost(target, `test -e ${ROOT}/never.conf`)).exitCode).to.equal(1);
  });
});
