import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { registry } from '../../../modules/registry.ts';
import { paramDocs } from '../../../runner/cli/param-docs.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

function docsOf(files: Record<string, string>, main = 'module.ts'): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-docs-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return Object.fromEntries(paramDocs(join(dir, main)));
}

describe('parameter docs for `run module --help`', () => {
  for (const [key, module] of Object.entries(registry)) {
    it(`${key}: every parameter has its doc comment read from the source`, () => {
      const docs = paramDocs(join(ROOT, 'modules', `${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}.ts`));
      const undocumented = Object.keys(module.params.shape).filter((name) => !docs.get(name));
      expect(undocumented, 'write a /** doc comment */ above each schema field').to.deep.equal([]);
    });
  }

  it('takes only top-level keys of the params object, past strings, templates and regular expressions', () => {
    const source = `
const other = s.object({ /** not this */ a: s.string() });
const params = s
  .object({
    /** A: braces in a regex and a string. */
    a: s.string({ pattern: /^[{}]{0,2}\\/x$/, what: 'a "{" or } ' }),
    // a line comment
    /**
     * B over
     * two lines.
     * @example b: 1
     */
    b: s.object({ /** nested, not a parameter */ c: s.int() }).refine((v) => \`\${v.c > 1 ? { x: '}' } : 2} /** no */ c:\` ? undefined : 'x'),
    c: s.int(),
    /** D after an undocumented key. */
    d: s.boolean().default(2 / 1 > 0),
    ...shared,
    ...imported,
  })
  .rule(() => undefined);
const shared = { /** E from this file. */ e: s.int() };
`;
    const lib = `export const imported = {\n  /** F from the imported file. */\n  f: s.int(),\n};\n`;
    expect(docsOf({ 'module.ts': `import { imported } from './lib.ts';\n${source}`, 'lib.ts': lib })).to.deep.equal({
      a: 'A: braces in a regex and a string.',
      b: 'B over two lines.',
      d: 'D after an undocumented key.',
      e: 'E from this file.',
      f: 'F from the imported file.',
    });
  });

  it('a missing file or a file without params gives no docs', () => {
    expect(docsOf({ 'module.ts': 'export const x = 1;\n' })).to.deep.equal({});
    expect(docsOf({}, 'absent.ts')).to.deep.equal({});
  });

  describe('the command line', function () {
    this.timeout(60_000);
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'run.ts'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });

    it('`module --help MODULE` shows each parameter with its doc', () => {
      const help = run('module', '--help', 'copy');
      expect(help.status).to.equal(0);
      expect(help.stdout).to.include('  dest (required): an absolute path on the host\n      Where the file goes on the host (absolute path).\n');
      expect(help.stdout).to.include('  mode: an octal mode as a quoted string, e.g. "0644"\n      Permission bits as a quoted octal string');
      expect(help.stdout).to.include("  createParents: true or false (default false)\n      Create dest's missing parent directories instead of failing.\n");
    });

    it('`module --help NO_SUCH_MODULE` names it, suggests the nearest and exits 1', () => {
      const help = run('module', '--help', 'copx');
      expect(help.status).to.equal(1);
      expect(help.stdout).to.equal('');
      expect(help.stderr).to.match(/^drover: unknown module "copx"; did you mean copy\? \(modules: apt, /);
      const pattern = run('module', 'web', 'sysctll', '--help');
      expect(pattern.status).to.equal(1);
      expect(pattern.stderr).to.match(/unknown module "sysctll"; did you mean sysctl\?/);
    });
  });
});
