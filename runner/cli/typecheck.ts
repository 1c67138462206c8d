/**
 * The playbook is type-checked before anything connects. tsx strips types without checking them, so a
 * misspelt module parameter (`{ dset: '/etc/motd' }`) used to surface only when its task ran, after earlier
 * tasks had already changed hosts. The TypeScript compiler checks the playbook and the files it imports
 * with drover's own compiler settings; errors are reported as file:line:col and nothing is run.
 *
 * The settings leave out the DOM's declarations (`lib: ["ES2022"]`, where the target alone would bring them
 * in): a playbook runs under Node, whose globals come from @types/node, and `document` or `window` would pass
 * the check only to fail on the controller. Parsing the DOM's 1.9 MB also took about a third of a cold check.
 *
 * A cold check costs seconds (the compiler, Node's type declarations, drover's runner), so a success is
 * cached by content: the cache entry lists every source file the program read with its sha256, and a
 * later run whose files all hash the same skips the compiler without even loading it. `--no-typecheck`
 * skips the step.
 *
 * The compiler is loaded at run time, which is why `typescript` and `@types/node` are dependencies of
 * drover rather than devDependencies.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDirectories } from '../make-directories.ts';

/** drover's root: compiler settings come from its tsconfig.json, and its own sources are checked by its CI. */
const DROVER_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** drover's own library code: read by the program (its types matter) but not reported on; its CI checks it. */
const OWN_DIRS = ['runner', 'modules', 'inventory'].map((dir) => join(DROVER_ROOT, dir) + sep);
const CACHE_FORMAT = 1;

export interface TypeCheckResult {
  /** `file:line:col - error TS2353: message`, one per error; empty when the playbook type-checks. */
  errors: string[];
  /** Whether the answer came from the cache (no compiler run). */
  cached: boolean;
  /** Where the cache entry is (written after a clean check). */
  cacheFile: string;
}

interface CacheEntry {
  format: number;
  typescript: string;
  options: string;
  files: Array<[path: string, sha256: string]>;
}

/**
 * The cache directory: $DROVER_CACHE_DIR, else $XDG_CACHE_HOME/drover, else ~/.cache/drover. Empty or
 * relative values are ignored, as the XDG spec says of XDG_CACHE_HOME: `DROVER_CACHE_DIR= drover …` made a
 * typecheck/ directory wherever it ran.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const absolute = (value: string | undefined) => (value && isAbsolute(value) ? value : undefined);
  return absolute(env.DROVER_CACHE_DIR) ?? join(absolute(env.XDG_CACHE_HOME) ?? join(homedir(), '.cache'), 'drover');
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function fileHash(path: string): string | undefined {
  try {
    return sha256(readFileSync(path));
  } catch {
    return undefined;
  }
}

function typescriptVersion(require: NodeJS.Require): string {
  return (require('typescript/package.json') as { version: string }).version;
}

/**
 * drover's tsconfig.json; an installed drover (package.json `files`) ships without it, and then the same
 * settings written here apply.
 */
const INSTALLED_SETTINGS = JSON.stringify({
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUncheckedIndexedAccess: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    esModuleInterop: true,
    skipLibCheck: true,
    resolveJsonModule: true,
  },
});

function compilerSettings(): string {
  try {
    return readFileSync(join(DROVER_ROOT, 'tsconfig.json'), 'utf8');
  } catch {
    return INSTALLED_SETTINGS;
  }
}

/**
 * The `@types` folder that holds Node's declarations as drover resolves them: drover's own node_modules in a
 * checkout, but the user's project's node_modules when npm hoisted drover's dependencies there.
 */
function nodeTypesRoot(require: NodeJS.Require): string {
  try {
    return dirname(dirname(require.resolve('@types/node/package.json')));
  } catch {
    return join(DROVER_ROOT, 'node_modules', '@types');
  }
}

/** Type-checks the playbook at `playbookPath` (see the file comment); throws only when the compiler is missing. */
export async function typeCheckPlaybook(playbookPath: string): Promise<TypeCheckResult> {
  const require = createRequire(join(DROVER_ROOT, 'package.json'));
  let version: string;
  try {
    version = typescriptVersion(require);
  } catch {
    throw new Error(
      'cannot type-check the playbook: the typescript package is not installed with drover (run npm install, or pass --no-typecheck to run unchecked)',
    );
  }
  const configText = compilerSettings();
  const cacheFile = join(cacheDir(), 'typecheck', `${sha256(`${playbookPath}\0${version}\0${configText}`)}.json`);

  const entry = readCache(cacheFile);
  if (entry && entry.typescript === version && entry.options === configText && entry.files.some(([path]) => path === playbookPath)) {
    if (entry.files.every(([path, hash]) => fileHash(path) === hash)) return { errors: [], cached: true, cacheFile };
  }

  const ts = (await import('typescript')).default;
  const parsed = ts.parseConfigFileTextToJson(join(DROVER_ROOT, 'tsconfig.json'), configText);
  const { options } = ts.convertCompilerOptionsFromJson(parsed.config?.compilerOptions ?? {}, DROVER_ROOT);
  // Only Node's declarations: a playbook has no business with the test framework's globals.
  // A JavaScript playbook has no types of its own to check (allowJs without checkJs), but the TypeScript it
  // imports does; without allowJs the compiler refuses the root itself (TS6504). The path is in the cache key.
  const program = ts.createProgram({
    rootNames: [playbookPath],
    options: { ...options, noEmit: true, types: ['node'], typeRoots: [nodeTypesRoot(require)], allowJs: /\.m?js$/.test(playbookPath) },
  });

  const sources = program.getSourceFiles().filter((file) => !file.isDeclarationFile && !file.fileName.includes('/node_modules/'));
  const reported = sources.filter((file) => resolve(file.fileName) === playbookPath || !OWN_DIRS.some((dir) => resolve(file.fileName).startsWith(dir)));
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...reported.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
  ];
  const errors = diagnostics
    .filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error)
    .map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ');
      if (!diagnostic.file || diagnostic.start === undefined) return `error TS${diagnostic.code}: ${message}`;
      const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      return `${shownPath(diagnostic.file.fileName)}:${line + 1}:${character + 1} - error TS${diagnostic.code}: ${message}`;
    });
  if (errors.length === 0) {
    const files = sources.map((file) => resolve(file.fileName)).map((path): [string, string] => [path, fileHash(path) ?? '']);
    writeCache(cacheFile, { format: CACHE_FORMAT, typescript: version, options: configText, files });
  }
  return { errors, cached: false, cacheFile };
}

/** Relative to the working directory when the file is below it, else absolute: clickable either way. */
function shownPath(file: string): string {
  const shown = relative(process.cwd(), file);
  return shown === '' || shown.startsWith('..') ? file : shown;
}

function readCache(file: string): CacheEntry | undefined {
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry;
    return entry.format === CACHE_FORMAT && Array.isArray(entry.files) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a cache that cannot be written only costs the next run a full check. */
function writeCache(file: string, entry: CacheEntry): void {
  try {
    makeDirectories(dirname(file));
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(entry));
    renameSync(temporary, file);
  } catch {
    // Read-only home or cache directory: checked every time.
  }
}
