import { expect } from 'chai';
import { renderTemplate, TemplateError } from '../../runner/template.ts';
import { MASK, Secret } from '../../runner/secret.ts';

function errorOf(source: string, context: object, origin = 'templates/x.conf.hbs'): TemplateError {
  try {
    renderTemplate(source, context, origin);
  } catch (error) {
    expect(error).to.be.instanceOf(TemplateError);
    return error as TemplateError;
  }
  throw new Error(`rendered without error: ${JSON.stringify(source)}`);
}

describe('renderTemplate', () => {
  const rendered: Array<[string, string, object, string]> = [
    ['values as they are, no HTML escaping (config files are not HTML)', 'cmd = {{cmd}}', { cmd: 'a && b <c> "d"' }, 'cmd = a && b <c> "d"'],
    ['nested values', '{{net.pod}}/{{net.bits}}', { net: { pod: '10.244.0.0', bits: 16 } }, '10.244.0.0/16'],
    ['each over a list, with @index', '{{#each hosts}}{{@index}}={{name}}\n{{/each}}', { hosts: [{ name: 'a' }, { name: 'b' }] }, '0=a\n1=b\n'],
    ['each over a mapping, with @key', '{{#each m}}{{@key}}:{{this}};{{/each}}', { m: { a: 1, b: 2 } }, 'a:1;b:2;'],
    ['if on a value present as null or false', '{{#if a}}A{{/if}}{{#unless b}}notB{{/unless}}', { a: null, b: false }, 'notB'],
    ['block params', '{{#each xs as |x i|}}{{x}}{{i}}{{/each}}', { xs: ['p', 'q'] }, 'p0q1'],
    ['null renders as empty text when it is present', '[{{v}}]', { v: null }, '[]'],
    ['numbers next to each other as text, not added up', '{{a}}{{b}}', { a: 1, b: 1 }, '11'],
    ['numbers next to each other inside a block', '{{#each xs}}{{this}}{{this}}{{/each}}', { xs: [1, 2] }, '1122'],
    ['helper output', '{{lookup m "k"}}{{lookup m "k"}}', { m: { k: 3 } }, '33'],
    ['triple-stash the same as double', '{{{a}}}{{b}}', { a: 2, b: '<' }, '2<'],
  ];
  for (const [title, source, context, expected] of rendered) {
    it(`renders ${title}`, () => {
      expect(renderTemplate(source, context, 't').text).to.equal(expected);
    });
  }

  it('names the template, line, column and the missing name for a printed value', () => {
    const error = errorOf('a: 1\nb: {{ podSubnet }}\n', { podSubent: 'typo' });
    expect(error.message).to.equal('templates/x.conf.hbs:2:7: the template uses "podSubnet", which is not defined; top-level names available: podSubent');
    expect(error).to.deep.include({ origin: 'templates/x.conf.hbs', line: 2, column: 6, missing: 'podSubnet' });
  });

  it('is strict about names given to helpers too (a misspelt list is not an empty section)', () => {
    expect(errorOf('{{#each nodez}}x{{/each}}', { nodes: [] }).missing).to.equal('nodez');
    expect(errorOf('{{#if enabeld}}x{{/if}}', { enabled: true }).missing).to.equal('enabeld');
    expect(errorOf('{{#each hosts}}{{nmae}}{{/each}}', { hosts: [{ name: 'a' }] }).missing).to.equal('nmae');
    expect(errorOf('{{a.b.c}}', { a: { b: {} } }).missing).to.equal('a.b.c');
  });

  it('names the whole path of a missing field, and the object that lacks it', () => {
    const error = errorOf('name = {{cluster.name}}\n', { cluster: { id: 1 } });
    expect(error.message).to.equal('templates/x.conf.hbs:1:10: the template uses "cluster.name", and "cluster" has no "name" (or its value is undefined)');
    expect(error).to.deep.include({ line: 1, column: 9, missing: 'cluster.name' });
    expect(errorOf('{{#each xs}}{{this.port}}{{/each}}', { xs: [{ host: 'a' }] }).message).to.include('"this.port", and "this" has no "port"');
  });

  it('stops on a value that is undefined as on a missing one; null still renders empty', () => {
    const error = errorOf('name={{appName}}\n', { appName: undefined, port: 1 });
    expect(error.message).to.equal('templates/x.conf.hbs:1:8: the template uses "appName", whose value is undefined; top-level names available: port');
    expect(errorOf('{{#if debug}}x{{/if}}', { debug: undefined }).missing).to.equal('debug');
    expect(errorOf('{{cluster.name}}', { cluster: { name: undefined } }).missing).to.equal('cluster.name');
    expect(renderTemplate('name={{appName}}\n', { appName: null }, 't').text).to.equal('name=\n');
  });

  it('reports syntax errors with the line, and has no log helper', () => {
    const syntax = errorOf('ok\n{{#if x}}\nno end', { x: 1 });
    expect(syntax.message).to.match(/^templates\/x\.conf\.hbs:\d+: syntax error: /);
    expect(syntax.line).to.be.a('number');
    expect(errorOf('{{log x}}', { x: 1 }).missing).to.equal('log');
  });

  it('masks secrets unless revealSecrets is given, and lists the ones used', () => {
    const token = new Secret('abcd-1234', 'join token');
    const unused = new Secret('never-rendered');
    const context = { token, unused, list: [token] };
    const masked = renderTemplate('t={{token}} {{#if unused}}set{{/if}} {{#each list}}{{this}}{{/each}}', context, 't');
    expect(masked.text).to.equal(`t=${MASK} set ${MASK}`);
    expect(masked.secretsUsed).to.deep.equal([token]);
    const revealed = renderTemplate('t={{token}}', context, 't', { revealSecrets: true });
    expect(revealed.text).to.equal('t=abcd-1234');
    expect(revealed.secretsUsed).to.deep.equal([token]);
    expect(renderTemplate('plain', context, 't').secretsUsed).to.deep.equal([]);
  });

  it("does not change the caller's context and copes with shared and cyclic objects", () => {
    const shared = { v: 1 };
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const context = { a: shared, b: shared, c: cyclic, s: new Secret('x-secret') };
    expect(renderTemplate('{{a.v}}{{b.v}}{{c.self.name}}', context, 't').text).to.equal('11c');
    expect(context.s).to.be.instanceOf(Secret);
  });
});
