import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECRET_CONTENT } from '../../modules/lib/file-content.ts';
import { template, type TemplateParams } from '../../modules/template.ts';
import { renderCommand } from '../../runner/command.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Plan } from '../../runner/module.ts';
import { SchemaError } from '../../runner/schema.ts';
import { Secret } from '../../runner/secret.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { expectNoCanary, HOSTILE, readBack, removeScratchDir, scratchDirTarget, snapshot } from '../support/file-test-support.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { seededSampler } from '../support/seeded-random.ts';
import { applyModule, onHost, type LabTarget } from '../support/targets.ts';

const ABSENT = { match: 'kind=', output: { stdout: 'parent=yes\nkind=absent\n' } };

async function planFor(input: TemplateParams, vars: Record<string, unknown> = {}): Promise<{ plan: Plan; host: RecordedHost }> {
  const host = new RecordedHost([ABSENT], 'node-1', vars);
  const plan = await planOn(template, input, host);
  return { plan, host };
}

describe('template planner (recorded host)', () => {
  it('renders host variables overridden by vars, and plans the file', async () => {
    const { plan } = await planFor({ dest: '/etc/x.conf', template: 'name={{name}} port={{port}}\n', vars: { port: 6443 } }, { name: 'node-1', port: 1 });
    expect(plan.changes[0]!.diff).to.deep.equal({ kind: 'file', path: '/etc/x.conf', before: null, after: 'name=node-1 port=6443\n' });
  });

  it('fails on a missing name before probing or changing anything, naming the file, line and name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-template-'));
    const src = join(dir, 'kubeadm.yaml.hbs');
    writeFileSync(src, 'kind: InitConfiguration\nnetworking:\n  podSubnet: {{podSubnet}}\n');
    const host = new RecordedHost([ABSENT]);
    try {
      await planOn(template, { src, dest: '/etc/k.yaml', vars: { podCidr: 'x' } }, host);
      expect.fail('rendered a template with a missing name');
    } catch (error) {
      expect(error).to.be.instanceOf(ModuleError);
      expect((error as ModuleError).message).to.equal(`template for /etc/k.yaml: ${src}:3:16: the template uses "podSubnet", which is not defined; top-level names available: podCidr`);
      expect((error as ModuleError).hint).to.match(/add "podSubnet" to vars/);
    }
    expect(host.probes).to.deep.equal([]);
  });

  it('writes a rendered secret but shows only "(secret content)"', async () => {
    const { plan } = await planFor({ dest: '/etc/token', template: 'token: {{token}}\n', vars: { token: new Secret('abcdef-0123456789', 'join token') } });
    expect(plan.changes[0]!.diff).to.deep.equal({ kind: 'file', path: '/etc/token', before: null, after: SECRET_CONTENT });
    const command = plan.changes[0]!.commands[0]!;
    const rendered = renderCommand(command);
    expect(JSON.stringify([plan.changes[0]!.summary, rendered.line, rendered.display])).not.to.include('abcdef');
    expect(rendered.stdin.toString()).to.equal('25\ntoken: abcdef-0123456789\n');
  });

  it('names an unreadable template file', async () => {
    try {
      await planFor({ dest: '/etc/x', src: '/nonexistent/drover.hbs' });
      expect.fail('read a missing template');
    } catch (error) {
      expect((error as Error).message).to.equal('cannot read template /nonexistent/drover.hbs on the controller (ENOENT)');
    }
  });

  it('needs exactly one of src and template, and a mapping for vars', () => {
    expect(() => template.params.parse({ dest: '/x' }, '')).to.throw(SchemaError, /exactly one of src and template/);
    expect(() => template.params.parse({ dest: '/x', template: '', vars: [1] }, '')).to.throw(SchemaError, /^vars: expected a mapping/);
    expect(template.params.parse({ dest: '/x', template: '', vars: '{"a":1}' }, '', { fromText: true }).vars).to.deep.equal({ a: 1 });
  });
});

const ROOT = '/tmp/drover-test-files/template';

describe('template on a lab host', function () {
  let target: LabTarget;
  before(async function () {
    target = await scratchDirTarget(this, ROOT);
  });
  after(async () => removeScratchDir(target, ROOT));

  const source = '# managed by drover\n{{#each nodes}}{{address}} {{name}}\n{{/each}}port={{port}}\n';

  it('renders, reads back, does nothing the second time, and check mode changes nothing', async () => {
    const params: TemplateParams = { dest: `${ROOT}/hosts.conf`, template: source, vars: { nodes: [{ name: 'a', address: '10.0.0.1' }, { name: 'b', address: '10.0.0.2' }], port: 6443 }, mode: '0600' };
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
