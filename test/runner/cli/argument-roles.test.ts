/**
 * A playbook given as the inventory, or an inventory as the playbook (`run inv.yaml -i site.ts`), is named
 * as such before either is parsed: the TypeScript file used to be read as an INI inventory.
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refuseDataAsPlaybook, refuseScriptAsInventory } from '../../../runner/cli/argument-roles.ts';
import { UsageError } from '../../../runner/cli/options.ts';
import { loadTargets } from '../../../runner/cli/targets.ts';
import { parseCommonOptions } from '../../../runner/cli/options.ts';

const dir = mkdtempSync(join(tmpdir(), 'drover-argument-roles-'));
const PLAYBOOK = "import { definePlaybook } from 'drover';\nconst book = definePlaybook({ name: 'x' });\nexport default book.playbook([]);\n";
const files: Record<string, string> = {
  'site.ts': PLAYBOOK,
  site: PLAYBOOK,
  'tool.mjs': 'export const x = 1;\n',
  'inv.yaml': 'all:\n  hosts:\n    w1:\n',
  'inv.ini': '[web]\nw1 ansible_host=10.0.0.1\n',
  hosts: '[web]\nimport\nw1\n',
  'notes.md': '# notes\n',
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
const path = (name: string) => join(dir, name);

describe('arguments in the wrong place', () => {
  it('refuses a module as the inventory, by extension or by its import/export lines', () => {
    for (const name of ['site.ts', 'site', 'tool.mjs']) {
      expect(() => refuseScriptAsInventory(path(name), name), name).to.throw(UsageError, /is a TypeScript or JavaScript module \(a playbook\?\), not an inventory; the playbook comes first/);
    }
    // An INI host called "import" is a host, not a module line.
    for (const name of ['inv.yaml', 'inv.ini', 'hosts']) expect(() => refuseScriptAsInventory(path(name), name), name).to.not.throw();
  });

  it('refuses an inventory or data file as the playbook', () => {
    for (const name of ['inv.yaml', 'inv.ini', 'hosts']) {
      expect(() => refuseDataAsPlaybook(path(name)), name).to.throw(UsageError, /is not a playbook: .*\(this looks like an inventory or a data file\); the playbook comes first and the inventory after -i/);
    }
    expect(() => refuseDataAsPlaybook(path('notes.md'))).to.throw(UsageError, /is not a playbook/);
    for (const name of ['site.ts', 'site', 'tool.mjs']) expect(() => refuseDataAsPlaybook(path(name)), name).to.not.throw();
  });

  it('says so for -i site.ts before parsing it as an inventory', async () => {
    const error = await loadTargets(parseCommonOptions(['-i', path('site.ts')]).options).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.match(/site\.ts is a TypeScript or JavaScript module \(a playbook\?\), not an inventory/);
  });
});
