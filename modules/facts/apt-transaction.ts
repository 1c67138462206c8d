/**
 * An apt transaction rehearsed on the host without changing it, for planning:
 *
 * - **The lists after a refresh.** When a refresh is due, the host's lists are copied to a private
 *   directory and `apt-get update` runs there (`Dir::State::Lists`, apt's own option), so the candidates
 *   the real refresh will find are known before it runs: the plan names exact versions in a dry run and
 *   in the apply alike. Apt's binary caches are not written (`Dir::Cache::pkgcache=`).
 * - **What the transaction brings** (a dry run only, `rehearseTransaction`): `apt-get -s` lists every
 *   package the install pulls in; each is downloaded into the private directory and read with dpkg-deb:
 *   its files (type, mode, owner, size, sha256; the text of small files under /etc and of unit files),
 *   its conffiles, maintainer scripts and triggers. modules/lib/deb-effects.ts turns that into what the
 *   later tasks of the dry run see.
 *
 * Everything is written below one `mktemp -d` directory that the script removes on every exit.
 */
import { Script, sh } from '../../runner/command.ts';
import type { PredictedPath } from '../../runner/predicted-state.ts';
import type { PackageEntry } from '../lib/package-effects.ts';
import { contentLines, HOST_SECTION, readContentLine, readHostLine } from './package-rehearsal.ts';
import { FactError } from '../../runner/facts.ts';
import { type AptPolicy, parseAptPolicy } from './apt-state.ts';

/** apt's configuration directory; a dry run may predict files in it (a repository and its key added). */
export const APT_ETC = '/etc/apt';

/**
 * Files below /etc/apt as the dry run's earlier tasks would leave them (path → state), rebuilt in a
 * private copy of /etc/apt for the rehearsal. Every file must have its content predicted.
 */
export type AptEtcOverlay = ReadonlyMap<string, PredictedPath>;

/** The shell lines that rebuild the overlay in "$tmp/etc"; exported for table tests. */
export function overlayScript(overlay: AptEtcOverlay): Script {
  const lines: Script[] = [sh`cp -a ${APT_ETC}/. "$tmp/etc/"`];
  for (const [path, state] of [...overlay].sort(([a], [b]) => a.localeCompare(b))) {
    const inCopy = sh`"$tmp/etc"${path.slice(APT_ETC.length)}`;
    if (state.kind === 'absent') lines.push(sh`rm -rf -- ${inCopy}`);
    else if (state.kind === 'directory') lines.push(sh`mkdir -p -- ${inCopy}`);
    else if (state.kind === 'link') lines.push(sh`rm -rf -- ${inCopy}; ln -s -- ${state.target} ${inCopy}`);
    else lines.push(sh`mkdir -p -- "$(dirname -- ${inCopy})"; printf '%s' ${state.content!.toString('base64')} | base64 -d >${inCopy}`);
  }
  // A key named by an absolute path in /etc/apt is read from the copy, which holds the predicted key.
  lines.push(
    sh`find "$tmp/etc" -type f \\( -name '*.list' -o -name '*.sources' \\) -exec sed -i -e "s#signed-by=/etc/apt/#signed-by=$tmp/etc/#g" -e "s#^\\(Signed-By: *\\)/etc/apt/#\\1$tmp/etc/#" {} +`,
  );
  return new Script(lines.map((line) => line.text).join('\n'));
}

/**
 * Sets `$tmp` (removed on exit) and the positional parameters to apt's options for the private lists:
 * a copy of the host's lists, refreshed when `refresh` is set, else the host's own lists; with an
 * overlay, apt reads its sources and keys from a private copy of /etc/apt holding the predicted files.
 */
function privateLists(refresh: boolean, overlay?: AptEtcOverlay): Script {
  const prepare = sh`tmp=$(mktemp -d /var/tmp/drover-apt.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -p "$tmp/lists/partial" "$tmp/debs" "$tmp/etc"
# apt downloads as _apt where that user exists: it must be able to write there.
if id _apt >/dev/null 2>&1; then chown _apt "$tmp/lists/partial" "$tmp/debs"; fi
${overlay ? overlayScript(overlay) : sh``}
set -- -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=${overlay ? sh` -o "Dir::Etc=$tmp/etc"` : sh``}`;
  if (!refresh) return prepare;
  return sh`${prepare}
for list in /var/lib/apt/lists/*; do
  if [ -f "$list" ] && [ "\${list##*/}" != lock ]; then cp -p "$list" "$tmp/lists/"; fi
done
set -- "$@" -o "Dir::State::Lists=$tmp/lists"
if ! apt-get "$@" update -q -o DPkg::Lock::Timeout=300 >"$tmp/update.log" 2>&1; then
  echo '#update-failed'; tail -n 5 "$tmp/update.log"; exit 0
fi
stamp() { find "$1" -maxdepth 1 -type f ! -name lock -printf '%f %s %T@\\n' 2>/dev/null | sort | cksum; }
if [ "$(stamp /var/lib/apt/lists)" = "$(stamp "$tmp/lists")" ]; then echo '#lists-unchanged'; else echo '#lists-changed'; fi`;
}

/** The candidates of `names` as they will be after the pending refresh. */
export function rehearsedPolicyScript(names: readonly string[], overlay?: AptEtcOverlay): Script {
  return sh`${privateLists(true, overlay)}
echo '#policy'
apt-cache "$@" policy ${[...new Set(names)]}`;
}

export interface RehearsedPolicy {
  /** The refresh itself failed (a repository unreachable): its last lines. */
  updateFailed: string | null;
  listsChanged: boolean;
  policy: Map<string, AptPolicy>;
}

export function parseRehearsedPolicy(stdout: string): RehearsedPolicy {
  const lines = stdout.split('\n');
  const failed = lines.indexOf('#update-failed');
  if (failed >= 0)
    return {
      updateFailed: lines
        .slice(failed + 1)
        .join('\n')
        .trim(),
      listsChanged: false,
      policy: new Map(),
    };
  const start = lines.indexOf('#policy');
  if (start < 0) throw new FactError('apt', `no policy section in the rehearsed refresh: ${stdout.slice(0, 200)}`);
  return { updateFailed: null, listsChanged: lines.includes('#lists-changed'), policy: parseAptPolicy(lines.slice(start + 1).join('\n')) };
}

/**
 * Simulates `apt-get install FLAGS TARGETS` (after the pending refresh, if any) and reads every package
 * it would unpack. `flags` are the install's own (recommends, downgrades), so the simulation pulls in
 * exactly what the install will.
 */
export function rehearseTransactionScript(targets: readonly string[], flags: readonly string[], refresh: boolean, overlay?: AptEtcOverlay): Script {
  return sh`${privateLists(refresh, overlay)}
if ! apt-get "$@" -s -q install ${[...flags]} ${[...targets]} >"$tmp/simulation" 2>"$tmp/simulation.err"; then
  echo '#simulation-failed'; tail -n 5 "$tmp/simulation.err"; exit 0
fi
echo '#simulation'
grep -E '^(Inst|Remv) ' "$tmp/simulation" || true
${HOST_SECTION}
wanted=$(awk '$1 == "Inst" { v = $3; if (v ~ /^\\[/) v = $4; gsub(/[()]/, "", v); print $2 "=" v }' "$tmp/simulation")
[ -n "$wanted" ] || exit 0
cd "$tmp/debs"
# shellcheck disable=SC2086
if ! apt-get "$@" download -q $wanted >"$tmp/download.log" 2>&1; then
  echo '#download-failed'; tail -n 5 "$tmp/download.log"; exit 0
fi
for deb in "$tmp"/debs/*.deb; do
  root="$tmp/root"; rm -rf "$root"; mkdir "$root"
  echo "#package $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
  dpkg-deb -x "$deb" "$root"
  mkdir "$tmp/control" && dpkg-deb -e "$deb" "$tmp/control"
  for part in preinst postinst triggers conffiles; do
    if [ -f "$tmp/control/$part" ]; then echo "#control $part $(base64 -w0 <"$tmp/control/$part")"; fi
  done
  rm -rf "$tmp/control"
  cd "$root"
  if find . -name '*[[:cntrl:]]*' | grep -q .; then echo '#unsafe-names'; fi
  echo '#entries'
  find . -mindepth 1 -printf '%y %m %U %G %s %P\\t%l\\n'
  echo '#sha256'
  find . -type f -print0 | xargs -0 -r sha256sum
  echo '#on-host'
  find . -mindepth 1 \\( -type d -o -type f \\) -printf '%P\\n' | while IFS= read -r path; do if [ -e "/$path" ]; then printf '%s\\n' "$path"; fi; done
  ${contentLines(sh`"$root"`)}
  cd "$tmp/debs"
done`;
}

/** One entry of a .deb: the shared package entry, with the ids dpkg-deb lists. */
export interface DebEntry extends PackageEntry {
  uid: number;
  gid: number;
}

export interface DebPackage {
  name: string;
  version: string;
  /** Maintainer scripts and control files that tell what installing it does beyond its files. */
  control: Partial<Record<'preinst' | 'postinst' | 'triggers' | 'conffiles', string>>;
  entries: DebEntry[];
  /** A file name with a control character: its files are not described. */
  unsafeNames: boolean;
}

export interface RehearsedTransaction {
  /** Why nothing could be rehearsed (the simulation or a download failed), or null. */
  failed: string | null;
  /** Packages the transaction installs: new, or `upgradeFrom` the installed version. */
  installs: Array<{ name: string; version: string; upgradeFrom: string | null }>;
  /** Packages the transaction removes (conflicts). */
  removals: string[];
  systemdRunning: boolean;
  /** Top-level directories that are links on the host (`/lib` → `/usr/lib` after the usr merge). */
  hostLinks: Map<string, string>;
  packages: DebPackage[];
}

const ENTRY = /^([a-z]) (\d+) (\d+) (\d+) (\d+) ([^\t]*)\t(.*)$/;
const SIMULATED = /^(Inst|Remv) (\S+)(?: \[([^\]]+)\])?(?: \((\S+))?/;

export function parseRehearsedTransaction(stdout: string): RehearsedTransaction {
  const result: RehearsedTransaction = { failed: null, installs: [], removals: [], systemdRunning: false, hostLinks: new Map(), packages: [] };
  const lines = stdout.split('\n');
  for (const marker of ['#update-failed', '#simulation-failed', '#download-failed']) {
    const at = lines.indexOf(marker);
    if (at >= 0) {
      result.failed = `${marker.slice(1).replace('-', ' ')}: ${lines
        .slice(at + 1)
        .join('\n')
        .trim()}`;
      return result;
    }
  }
  if (!lines.includes('#simulation')) throw new FactError('apt', `no simulation in the rehearsed transaction: ${stdout.slice(0, 200)}`);
  let section = '';
  let current: DebPackage | undefined;
  const byPath = new Map<string, DebEntry>();
  for (const line of lines) {
    if (line === '#simulation' || line === '#host' || line === '#entries' || line === '#sha256' || line === '#on-host') {
      section = line;
      continue;
    }
    if (line.startsWith('#package ')) {
      const [, name = '', version = ''] = line.split(' ');
      current = { name, version, control: {}, entries: [], unsafeNames: false };
      result.packages.push(current);
      byPath.clear();
      section = '';
      continue;
    }
    if (line.startsWith('#control ') && current) {
      const [, part, encoded = ''] = line.split(' ');
      current.control[part as keyof DebPackage['control']] = Buffer.from(encoded, 'base64').toString('utf8');
      continue;
    }
    if (line === '#unsafe-names' && current) {
      current.unsafeNames = true;
      continue;
    }
    if (line.startsWith('#content ') && current) {
      readContentLine(line, byPath);
      continue;
    }
    if (line === '') continue;
    if (section === '#simulation') {
      const match = SIMULATED.exec(line);
      if (!match) continue;
      if (match[1] === 'Remv') result.removals.push(match[2]!);
      else result.installs.push({ name: match[2]!, version: match[4] ?? '', upgradeFrom: match[3] ?? null });
    } else if (section === '#host') {
      readHostLine(line, result);
    } else if (section === '#entries' && current) {
      const match = ENTRY.exec(line);
      if (!match) continue;
      const letter = match[1]!;
      const entry: DebEntry = {
        type: letter === 'f' ? 'file' : letter === 'd' ? 'directory' : letter === 'l' ? 'link' : 'other',
        mode: match[2]!,
        uid: Number(match[3]),
        gid: Number(match[4]),
        size: Number(match[5]),
        path: `/${match[6]}`,
        ...(letter === 'l' && { target: match[7] }),
        onHost: false,
      };
      current.entries.push(entry);
      byPath.set(entry.path, entry);
    } else if (section === '#sha256' && current) {
      const match = /^([0-9a-f]{64}) [ *]\.\/(.*)$/.exec(line);
      const entry = match && byPath.get(`/${match[2]}`);
      if (entry) entry.sha256 = match[1];
    } else if (section === '#on-host' && current) {
      const entry = byPath.get(`/${line}`);
      if (entry) entry.onHost = true;
    }
  }
  return result;
}
