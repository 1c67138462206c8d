/**
 * What the yum module needs to know about a host, read in one round trip: which tool to drive (dnf or
 * yum), the installed packages that may match each asked spec (`rpm -q`, fast), and, only when a
 * decision needs them, the versions the repositories offer (`dnf repoquery`, slow: it loads repository
 * metadata). A re-run with everything installed never loads metadata.
 *
 * A spec is what dnf accepts on its command line without globs: `name`, `name.arch`, `name-version`,
 * `name-version-release`, optionally with `epoch:` before the version and `.arch` at the end. Whether
 * `drover-test-a-1.0` means version 1.0 of drover-test-a is decided by matching it against real
 * packages (`specMatches`), as dnf itself does, never by guessing where the name ends.
 */
import { Script, sh } from '../../runner/command.ts';
import { FactError } from '../../runner/facts.ts';
import type { Evr } from './rpm-version.ts';

/** An installed or available package. `repo` is empty for installed ones. */
export interface RpmPackage extends Evr {
  name: string;
  arch: string;
  repo: string;
}

export type YumTool = 'dnf' | 'yum';

export interface RpmState {
  /** The tool found, or null when the host has neither (or no rpm). */
  tool: YumTool | null;
  installed: RpmPackage[];
  /** What the repositories offer for the specs; null when the probe did not ask. */
  available: RpmPackage[] | null;
  /** yum (EL7) without yum-utils' repoquery: availability cannot be read. */
  noRepoquery: boolean;
  /** yum (EL7) asked to read a predicted repository directory, which only dnf is driven to do. */
  overlayUnsupported?: boolean;
}

export interface RpmProbeOptions {
  specs: string[];
  backend: 'auto' | YumTool;
  /** Ask the repositories even when every spec is installed (state latest). */
  alwaysQueryRepos: boolean;
  /** Never ask the repositories (state absent). */
  neverQueryRepos: boolean;
  /** Options for the repository query: --disableexcludes, --enablerepo, --disablerepo. */
  repoFlags: string[];
  /**
   * In a dry run, the .repo files below /etc/yum.repos.d as earlier tasks would leave them (path →
   * content, or null for a file removed): the query then reads a private copy of the directory holding
   * them, with a private metadata cache, so a repository an earlier task adds is asked too. dnf only.
   */
  reposOverlay?: ReadonlyMap<string, Buffer | null>;
}

/** dnf's repository directory, the one yumRepository writes by default. */
export const YUM_REPOS_DIR = '/etc/yum.repos.d';

const RPM_FORMAT = 'pkg\\t%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n';
// Spaces, not tabs: no field can hold one, and yum-utils' repoquery may not expand escapes as dnf does.
const REPOQUERY_FORMAT = '%{name} %{epoch} %{version} %{release} %{arch} %{repoid}';

/** The names a spec may start with: the spec itself and every prefix ending before a `-`. */
export function candidateNames(spec: string): string[] {
  const names = [spec];
  for (let index = spec.indexOf('-'); index > 0; index = spec.indexOf('-', index + 1)) names.push(spec.slice(0, index));
  return names;
}

/** The one probe script. */
export function rpmProbeScript(options: RpmProbeOptions): Script {
  const names = [...new Set(options.specs.flatMap(candidateNames))];
  const pick =
    options.backend === 'auto'
      ? sh`if command -v dnf >/dev/null 2>&1; then tool=dnf; elif command -v yum >/dev/null 2>&1; then tool=yum; fi`
      : sh`if command -v ${options.backend} >/dev/null 2>&1; then tool=${options.backend}; fi`;
  const condition = options.alwaysQueryRepos ? sh`true` : sh`! rpm -q ${options.specs} >/dev/null 2>&1`;
  const overlay = options.reposOverlay;
  // -y: a repository with repo_gpgcheck needs its key (the gpgkey= the .repo file names) imported before its
  // metadata can be read; without an answer dnf refuses and the repository looks empty. The install that
  // follows (dnf install -y) imports the same key. A query imports it into dnf's metadata cache only, as
  // it caches the metadata itself; the rpm database is not touched (a query checks no package signature).
  const dnfQuery = overlay
    ? sh`tmp=$(mktemp -d /var/tmp/drover-rpm.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/repos.d" "$tmp/cache"
    cp -a ${YUM_REPOS_DIR}/. "$tmp/repos.d/" 2>/dev/null || true
${overlayFiles(overlay)}
    dnf -q -y repoquery --setopt=reposdir="$tmp/repos.d" --setopt=cachedir="$tmp/cache" --qf ${REPOQUERY_FORMAT} ${options.repoFlags} ${options.specs}`
    : sh`dnf -q -y repoquery --qf ${REPOQUERY_FORMAT} ${options.repoFlags} ${options.specs}`;
  const query = options.neverQueryRepos
    ? sh``
    : sh`if ${condition}; then
  echo '#available'
  if [ "$tool" = dnf ]; then
    ${dnfQuery}
    echo
  elif ${overlay ? sh`true` : sh`false`}; then
    echo '#no-overlay'
  elif command -v repoquery >/dev/null 2>&1; then
    repoquery --show-duplicates --qf ${REPOQUERY_FORMAT} ${options.repoFlags} ${options.specs}
    echo
  else
    echo '#no-repoquery'
  fi
fi`;
  return sh`tool=''
${pick}
command -v rpm >/dev/null 2>&1 || tool=''
if [ -z "$tool" ]; then echo '#no-tool'; exit 0; fi
echo "#tool $tool"
echo '#installed'
rpm -q --qf ${RPM_FORMAT} ${names} 2>/dev/null | grep '^pkg' || true
${query}
`;
}

/** Writes the predicted .repo files into "$tmp/repos.d" (and removes the ones predicted gone). */
function overlayFiles(overlay: ReadonlyMap<string, Buffer | null>): Script {
  const lines = [...overlay].map(([path, content]) => {
    const inCopy = sh`"$tmp/repos.d"${path.slice(YUM_REPOS_DIR.length)}`;
    return content === null ? sh`    rm -f -- ${inCopy}` : sh`    printf '%s' ${content.toString('base64')} | base64 -d > ${inCopy}`;
  });
  return new Script(lines.map((line) => line.text).join('\n'));
}

/** Parses the probe's output; exported for table tests from captured output. */
export function parseRpmProbe(stdout: string): RpmState {
  const lines = stdout.split('\n');
  if (lines.includes('#no-tool')) return { tool: null, installed: [], available: null, noRepoquery: false };
  const toolLine = lines.find((line) => line.startsWith('#tool '));
  const tool = toolLine?.slice(6);
  if (tool !== 'dnf' && tool !== 'yum') throw new FactError('rpm', `no tool line in the probe output: ${stdout.slice(0, 200)}`);
  const installedStart = lines.indexOf('#installed');
  const availableStart = lines.indexOf('#available');
  if (installedStart < 0) throw new FactError('rpm', `no installed section in the probe output: ${stdout.slice(0, 200)}`);
  const installed = dedupe(lines.slice(installedStart + 1, availableStart < 0 ? undefined : availableStart).flatMap(parseInstalledRow));
  if (availableStart < 0) return { tool, installed, available: null, noRepoquery: false };
  const rest = lines.slice(availableStart + 1);
  if (rest.includes('#no-repoquery')) return { tool, installed, available: null, noRepoquery: true };
  if (rest.includes('#no-overlay')) return { tool, installed, available: null, noRepoquery: false, overlayUnsupported: true };
  // Installed packages may come back from repoquery too (as @System or "installed"): they are not offers.
  const available = dedupe(rest.flatMap(parseAvailableRow).filter((row) => row.repo !== '@System' && row.repo !== 'installed'));
  return { tool, installed, available, noRepoquery: false };
}

function parseInstalledRow(line: string): RpmPackage[] {
  const fields = line.split('\t');
  if (fields[0] !== 'pkg' || fields.length < 6) return [];
  const [, name, epoch, version, release, arch] = fields as [string, string, string, string, string, string];
  return [{ name, epoch: toEpoch(epoch), version, release, arch, repo: '' }];
}

function parseAvailableRow(line: string): RpmPackage[] {
  const fields = line.trim().split(/\s+/);
  if (fields.length !== 6) return [];
  const [name, epoch, version, release, arch, repo] = fields as [string, string, string, string, string, string];
  return [{ name, epoch: toEpoch(epoch), version, release, arch, repo }];
}

function toEpoch(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : 0;
}

/** The same package named by two candidate names (or two repositories) is one package. */
function dedupe(rows: RpmPackage[]): RpmPackage[] {
  const seen = new Map<string, RpmPackage>();
  for (const row of rows) {
    const key = `${row.name}\t${row.epoch}\t${row.version}\t${row.release}\t${row.arch}`;
    if (!seen.has(key)) seen.set(key, row);
  }
  return [...seen.values()];
}

/** Whether a spec names this package, in one of the forms dnf accepts (without globs). */
export function specMatches(spec: string, row: RpmPackage): boolean {
  const { name, epoch, version, release, arch } = row;
  const forms = [
    name,
    `${name}.${arch}`,
    `${name}-${version}`,
    `${name}-${epoch}:${version}`,
    `${name}-${version}-${release}`,
    `${name}-${epoch}:${version}-${release}`,
    `${name}-${version}-${release}.${arch}`,
    `${name}-${epoch}:${version}-${release}.${arch}`,
  ];
  return forms.includes(spec);
}
