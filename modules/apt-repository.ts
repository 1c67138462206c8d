/**
 * aptRepository: an APT source in its own file under /etc/apt/sources.list.d/, with the key that signs
 * it in /etc/apt/keyrings/ and `signed-by` pointing at that key (so it vouches for this repository only,
 * not for every source as the deprecated apt-key did), then `apt-get update` when anything changed.
 *
 * Two ways to write the source: `repo`, a classic one-line entry (`deb [opts] URI SUITE COMPONENTS`, kept
 * in NAME.list), or `uris`/`suites`/`components`, rendered as a deb822 NAME.sources file. Switching
 * between them removes the other file, so a source is never listed twice. `signedBy` is the key itself
 * (an ASCII-armored block) or the path of a key file on the controller; it is written as NAME.asc
 * (armored) or NAME.gpg (binary).
 *
 * @example
 *   await t.aptRepository('kubernetes repository', {
 *     name: 'kubernetes',
 *     uris: ['https://pkgs.k8s.io/core:/stable:/v1.29/deb/'],
 *     suites: ['/'],
 *     signedBy: 'files/kubernetes-release.key',
 *   });
 *   await t.aptRepository('docker', { name: 'docker', repo: 'deb [arch=amd64] https://download.docker.com/linux/debian bookworm stable', signedBy: dockerKey });
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Script, sh } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { combinePlans, defineModule, noChange, type Change, type HostContext, type Plan } from '../runner/module.ts';
import { tail } from '../runner/result.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { planFileContent } from './lib/file-content.ts';
import { UPDATE_STAMP } from './facts/apt-state.ts';
import { fileStateScript, parseFileState, type FileState } from './facts/file-state.ts';

export const SOURCES_DIR = '/etc/apt/sources.list.d';
export const KEYRINGS_DIR = '/etc/apt/keyrings';

/** A word: no whitespace (fields are separated by spaces in both formats). */
const WORD = /^\S+$/;
/** `deb [opt=value ...] URI SUITE [COMPONENT...]` on one line. */
const ONE_LINE = /^deb(-src)?[ \t]+(\[[^\]\n\r]*\][ \t]+)?[^\s]+[ \t]+[^\s]+([ \t]+[^\s]+)*[ \t]*$/;
const ARMOR_HEADER = '-----BEGIN PGP PUBLIC KEY BLOCK-----';

const params = s
  .object({
    /** Base name of the files: sources.list.d/NAME.list or NAME.sources, keyrings/NAME.asc or NAME.gpg. */
    name: s.string({ pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, what: 'a file name of letters, digits, _ . -' }),
    /** A one-line source, e.g. `deb [arch=amd64] https://download.docker.com/linux/debian bookworm stable`. Exclusive with `uris`. */
    repo: s.string({ pattern: ONE_LINE, what: 'a one-line source: deb [options] URI SUITE [COMPONENTS]' }).optional(),
    /** deb822: the kinds of archive (`deb`, `deb-src`). */
    types: s.array(s.enum(['deb', 'deb-src']), { nonEmpty: true }).default(['deb']),
    /** deb822: the repository URIs. Exclusive with `repo`. */
    uris: s.array(s.string({ pattern: WORD, what: 'a URI without spaces' })).default([]),
    /** deb822: suites (`bookworm`), or an exact path ending in `/` for a flat repository. */
    suites: s.array(s.string({ pattern: WORD, what: 'a suite without spaces' })).default([]),
    /** deb822: components (`main`); none for a flat repository. */
    components: s.array(s.string({ pattern: WORD, what: 'a component without spaces' })).default([]),
    /** deb822: architectures to fetch (`amd64`); default: the host's. */
    architectures: s.array(s.string({ pattern: /^[a-z0-9-]+$/, what: 'a Debian architecture such as amd64' })).default([]),
    /** deb822: trust the repository without a signature (`Trusted: yes`); unset: apt checks signatures. */
    trusted: s.boolean().optional(),
    /** deb822: whether apt uses the source (`Enabled: no` keeps it on file, unused). */
    enabled: s.boolean().default(true),
    /**
     * The repository's signing key: the ASCII-armored key itself, or the path of a key file (armored or
     * binary) on the controller. Written to /etc/apt/keyrings/NAME.asc or .gpg and named by `signed-by`.
     */
    signedBy: s.string({ nonEmpty: true, what: 'an armored public key or a key file path on the controller' }).optional(),
    /** `present`: the source (and key) are in place; `absent`: their files are removed. */
    state: s.enum(['present', 'absent']).default('present'),
    /** Run `apt-get update` after a change, so the repository's packages are known to the next task. */
    updateCache: s.boolean().default(true),
  })
  .rule((p) =>
    p.state === 'present' && (p.repo === undefined) === (p.uris.length === 0) ? 'give exactly one of repo (one line) and uris (deb822)' : undefined,
  )
  .rule((p) =>
    p.repo !== undefined && (p.suites.length > 0 || p.components.length > 0 || p.architectures.length > 0 || p.trusted !== undefined || !p.enabled)
      ? 'suites, components, architectures, trusted and enabled go with uris (deb822); write options into the repo line instead'
      : undefined,
  )
  .rule((p) =>
    p.repo !== undefined && p.signedBy !== undefined && /signed-by=/i.test(p.repo)
      ? 'give the key either as signed-by= in repo or as signedBy, not both'
      : undefined,
  )
  .rule((p) => (p.uris.length > 0 && p.suites.length === 0 ? 'uris need suites (a suite such as bookworm, or / for a flat repository)' : undefined))
  .rule((p) => {
    if (p.uris.length === 0) return undefined;
    const exact = p.suites.every((suite) => suite.endsWith('/'));
    if (exact && p.components.length > 0) return 'a suite that is an exact path (ending in /) takes no components';
    if (!exact && p.components.length === 0) return 'suites that are not exact paths need components (main)';
    return undefined;
  });

export type AptRepositoryParams = InputOf<typeof params>;
type Options = OutputOf<typeof params>;

/** A key ready to write: its bytes and the file extension apt needs to read it (.asc armored, .gpg binary). */
export interface KeyFile {
  bytes: Buffer;
  extension: 'asc' | 'gpg';
}

/** Reads `signedBy`: armored text as it is, or a controller file of either kind. */
export async function loadKey(signedBy: string): Promise<KeyFile> {
  if (signedBy.trimStart().startsWith(ARMOR_HEADER)) {
    const text = signedBy.trim();
    return { bytes: Buffer.from(`${text}\n`), extension: 'asc' };
  }
  if (/[\n\r]/.test(signedBy)) {
    throw new ModuleError(
      'aptRepository: signedBy is neither an armored key (starting with -----BEGIN PGP PUBLIC KEY BLOCK-----) nor a file path',
      'give the key block itself or the path of a key file on the controller',
    );
  }
  const path = resolve(signedBy);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ModuleError(
      `aptRepository: cannot read the key file ${path} on the controller (${code})`,
      'give the armored key itself, or a path (relative to the working directory) to a key file',
    );
  }
  if (bytes.toString('latin1').trimStart().startsWith(ARMOR_HEADER)) return { bytes, extension: 'asc' };
  // A binary OpenPGP packet starts with a byte whose top bit is set (RFC 4880, 4.2).
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) return { bytes, extension: 'gpg' };
  throw new ModuleError(
    `aptRepository: ${path} is not an OpenPGP public key (neither armored nor binary)`,
    'export it with `gpg --export` (binary) or `gpg --export --armor`',
  );
}

/** The one-line entry with `signed-by=` added when a key is managed; pure. */
export function renderOneLine(repo: string, keyPath: string | null): string {
  const trimmed = repo.trim();
  if (!keyPath) return `${trimmed}\n`;
  const match = /^(deb(?:-src)?)[ \t]+(?:\[([^\]]*)\][ \t]+)?(.*)$/.exec(trimmed)!;
  const options = (match[2] ?? '').trim().split(/\s+/).filter(Boolean);
  return `${match[1]} [${[...options, `signed-by=${keyPath}`].join(' ')}] ${match[3]}\n`;
}

/** The deb822 stanza; pure. */
export function renderDeb822(p: Options, keyPath: string | null): string {
  const fields: Array<[string, string | undefined]> = [
    ['Types', p.types.join(' ')],
    ['URIs', p.uris.join(' ')],
    ['Suites', p.suites.join(' ')],
    ['Components', p.components.length > 0 ? p.components.join(' ') : undefined],
    ['Architectures', p.architectures.length > 0 ? p.architectures.join(' ') : undefined],
    ['Signed-By', keyPath ?? undefined],
    ['Trusted', p.trusted === undefined ? undefined : p.trusted ? 'yes' : 'no'],
    ['Enabled', p.enabled ? undefined : 'no'],
  ];
  return fields
    .filter((field): field is [string, string] => field[1] !== undefined)
    .map(([key, value]) => `${key}: ${value}\n`)
    .join('');
}

/** Every path this module may own for a name. */
export function repositoryPaths(name: string) {
  return {
    list: `${SOURCES_DIR}/${name}.list`,
    sources: `${SOURCES_DIR}/${name}.sources`,
    asc: `${KEYRINGS_DIR}/${name}.asc`,
    gpg: `${KEYRINGS_DIR}/${name}.gpg`,
  };
}

/** The states of several paths in one round trip. */
async function readStates(host: HostContext, paths: string[]): Promise<Map<string, FileState>> {
  const script = Script.join(paths.map((path, index) => Script.join([sh`echo ${`#path ${index}`}`, fileStateScript(path, { content: 'small' })])));
  const output = await host.probe(script);
  if (output.exitCode !== 0) {
    throw new ModuleError(
      `aptRepository: reading ${paths.join(', ')} failed (exit ${output.exitCode}): ${tail(output.stderr, 5)}`,
      'check that the host is reachable and the task has become (root) if needed',
    );
  }
  const sections = output.stdout.split(/^#path \d+\n/m).slice(1);
  if (sections.length !== paths.length) throw new ModuleError(`aptRepository: unexpected probe output: ${output.stdout.slice(0, 200)}`);
  return new Map(paths.map((path, index) => [path, parseFileState(path, sections[index]!)]));
}

function removal(state: FileState): Plan {
  if (state.kind === 'absent') return noChange(`${state.path} is absent`);
  const before = state.content
    ? state.content.toString('utf8')
    : state.kind === 'link'
      ? `(symbolic link to ${state.linkTarget ?? '?'})`
      : `(${state.size ?? 0} bytes)`;
  return {
    changes: [
      {
        summary: `remove ${state.path}`,
        diff: { kind: 'file', path: state.path, before, after: null },
        commands: [{ run: sh`rm -f -- ${state.path}`, description: `remove ${state.path}` }],
        effects: [{ kind: 'path', path: state.path, state: { kind: 'absent' } }],
      },
    ],
  };
}

function refreshChange(): Change {
  return {
    summary: 'refresh the apt package lists (apt-get update)',
    effects: [],
    commands: [
      {
        run: sh`apt-get update -q -o DPkg::Lock::Timeout=300
mkdir -p /var/lib/apt/periodic && touch ${UPDATE_STAMP}`,
        env: { DEBIAN_FRONTEND: 'noninteractive' },
        timeoutMs: 30 * 60_000,
        description: 'apt-get update',
      },
    ],
  };
}

/** Plans from the probed states and the loaded key; exported for table tests. */
export async function planAptRepository(p: Options, states: Map<string, FileState>, key: KeyFile | null, host: HostContext): Promise<Plan> {
  const paths = repositoryPaths(p.name);
  const state = (path: string): FileState => states.get(path)!;
  const plans: Plan[] = [];
  if (p.state === 'absent') {
    plans.push(...[paths.list, paths.sources, paths.asc, paths.gpg].map((path) => removal(state(path))));
  } else {
    const keyPath = key ? (key.extension === 'asc' ? paths.asc : paths.gpg) : null;
    if (key && keyPath) {
      plans.push(await planFileContent({ path: keyPath, content: key.bytes, mode: '0644', createParents: true }, host, state(keyPath)));
      plans.push(removal(state(key.extension === 'asc' ? paths.gpg : paths.asc)));
    }
    const oneLine = p.repo !== undefined;
    const sourcePath = oneLine ? paths.list : paths.sources;
    const content = oneLine ? renderOneLine(p.repo!, keyPath) : renderDeb822(p, keyPath);
    const sourceState = state(sourcePath);
    plans.push(await planFileContent({ path: sourcePath, content, mode: sourceState.kind === 'absent' ? '0644' : undefined }, host, sourceState));
    plans.push(removal(state(oneLine ? paths.sources : paths.list)));
  }
  const plan = combinePlans(...plans);
  if (plan.changes.length === 0) {
    return noChange(p.state === 'absent' ? `no files of source ${p.name} exist` : `source ${p.name} is in place as asked`);
  }
  if (p.updateCache) plan.changes.push(refreshChange());
  return { changes: plan.changes };
}

export const aptRepository = defineModule({
  name: 'aptRepository',
  summary: 'An APT source (one-line or deb822) with its signing key in /etc/apt/keyrings',
  params,
  async plan(p, host) {
    const key = p.state === 'present' && p.signedBy !== undefined ? await loadKey(p.signedBy) : null;
    const paths = repositoryPaths(p.name);
    const states = await readStates(host, [paths.list, paths.sources, paths.asc, paths.gpg]);
    return planAptRepository(p, states, key, host);
  },
});
