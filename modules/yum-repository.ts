/**
 * yumRepository: one repository section in a `.repo` file under /etc/yum.repos.d/, as dnf and yum read
 * it. The section is rendered from the parameters by a pure function (every key in a fixed order, so
 * the file is the same on every host and every run); other sections of the same file, and comments
 * before them, are kept as they are. Removing the last section removes the file.
 *
 * @example
 *   await t.yumRepository('kubernetes repository', {
 *     name: 'kubernetes',
 *     description: 'Kubernetes',
 *     baseurl: ['https://pkgs.k8s.io/core:/stable:/v1.29/rpm/'],
 *     gpgcheck: true,
 *     repoGpgcheck: true,
 *     gpgkey: ['https://pkgs.k8s.io/core:/stable:/v1.29/rpm/repodata/repomd.xml.key'],
 *     exclude: ['kubelet', 'kubeadm', 'kubectl', 'cri-tools', 'kubernetes-cni'],
 *   });
 */
import { posix } from 'node:path';
import { sh } from '../runner/command.ts';
import { defineModule, noChange, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { hostPath } from './lib/host-path.ts';
import { planFileContent } from './lib/file-content.ts';
import { decodeHostText, encodeHostText } from '../runner/host-text.ts';
import { readFileState, type FileState } from './facts/file-state.ts';

/** One line of text: a newline would start a new key or section in the file. */
const ONE_LINE = /^[^\n\r]*$/;
/** A word without whitespace: list items are joined with spaces. */
const WORD = /^[^\s]+$/;

const params = s
  .object({
    /** The repository id: the section name (`[kubernetes]`) that `--enablerepo` and `disableExcludes` use. */
    name: s.string({ pattern: /^[A-Za-z0-9_.:-]+$/, what: 'a repository id (letters, digits, _ . : -)' }),
    /** Human-readable name (the `name=` key); default: the id. */
    description: s.string({ pattern: ONE_LINE, nonEmpty: true, what: 'one line of text' }).optional(),
    /** Repository URLs (`$releasever` and `$basearch` are expanded by dnf). One of baseurl, mirrorlist, metalink is needed. */
    baseurl: s.array(s.string({ pattern: WORD, what: 'a URL without spaces' })).default([]),
    /** URL of a mirror list. */
    mirrorlist: s.string({ pattern: WORD, what: 'a URL without spaces' }).optional(),
    /** URL of a metalink. */
    metalink: s.string({ pattern: WORD, what: 'a URL without spaces' }).optional(),
    /** Whether dnf uses the repository. */
    enabled: s.boolean().default(true),
    /** Check package signatures; unset: dnf.conf's default. */
    gpgcheck: s.boolean().optional(),
    /** Check the signature of the repository metadata (`repo_gpgcheck`); unset: dnf.conf's default. */
    repoGpgcheck: s.boolean().optional(),
    /** URLs of the signing keys (`gpgkey=`, joined by spaces). */
    gpgkey: s.array(s.string({ pattern: WORD, what: 'a URL without spaces' })).default([]),
    /** Packages never taken from this repository (globs allowed, e.g. `kube*`); lifted per task by `disableExcludes`. */
    exclude: s.array(s.string({ pattern: WORD, what: 'a package name or glob without spaces' })).default([]),
    /** Only these packages are taken from this repository (globs allowed). */
    includepkgs: s.array(s.string({ pattern: WORD, what: 'a package name or glob without spaces' })).default([]),
    /** Priority (1 is the highest; dnf's default is 99). */
    priority: s.int({ min: 1, max: 99 }).optional(),
    /** Verify the server's TLS certificate; unset: dnf.conf's default. */
    sslverify: s.boolean().optional(),
    /** Go on when the repository cannot be reached; unset: dnf.conf's default. */
    skipIfUnavailable: s.boolean().optional(),
    /** How long metadata stays valid: seconds, or with a unit (`6h`, `2d`), or `never`. */
    metadataExpire: s.string({ pattern: /^(\d+[smhd]?|never|-1)$/, what: 'seconds, a number with s/m/h/d, or never' }).optional(),
    /** Make packages of this repository visible to module filtering (EL8+ `module_hotfixes`). */
    moduleHotfixes: s.boolean().optional(),
    /** The file name without `.repo`; default: the id. Several repositories may share one file. */
    file: s.string({ pattern: /^[A-Za-z0-9_.:-]+$/, what: 'a file name without / (".repo" is added)' }).optional(),
    /** The directory of repository files. */
    reposdir: hostPath({ noControl: true }).default('/etc/yum.repos.d'),
    /** `present`: the section is in the file as rendered; `absent`: the section is gone (and the file, if it was the last). */
    state: s.enum(['present', 'absent']).default('present'),
    /** Permission bits of the file, e.g. `"0644"`; default: keep an existing file's, 0644 for a new one. */
    mode: s.string({ pattern: /^0?[0-7]{3,4}$/, what: 'an octal mode as a quoted string, e.g. "0644"' }).optional(),
  })
  .rule((p) =>
    p.state === 'present' && p.baseurl.length === 0 && !p.mirrorlist && !p.metalink ? 'a present repository needs baseurl, mirrorlist or metalink' : undefined,
  );

export type YumRepositoryParams = InputOf<typeof params>;
type Options = OutputOf<typeof params>;

const flag = (value: boolean): string => (value ? '1' : '0');

/** The section's text, keys in a fixed order; pure, exported for table tests. */
export function renderRepoSection(p: Options): string {
  const keys: Array<[string, string | undefined]> = [
    ['name', p.description ?? p.name],
    ['baseurl', p.baseurl.length > 0 ? p.baseurl.join(' ') : undefined],
    ['mirrorlist', p.mirrorlist],
    ['metalink', p.metalink],
    ['enabled', flag(p.enabled)],
    ['gpgcheck', p.gpgcheck === undefined ? undefined : flag(p.gpgcheck)],
    ['repo_gpgcheck', p.repoGpgcheck === undefined ? undefined : flag(p.repoGpgcheck)],
    ['gpgkey', p.gpgkey.length > 0 ? p.gpgkey.join(' ') : undefined],
    ['exclude', p.exclude.length > 0 ? p.exclude.join(' ') : undefined],
    ['includepkgs', p.includepkgs.length > 0 ? p.includepkgs.join(' ') : undefined],
    ['priority', p.priority === undefined ? undefined : String(p.priority)],
    ['sslverify', p.sslverify === undefined ? undefined : flag(p.sslverify)],
    ['skip_if_unavailable', p.skipIfUnavailable === undefined ? undefined : flag(p.skipIfUnavailable)],
    ['metadata_expire', p.metadataExpire],
    ['module_hotfixes', p.moduleHotfixes === undefined ? undefined : flag(p.moduleHotfixes)],
  ];
  const lines = keys.filter((entry): entry is [string, string] => entry[1] !== undefined).map(([key, value]) => `${key}=${value}`);
  return `[${p.name}]\n${lines.join('\n')}\n`;
}

/** A .repo file cut into what comes before the first section and one block per section. */
interface RepoFile {
  preamble: string[];
  sections: Array<{ id: string; lines: string[] }>;
}

const SECTION_HEADER = /^\s*\[([^\]]+)\]\s*$/;

/** Cuts a .repo file into sections; pure. */
export function parseRepoFile(text: string): RepoFile {
  const file: RepoFile = { preamble: [], sections: [] };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    const header = SECTION_HEADER.exec(line);
    if (header) file.sections.push({ id: header[1]!.trim(), lines: [line] });
    else (file.sections.at(-1)?.lines ?? file.preamble).push(line);
  }
  return file;
}

/** Blank lines and comments at the end of a section belong to whatever follows it. */
function trailingGap(lines: string[]): string[] {
  let start = lines.length;
  while (start > 1 && /^\s*(#.*|;.*)?$/.test(lines[start - 1]!)) start--;
  return lines.slice(start);
}

function renderRepoFile(file: RepoFile): string {
  const lines = [...file.preamble, ...file.sections.flatMap((section) => section.lines)];
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * The file's new text with the section `id` set to `section` (or removed, when `section` is null);
 * other sections and comments are kept. Pure, exported for table tests.
 */
export function updateRepoFile(text: string, id: string, section: string | null): string {
  const file = parseRepoFile(text);
  const index = file.sections.findIndex((candidate) => candidate.id === id);
  const sectionLines = section === null ? [] : section.replace(/\n$/, '').split('\n');
  if (index >= 0) {
    const gap = trailingGap(file.sections[index]!.lines);
    if (section === null) {
      file.sections.splice(index, 1);
      // Comments right above the removed header described it: they go too. Comments after its keys
      // introduce what follows: they stay, without the blank lines that separated them.
      const previous = index > 0 ? file.sections[index - 1]!.lines : file.preamble;
      while (previous.length > (index > 0 ? 1 : 0) && /^\s*[#;]/.test(previous.at(-1)!)) previous.pop();
      const firstText = gap.findIndex((line) => line.trim() !== '');
      const kept = firstText < 0 ? [] : gap.slice(firstText);
      if (index < file.sections.length) file.sections[index]!.lines.unshift(...kept);
      else previous.push(...kept);
      const last = file.sections.at(-1)?.lines ?? file.preamble;
      while (last.length > 1 && last.at(-1)!.trim() === '') last.pop();
    } else {
      file.sections[index]!.lines = [...sectionLines, ...gap];
    }
  } else if (section !== null) {
    const last = file.sections.at(-1)?.lines ?? file.preamble;
    if (last.length > 0 && last.at(-1)!.trim() !== '') last.push('');
    file.sections.push({ id, lines: sectionLines });
  }
  return renderRepoFile(file);
}

/** Plans the file from its probed state; exported for table tests. */
export async function planRepoFile(p: Options, state: FileState, host: Parameters<typeof planFileContent>[1]): Promise<Plan> {
  const path = state.path;
  const current = state.kind === 'file' && state.content ? decodeHostText(state.content) : '';
  if (p.state === 'absent') {
    if (state.kind === 'absent') return noChange(`${path} does not exist`);
    const next = updateRepoFile(current, p.name, null);
    if (next === current) return noChange(`${path} has no [${p.name}] section`);
    if (parseRepoFile(next).sections.length === 0) {
      return {
        changes: [
          {
            summary: `remove ${path} (its last section was [${p.name}])`,
            diff: { kind: 'file', path, before: current, after: null },
            commands: [{ run: sh`rm -f -- ${path}`, description: `remove ${path}` }],
            effects: [{ kind: 'path', path, state: { kind: 'absent' } }],
          },
        ],
      };
    }
    return planFileContent({ path, content: encodeHostText(next), mode: p.mode }, host, state);
  }
  const next = updateRepoFile(current, p.name, renderRepoSection(p));
  return planFileContent({ path, content: encodeHostText(next), mode: p.mode ?? (state.kind === 'absent' ? '0644' : undefined) }, host, state);
}

export const yumRepository = defineModule({
  name: 'yumRepository',
  summary: 'Manage one repository section of a .repo file under /etc/yum.repos.d',
  params,
  async plan(p, host) {
    const path = posix.join(p.reposdir, `${p.file ?? p.name}.repo`);
    const state = await readFileState(host, path, { content: 'always' });
    return planRepoFile(p, state, host);
  },
});
