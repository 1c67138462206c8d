/**
 * What the apt module needs to know about a host, read in one round trip: the host's clock and the age
 * of its package lists, each asked package's dpkg status (selection, state, version), and, only when a
 * decision needs them, apt's candidates and available versions (`apt-cache policy`, the slow part on a
 * host with full Debian lists, so a re-run with everything installed never pays for it).
 */
import { sh, type Script } from '../../runner/command.ts';
import { FactError } from '../../runner/facts.ts';

/** When the probe asks apt for candidates. */
export type PolicyNeed = 'always' | 'when-missing' | 'never';

/** dpkg's view of one package. */
export interface DpkgEntry {
  /** The selection: `install`, `hold`, `deinstall`, `purge` or `unknown`. */
  want: string;
  /** The state: `installed`, `config-files`, `not-installed`, `half-configured`... */
  status: string;
  /** The installed (or last installed) version; empty when none. */
  version: string;
}

/** One row of apt-cache policy's version table. */
export interface AptVersion {
  version: string;
  /** Where it comes from; `/var/lib/dpkg/status` alone means it is only installed, not downloadable. */
  sources: string[];
}

/** apt's view of one package. */
export interface AptPolicy {
  installed: string | null;
  /** What `apt-get install NAME` would install; null for a virtual package or one without a candidate. */
  candidate: string | null;
  versions: AptVersion[];
}

export interface AptState {
  /** False on a host without apt-get and dpkg-query (the other fields are then empty). */
  hasApt: boolean;
  /** The host's clock, in seconds since the epoch (planners never read the controller's clock). */
  now: number;
  /** When the package lists were last updated (seconds since the epoch), or null if never. */
  listsUpdatedAt: number | null;
  dpkg: Map<string, DpkgEntry>;
  /** Only the packages apt knows about; null when the probe did not ask apt. */
  policy: Map<string, AptPolicy> | null;
}

/** The stamp apt's periodic job and drover touch after a successful `apt-get update`. */
export const UPDATE_STAMP = '/var/lib/apt/periodic/update-success-stamp';

const DPKG_FORMAT = '${db:Status-Want}\\t${db:Status-Status}\\t${Package}\\t${Version}\\n';

/** The one probe script; `names` are validated package names (no versions). */
export function aptProbeScript(names: string[], policy: PolicyNeed): Script {
  const distinct = [...new Set(names)];
  // apt-cache fails with "Cache is out of sync" while another apt (an unattended upgrade's update) is
  // rewriting the lists: a few tries, two seconds apart, ride that out.
  const readPolicy = sh`tries=0
until policy=$(apt-cache policy ${distinct}); do tries=$((tries + 1)); [ "$tries" -lt 3 ] || exit 100; sleep 2; done
echo '#policy'; printf '%s\\n' "$policy"`;
  const queryPolicy =
    distinct.length === 0 || policy === 'never'
      ? sh``
      : policy === 'always'
        ? readPolicy
        : // Ask apt only when some package is not installed: its existence must be checked.
          sh`if [ "$(printf '%s\\n' "$dpkg" | awk -F '\\t' '$2 == "installed" { print $3 }' | sort -u | wc -l)" -lt ${distinct.length} ]; then
${readPolicy}
fi`;
  const queryDpkg = distinct.length === 0 ? sh`dpkg=''` : sh`dpkg=$(dpkg-query -W -f=${DPKG_FORMAT} ${distinct} 2>/dev/null || true)`;
  return sh`command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 || { echo '#no-apt'; exit 0; }
echo "#now $(date +%s)"
# Lists that hold no package index at all (a fresh image, or after apt-get clean of the lists) were never
# updated, however new the directory's mtime is.
if ls /var/lib/apt/lists/ 2>/dev/null | grep -q '_Packages'; then
  echo "#lists $( { stat -c %Y ${UPDATE_STAMP} /var/lib/apt/lists 2>/dev/null || true; } | sort -n | tail -n 1)"
else
  echo "#lists"
fi
${queryDpkg}
echo '#dpkg'
[ -z "$dpkg" ] || printf '%s\\n' "$dpkg"
${queryPolicy}
`;
}

/** Parses the probe's output; exported for table tests from captured output. */
export function parseAptProbe(stdout: string): AptState {
  const lines = stdout.split('\n');
  if (lines.includes('#no-apt')) return { hasApt: false, now: 0, listsUpdatedAt: null, dpkg: new Map(), policy: null };
  const nowLine = lines.find((line) => line.startsWith('#now '));
  const listsLine = lines.find((line) => line.startsWith('#lists'));
  const now = Number(nowLine?.slice(5));
  if (!nowLine || !Number.isInteger(now)) throw new FactError('apt', `no clock reading in the probe output: ${stdout.slice(0, 200)}`);
  const listsText = listsLine?.slice(6).trim() ?? '';
  const dpkgStart = lines.indexOf('#dpkg');
  if (dpkgStart < 0) throw new FactError('apt', `no dpkg section in the probe output: ${stdout.slice(0, 200)}`);
  const policyStart = lines.indexOf('#policy');
  const dpkgLines = lines.slice(dpkgStart + 1, policyStart < 0 ? undefined : policyStart);
  return {
    hasApt: true,
    now,
    listsUpdatedAt: /^\d+$/.test(listsText) ? Number(listsText) : null,
    dpkg: parseDpkgRows(dpkgLines),
    policy: policyStart < 0 ? null : parseAptPolicy(lines.slice(policyStart + 1).join('\n')),
  };
}

function parseDpkgRows(lines: string[]): Map<string, DpkgEntry> {
  const entries = new Map<string, DpkgEntry>();
  for (const line of lines) {
    const [want, status, name, version] = line.split('\t');
    if (!want || !status || !name) continue;
    // A multi-arch package has one row per architecture; an installed one wins over leftovers.
    const known = entries.get(name);
    if (known?.status === 'installed') continue;
    entries.set(name, { want, status, version: version ?? '' });
  }
  return entries;
}

/** Parses `apt-cache policy NAME...` output: one block per package apt knows. */
export function parseAptPolicy(text: string): Map<string, AptPolicy> {
  const policies = new Map<string, AptPolicy>();
  let current: AptPolicy | undefined;
  let version: AptVersion | undefined;
  for (const line of text.split('\n')) {
    const header = /^(\S+):$/.exec(line);
    if (header) {
      current = { installed: null, candidate: null, versions: [] };
      version = undefined;
      policies.set(header[1]!, current);
      continue;
    }
    if (!current) continue;
    const field = /^ {2}(Installed|Candidate): (.+)$/.exec(line);
    if (field) {
      const value = field[2]!.trim() === '(none)' ? null : field[2]!.trim();
      if (field[1] === 'Installed') current.installed = value;
      else current.candidate = value;
      continue;
    }
    // Version rows: " *** 1.2-3 500" (installed) or "     1.2-3 500"; their sources are indented deeper.
    const row = /^ (?:\*\*\*| {3}) (\S+) -?\d+$/.exec(line);
    if (row) {
      version = { version: row[1]!, sources: [] };
      current.versions.push(version);
      continue;
    }
    const source = /^ {8}\s*-?\d+ (.+)$/.exec(line);
    if (source && version) version.sources.push(source[1]!.trim());
  }
  return policies;
}

/** Versions a repository offers (not only the installed copy recorded in dpkg's status file). */
export function downloadableVersions(policy: AptPolicy): string[] {
  return policy.versions.filter((row) => row.sources.some((source) => source !== '/var/lib/dpkg/status')).map((row) => row.version);
}
