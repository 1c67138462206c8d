/**
 * The playbook type check's settings (runner/cli/typecheck.ts): a playbook runs under Node, so Node's
 * globals check and the browser's do not; a JavaScript playbook is read, and what it imports checked.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { typeCheckPlaybook } from '../../../runner/cli/typecheck.ts';

const PLAYBOOK_API = resolve(fileURLToPath(import.meta.url), '../../../../runner/playbook.ts');

describe('cli/typecheck: the settings a playbook is checked with', function () {
  this.timeout(60_000);
  let dir: string;
  let previousCache: string | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-typecheck-'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    previousCache = process.env.DROVER_CACHE_DIR;
    process.env.DROVER_CACHE_DIR = join(dir, 'cache');
  });

  after(() => {
    if (previousCache === undefined) delete process.env.DROVER_CACHE_DIR;
    else process.env.DROVER_CACHE_DIR = previousCache;
    rmSync(dir, { recursive: true, force: true });
  });

  it("accepts Node's globals and refuses the browser's (no DOM declarations)", async () => {
    const path = join(dir, 'globals.ts');
    writeFileSync(
      path,
      `import { definePlaybook } from ${JSON.stringify(PLAYBOOK_API)};
const book = definePlaybook({ name: 'globals' });
const node = [Buffer.from('x'), process.pid, new URL('http://x/'), new TextEncoder(), new AbortController(), structuredClone({ a: 1 }), performance.now(), crypto.randomUUID(), setTimeout(() => undefined, 1)];
const browser = document.title;
export default book.playbook([book.play({ name: 'p', hosts: 'all', tasks: async (t) => { await t.debug('x', { msg: String(node.length) + browser }); } })]);
`,
    );
    const { errors, cached } = await typeCheckPlaybook(path);
    expect(cached).to.equal(false);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/globals\.ts:4:17 - error TS\d+: Cannot find name 'document'/);
  });

  it('checks what a JavaScript playbook imports, and not the JavaScript itself (it used to be refused: TS6504)', async () => {
    writeFileSync(join(dir, 'port.ts'), "export const port: number = 'eighty';\n");
    const path = join(dir, 'book.mjs');
    const body = (imports: string) => `import { definePlaybook } from ${JSON.stringify(PLAYBOOK_API)};
${imports}
const book = definePlaybook({ name: 'js' });
export default book.playbook([book.play({ name: 'p', hosts: 'all', tasks: async (t) => { await t.debug('x', { msg: 'hi' }); } })]);
`;
    writeFileSync(path, body(''));
    expect((await typeCheckPlaybook(path)).errors).to.deep.equal([]);
    writeFileSync(path, body("import { port } from './port.ts';\nvoid port;"));
    const { errors } = await typeCheckPlaybook(path);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/port\.ts:1:14 - error TS2322: Type 'string' is not assignable to type 'number'/);
  });
});
