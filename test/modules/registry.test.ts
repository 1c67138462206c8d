import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findModule, registry } from '../../modules/registry.ts';

const MODULES_DIR = join(import.meta.dirname, '../../modules');

/** File name (kebab-case) → registry key (camelCase). */
function keyOf(file: string): string {
  return file.replace(/\.ts$/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
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

  it('finds modules by camelCase and snake_case names, and nothing by inherited names', () => {
    expect(findModule('apt_repository')).to.equal(registry.aptRepository);
    expect(findModule('yumRepository')).to.equal(registry.yumRepository);
    expect(findModule('toString')).to.equal(undefined);
  });
});
