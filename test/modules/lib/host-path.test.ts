import { expect } from 'chai';
import { SchemaError } from '../../../runner/schema.ts';
import { hostPath, normaliseHostPath } from '../../../modules/lib/host-path.ts';

describe('hostPath: one normal form for every path parameter', () => {
  it('collapses repeated slashes, drops . and a trailing slash', () => {
    const table: Array<[string, string]> = [
      ['/etc/hosts', '/etc/hosts'],
      ['//etc//hosts', '/etc/hosts'],
      ['/etc/./hosts', '/etc/hosts'],
      ['/var/lib/kubelet/', '/var/lib/kubelet'],
      ['/.', '/'],
      ['//', '/'],
      ['/', '/'],
      ['/./././', '/'],
    ];
    for (const [input, output] of table) expect(hostPath().parse(input, 'path'), input).to.equal(output);
  });

  it('refuses .., control characters, relative paths and (when asked) /', () => {
    const table: Array<[string, Parameters<typeof hostPath>[0], RegExp]> = [
      ['/tmp/..', {}, /has a \.\. component/],
      ['/usr/../', {}, /has a \.\. component/],
      ['/a/b/../../', { root: false }, /has a \.\. component/],
      ['etc/hosts', {}, /not an absolute path/],
      ['', { relative: true }, /must not be empty/],
      ['/etc/a\nb', { noControl: true }, /control character \(U\+000A\)/],
      ['/etc/\x1b[31m', { noControl: true }, /control character \(U\+001B\)/],
      ['/a\0b', {}, /NUL byte/],
      ['//', { root: false }, /means \/ \(the root directory\)/],
      ['/.', { root: false }, /means \//],
      ['/', { root: false }, /means \//],
      ['/opt/app/', { file: true }, /ends with \/; give the full path of the file/],
      ['/opt/app/.', { file: true }, /ends with \//],
    ];
    for (const [input, rules, error] of table) expect(() => hostPath(rules).parse(input, 'path'), JSON.stringify(input)).to.throw(SchemaError, error);
  });

  it('takes relative paths only where asked, normalised the same way', () => {
    expect(normaliseHostPath('./ready//flag', { relative: true })).to.deep.equal({ path: 'ready/flag' });
    expect(normaliseHostPath('.', { relative: true })).to.deep.equal({ path: '.' });
    expect(normaliseHostPath('../x', { relative: true }))
      .to.have.property('problem')
      .that.matches(/\.\. component/);
  });

  it('names the parameter and refuses non-strings', () => {
    expect(() => hostPath().parse(42, 'copy.dest')).to.throw(SchemaError, /^copy\.dest: expected an absolute path on the host, got 42/);
  });
});

describe('hostPath: names with control characters', () => {
  it('carries them literally unless the parameter goes into a line-based file', () => {
    expect(hostPath().parse('/tmp/two\nlines/', 'path')).to.equal('/tmp/two\nlines');
    expect(() => hostPath({ noControl: true }).parse('/tmp/two\nlines', 'path')).to.throw(SchemaError, /control character/);
  });
});
