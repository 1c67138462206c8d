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
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

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
