/**
 * A dnf install rehearsed on the host without changing it, for a dry run's later tasks: `dnf install
 * --downloadonly` resolves the transaction against the host's rpm database and downloads every package it
 * would install into a private directory (with a private metadata cache, and the repositories as the dry
 * run would leave them); each package is then read with rpm: its files (`rpm -qp --dump`: size, sha256,
 * mode, owner, configuration flag), the text of small files under /etc and of unit files, its scriptlets
 * and triggers. modules/lib/rpm-effects.ts turns that into effects. Everything lives below one `mktemp -d`
 * directory that the script removes on every exit.
 */
import { Script, sh } from '../../runner/command.ts';
import { FactError } from '../../runner/facts.ts';
import { YUM_REPOS_DIR } from './rpm-state.ts';
import type { PackageEntry } from '../lib/package-effects.ts';
import { contentLines, HOST_SECTION, readContentLine, readHostLine } from './package-rehearsal.ts';

export interface RpmTransactionOptions {
  /** What `dnf install` is given: `name-version-release` per package. */
  targets: readonly string[];
  repoFlags: readonly string[];
  /** The .repo files the dry run predicts below /etc/yum.repos.d (null: removed). */
  reposOverlay?: ReadonlyMap<string, Buffer | null>;
}

export function rehearseRpmTransactionScript(options: RpmTransactionOptions): Script {
  const overlay = options.reposOverlay
    ? new Script(
        [
          sh`cp -a ${YUM_REPOS_DIR}/. "$tmp/repos.d/" 2>/dev/null || true`,
          ...[...options.reposOverlay].map(([path, content]) => {
            const inCopy = sh`"$tmp/repos.d"${path.slice(YUM_REPOS_DIR.length)}`;
            return content === null ? sh`rm -f -- ${inCopy}` : sh`printf '%s' ${content.toString('base64')} | base64 -d > ${inCopy}`;
          }),
          sh`set -- "$@" --setopt=reposdir="$tmp/repos.d"`,
        ]
          .map((line) => line.text)
          .join('\n'),
      )
    : sh``;
  return sh`command -v dnf >/dev/null 2>&1 || { echo '#no-dnf'; exit 0; }
tmp=$(mktemp -d /var/tmp/drover-rpm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/rpms" "$tmp/cache" "$tmp/repos.d" "$tmp/x"
set -- --setopt=cachedir="$tmp/cache"
${overlay}
if ! dnf -q -y "$@" install --downloadonly --downloaddir="$tmp/rpms" ${[...options.repoFlags]} ${[...options.targets]} >"$tmp/log" 2>&1; then
  echo '#download-failed'; tail -n 5 "$tmp/log"; exit 0
fi
${HOST_SECTION}
for rpm in "$tmp"/rpms/*.rpm; do
  [ -f "$rpm" ] || continue
  name=$(rpm -qp --qf '%{NAME}' "$rpm" 2>/dev/null)
  echo "#package $name $(rpm -qp --qf '%{EPOCHNUM}:%{VERSION}-%{RELEASE}' "$rpm" 2>/dev/null)"
  if old=$(rpm -q --qf '%{VERSION}-%{RELEASE}\\n' "$name" 2>/dev/null); then echo "#upgrade-from $(printf '%s' "$old" | head -n 1)"; fi
  echo "#scripts $(rpm -qp --scripts --triggers --filetriggers "$rpm" 2>/dev/null | base64 -w0)"
  echo '#dump'
  rpm -qp --dump "$rpm" 2>/dev/null
  echo '#on-host'
  rpm -qp --qf '[%{FILENAMES}\\n]' "$rpm" 2>/dev/null | while IFS= read -r path; do if [ -e "$path" ]; then printf '%s\\n' "$path"; fi; done
  rm -rf "$tmp/x"; mkdir "$tmp/x"
  if command -v cpio >/dev/null 2>&1; then (cd "$tmp/x" && rpm2cpio "$rpm" | cpio -idm --quiet 2>/dev/null) || true
  elif command -v rpm2archive >/dev/null 2>&1; then
    # rpm2archive writes FILE.tgz beside the package (older versions read no stdin).
    (rpm2archive "$rpm" >/dev/null 2>&1 && tar -xzf "$rpm.tgz" -C "$tmp/x" 2>/dev/null; rm -f "$rpm.tgz") || true
  fi
  ${contentLines(sh`"$tmp/x"`)}
done`;
}

/** One entry of an RPM: the shared package entry, with the names and configuration flag rpm lists. */
export interface RpmEntry extends PackageEntry {
  owner: string;
  group: string;
  config: boolean;
}

export interface RpmPackageRead {
  name: string;
  evr: string;
  upgradeFrom: string | null;
  /** `rpm -qp --scripts --triggers --filetriggers`: empty when the package has none. */
  scripts: string;
  entries: RpmEntry[];
}

export interface RehearsedRpmTransaction {
  failed: string | null;
  systemdRunning: boolean;
  hostLinks: Map<string, string>;
  packages: RpmPackageRead[];
}

const TYPE_BITS: Record<string, RpmEntry['type']> = { '010': 'file', '004': 'directory', '012': 'link' };

export function parseRehearsedRpmTransaction(stdout: string): RehearsedRpmTransaction {
  const result: RehearsedRpmTransaction = { failed: null, systemdRunning: false, hostLinks: new Map(), packages: [] };
  const lines = stdout.split('\n');
  if (lines.includes('#no-dnf')) return { ...result, failed: 'the host has no dnf (yum is not driven to download only)' };
  const failed = lines.indexOf('#download-failed');
  if (failed >= 0)
    return {
      ...result,
      failed: `download failed: ${lines
        .slice(failed + 1)
        .join('\n')
        .trim()}`,
    };
  if (!lines.includes('#host')) throw new FactError('rpm', `no host section in the rehearsed transaction: ${stdout.slice(0, 200)}`);
  let section = '';
  let current: RpmPackageRead | undefined;
  const byPath = new Map<string, RpmEntry>();
  for (const line of lines) {
    if (line === '#host' || line === '#dump' || line === '#on-host') {
      section = line;
      continue;
    }
    if (line.startsWith('#package ')) {
      const [, name = '', evr = ''] = line.split(' ');
      current = { name, evr, upgradeFrom: null, scripts: '', entries: [] };
      result.packages.push(current);
      byPath.clear();
      section = '';
      continue;
    }
    if (line.startsWith('#upgrade-from ') && current) {
      current.upgradeFrom = line.slice('#upgrade-from '.length);
      continue;
    }
    if (line.startsWith('#scripts') && current) {
      current.scripts = Buffer.from(line.slice('#scripts'.length).trim(), 'base64').toString('utf8').trim();
      continue;
    }
    if (line.startsWith('#content ') && current) {
      readContentLine(line, byPath);
      continue;
    }
    if (line === '') continue;
    if (section === '#host') {
      readHostLine(line, result);
    } else if (section === '#dump' && current) {
      const entry = parseDumpLine(line);
      if (entry) {
        current.entries.push(entry);
        byPath.set(entry.path, entry);
      }
    } else if (section === '#on-host' && current) {
      const entry = byPath.get(line);
      if (entry) entry.onHost = true;
    }
  }
  return result;
}

/**
 * One line of `rpm -qp --dump`: path size mtime digest mode owner group isconfig isdoc rdev symlink. The
 * path may hold spaces, so the ten fields are taken from the end (a link target with a space is not read).
 */
export function parseDumpLine(line: string): RpmEntry | undefined {
  const fields = line.split(' ');
  if (fields.length < 11) return undefined;
  const [size, , digest, mode, owner, group, config, , , target] = fields.slice(-10) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const path = fields.slice(0, -10).join(' ');
  if (!/^0?[0-7]{5,6}$/.test(mode) || !path.startsWith('/')) return undefined;
  const octal = mode.padStart(7, '0');
  const type = TYPE_BITS[octal.slice(0, 3)] ?? 'other';
  return {
    type,
    path,
    size: Number(size),
    ...(type === 'file' && /^[0-9a-f]{64}$/.test(digest) && { sha256: digest }),
    mode: octal.slice(3).replace(/^0+(?=\d{3})/, ''),
    owner,
    group,
    config: config === '1',
    ...(type === 'link' && { target }),
    onHost: false,
  };
}
