import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findModule, registry } from '../../modules/registry.ts';

const MODULES_DIR = join(import.meta.dirname, '../../modules');

/** File name (kebab-case) → registry key (camelCase). */
function keyOf(file: string): string {
  return file.replace(/\.ts$/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** The shape defineModule gives: a name, a summary, a parameter schema and a planner. */
function isModule(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.name === 'string' && typeof candidate.plan === 'function' && typeof candidate.params === 'object';
}

describe('module registry', () => {
  const files = readdirSync(MODULES_DIR).filter((file) => file.endsWith('.ts') && file !== 'registry.ts');

  it('registers every file in modules/, and nothing else', () => {
    expect(Object.keys(registry).sort()).to.deep.equal(files.map(keyOf).sort());
  });

  for (const [key, module] of Object.entries(registry)) {
    it(`${key}: the key is the module's own name and it has a summary`, () => {
      expect(module.name).to.equal(key);
      expect(module.summary).to.be.a('string').and.not.equal('');
    });
  }

  // modules/lib/ (the module authors' toolkit) and modules/facts/ are libraries: a module defined in one of
  // them could be registered without the folder check above noticing.
  for (const folder of ['lib', 'facts']) {
    it(`modules/${folder}/ holds no modules`, async () => {
      const dir = join(MODULES_DIR, folder);
      for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
        const exported = Object.entries((await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>);
        const modules = exported.filter(([, value]) => isModule(value)).map(([name]) => `${folder}/${file}: ${name}`);
        expect(modules, 'a module belongs in its own file in modules/').to.deep.equal([]);
      }
    });
  }

  it('finds modules by camelCase and snake_case names, and nothing by inherited names', () => {
    expect(findModule('apt_repository')).to.equal(registry.aptRepository);
    expect(findModule('yumRepository')).to.equal(registry.yumRepository);
    expect(findModule('toString')).to.equal(undefined);
  });
});
