/**
 * The import rule of the README's design notes ("Layers that point one way"), enforced: each source file
 * may import only from the layers allowed for its own, so the layering cannot regress silently.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

type Layer = 'core' | 'transport' | 'engine' | 'report' | 'audit' | 'cli' | 'modules' | 'inventory';

/** What each layer may import besides itself. */
const ALLOWED: Record<Layer, Layer[]> = {
  core: [],
  transport: ['core'],
  engine: ['core', 'transport'],
  report: ['core'],
  audit: ['core'],
  modules: ['core'],
  inventory: ['core'],
  cli: ['core', 'transport', 'engine', 'report', 'audit', 'modules', 'inventory'],
};

/** Type-only imports allowed across layers: the playbook API types `t.copy(…)` from the registry. */
const TYPE_ONLY_EXCEPTIONS: Array<[string, Layer]> = [['runner/playbook.ts', 'modules']];

function layerOf(path: string): Layer | undefined {
  const [top, second] = path.split('/');
  if (top === 'modules') return 'modules';
  if (top === 'inventory') return 'inventory';
  if (top !== 'runner') return undefined;
  if (second?.endsWith('.ts')) return 'core';
  return ['transport', 'engine', 'report', 'audit', 'cli'].includes(second ?? '') ? (second as Layer) : undefined;
}

/** Relative imports of a file (static, `export … from`, side-effect and dynamic), with whether each is type-only. */
function importsOf(text: string): Array<{ specifier: string; typeOnly: boolean }> {
  const found: Array<{ specifier: string; typeOnly: boolean }> = [];
  const statement = /^\s*(?:import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?['"](\.[^'"]+)['"]/gm;
  for (const match of text.matchAll(statement)) found.push({ specifier: match[2]!, typeOnly: Boolean(match[1]) });
  for (const match of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push({ specifier: match[1]!, typeOnly: false });
  return found;
}

/** Every import that breaks the rule, as "FILE imports TARGET (LAYER → LAYER)". Paths are relative to the root. */
function layerViolations(sources: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, text] of sources) {
    const from = layerOf(file);
    if (!from) continue;
    for (const { specifier, typeOnly } of importsOf(text)) {
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      const to = layerOf(target);
      if (!to || to === from || ALLOWED[from].includes(to)) continue;
      if (typeOnly && TYPE_ONLY_EXCEPTIONS.some(([exempt, layer]) => exempt === file && layer === to)) continue;
      problems.push(`${file} imports ${target} (${from} → ${to})`);
    }
  }
  return problems;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('layers', () => {
  it('finds breaking imports of every form, and allows what the table allows', () => {
    const sources = new Map([
      ['runner/engine/a.ts', "import { registry } from '../../modules/registry.ts';\nimport type { Fact } from '../facts.ts';\n"],
      ['runner/engine/b.ts', "import {\n  x,\n  y,\n} from '../cli/options.ts';\nexport { z } from '../report/json.ts';\nconst m = await import('../../modules/copy.ts');\n"],
      ['runner/audit/w.ts', "import { toPlain } from '../report/json.ts';\nimport '../plain-value.ts';\n"],
      ['runner/playbook.ts', "import type { Registry } from '../modules/registry.ts';\n"],
      ['runner/module.ts', "import type { Registry } from '../modules/registry.ts';\n"],
      ['runner/cli/main.ts', "import { registry } from '../../modules/registry.ts';\nimport { runPlaybook } from '../engine/run-playbook.ts';\n"],
      ['modules/copy.ts', "import { planFileContent } from './lib/file-content.ts';\nimport { defineModule } from '../runner/module.ts';\n"],
    ]);
    expect(layerViolations(sources)).to.deep.equal([
      'runner/engine/a.ts imports modules/registry.ts (engine → modules)',
      'runner/engine/b.ts imports runner/cli/options.ts (engine → cli)',
      'runner/engine/b.ts imports runner/report/json.ts (engine → report)',
      'runner/engine/b.ts imports modules/copy.ts (engine → modules)',
      'runner/audit/w.ts imports runner/report/json.ts (audit → report)',
      'runner/module.ts imports modules/registry.ts (core → modules)',
    ]);
  });

  it('no source file imports against the direction of the layers (README, "Layers that point one way")', () => {
    const files = [...sourceFiles('runner'), ...sourceFiles('modules'), ...sourceFiles('inventory')];
    expect(files.length).to.be.greaterThan(50);
    const sources = new Map(files.map((file) => [relative(ROOT, join(ROOT, file)).split('\\').join('/'), readFileSync(join(ROOT, file), 'utf8')]));
    expect(layerViolations(sources)).to.deep.equal([]);
  });
});
