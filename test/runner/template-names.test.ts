import { expect } from 'chai';
import { templateTopLevelNames, TemplateError } from '../../runner/template.ts';
import { checkTemplates } from '../../runner/engine/template-preflight.ts';
import { labHostTarget } from '../support/targets.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const names = (source: string) => templateTopLevelNames(source, 't.hbs').map((entry) => entry.name);

describe('template top-level names', () => {
  const table: Array<[string, string[]]> = [
    ['{{a}} {{b.c}}', ['a', 'b']],
    ['{{#if on}}{{x}}{{else}}{{y}}{{/if}}', ['on', 'x', 'y']],
    ['{{#each items}}{{name}} {{@index}}{{/each}}', ['items']],
    ['{{#each items}}{{name}}{{else}}{{empty}}{{/each}}', ['items', 'empty']],
    ['{{#with server}}{{host}}{{/with}}', ['server']],
    ['{{lookup map key}}', ['map', 'key']],
    ['{{this.a}} {{@root.b}}', ['a']],
    ['{{#unless (lookup flags name)}}{{z}}{{/unless}}', ['flags', 'name', 'z']],
    ['plain text', []],
  ];
  for (const [source, expected] of table) {
    it(`${JSON.stringify(source)} reads ${JSON.stringify(expected)}`, () => expect(names(source)).to.deep.equal(expected));
  }

  it('gives the line and column of each name', () => {
    expect(templateTopLevelNames('x\n  {{a}}', 't.hbs')).to.deep.equal([{ name: 'a', line: 2, column: 4 }]);
  });

  it('reports a syntax error with the template and line', () => {
    expect(() => names('ok\n{{#if x}}unclosed')).to.throw(TemplateError, /t\.hbs/);
  });
});

describe('template preflight', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-tpl-'));
  const file = join(dir, 'kubeadm.hbs');
  writeFileSync(file, 'advertise: {{node_ip}}\npods: {{pod_subnet}}\n');
  const host = (name: string, vars: Record<string, unknown>) => ({ ...labHostTarget(name, '10.0.0.1', '/k', '/kh'), vars });
  const cp = host('cp', { node_ip: '10.0.0.1', pod_subnet: '10.244.0.0/16' });
  const worker = host('w1', { node_ip: '10.0.0.2' });

  it("passes when every name comes from the declared vars or each host's inventory", () => {
    expect(checkTemplates([{ path: file, vars: ['pod_subnet'] }], [cp, worker], () => [])).to.deep.equal([]);
  });

  it('names the template, line, missing name and the hosts lacking it', () => {
    const problems = checkTemplates([{ path: file, vars: [] }], [cp, worker], () => []);
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include(`${file}:2:9: the template uses "pod_subnet"`).and.include('w1');
  });

  it('checks only the hosts the template is for', () => {
    expect(checkTemplates([{ path: file, vars: [], hosts: 'control_plane' }], [cp, worker], () => [cp])).to.deep.equal([]);
  });

  it('reports a template that cannot be read', () => {
    expect(checkTemplates([{ path: join(dir, 'missing.hbs'), vars: [] }], [cp], () => [])[0]).to.match(/missing\.hbs cannot be read \(ENOENT\)/);
  });
});
