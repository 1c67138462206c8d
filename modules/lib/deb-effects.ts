/**
 * What an apt transaction leaves for the later tasks of a dry run, from the packages themselves
 * (modules/facts/apt-transaction.ts read them on the host): every file, directory and link each package
 * unpacks, and what its maintainer scripts do where they are debhelper's standard snippets (a unit
 * enabled and started). What drover cannot know stays unknown, as narrowly as can be said honestly:
 *
 * - a script line debhelper did not generate, an upgrade (the old version's scripts run too), a removal:
 *   anything but the package database may change;
 * - a System V init script started (dh_installinit): that unit, and the rc?.d links;
 * - a configuration file that already exists on the host: dpkg may keep the local one;
 * - dpkg's own state, caches and logs, which triggers write (`/var`), and the dynamic linker's cache.
 *
 * Effects are ordered oldest first, as the dry run records them: an unknown recorded after a prediction
 * hides it, so the unknowns that may touch what the packages ship come last.
 */
import type { DebEntry, DebPackage, RehearsedTransaction } from '../facts/apt-transaction.ts';
import { distinctEffects, packageEntryEffect, type PackageOwners } from './package-effects.ts';
import { ALL_DOMAINS, type Domain, type Effect } from '../../runner/predicted-state.ts';

/** Everything a maintainer script may change; the package database is known from the transaction. */
const SCRIPT_DOMAINS: readonly Domain[] = ALL_DOMAINS.filter((domain) => domain !== 'packages');

const BLOCK_START = /^# Automatically added by (dh_[a-z0-9_]+)/;
const BLOCK_END = '# End automatically added section';
/** Lines of a maintainer script that do nothing to the host. */
const INERT = /^(#.*|set -e|exit 0|)$/;

/** What one package's scripts and triggers do, as far as drover can tell. */
export interface ScriptFindings {
  enabled: string[];
  started: string[];
  /** System V services registered and started (dh_installinit). */
  sysvStarted: string[];
  /** Paths below which a recognised snippet may write (dh_usrlocal, dh_python3, sysusers). */
  writesUnder: string[];
  /** Why the package's scripts cannot be predicted, or null. */
  opaque: string | null;
}

/** Reads a package's preinst, postinst and triggers. */
export function readScripts(pkg: Pick<DebPackage, 'name' | 'control'>): ScriptFindings {
  const findings: ScriptFindings = { enabled: [], started: [], sysvStarted: [], writesUnder: [], opaque: null };
  const opaque = (why: string) => {
    findings.opaque ??= why;
  };
  for (const part of ['preinst', 'postinst'] as const) {
    const text = pkg.control[part];
    if (text === undefined) continue;
    let block: string | null = null;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      const start = BLOCK_START.exec(line);
      if (start) {
        block = start[1]!;
        continue;
      }
      if (line === BLOCK_END) {
        block = null;
        continue;
      }
      if (block === null) {
        if (!INERT.test(line) && !line.startsWith('#!')) opaque(`its ${part} runs its own commands ("${line.slice(0, 60)}")`);
        continue;
      }
      readSnippetLine(block, line, part, findings, opaque);
    }
  }
  for (const raw of (pkg.control.triggers ?? '').split('\n')) {
    const [directive = '', name = ''] = raw.trim().split(/\s+/);
    if (!directive.startsWith('activate')) continue;
    if (name === 'ldconfig') findings.writesUnder.push(LINKER_CACHE);
    else opaque(`it activates the trigger ${name}, whose effect drover does not know`);
  }
  return findings;
}

const LINKER_CACHE = '/etc/ld.so.cache';

const quotedUnits = (line: string): string[] => [...line.matchAll(/'([^']+)'/g)].map((match) => match[1]!);

function readSnippetLine(block: string, line: string, part: string, findings: ScriptFindings, opaque: (why: string) => void): void {
  switch (block) {
    case 'dh_installsystemd':
      if (/^deb-systemd-helper enable /.test(line)) findings.enabled.push(...quotedUnits(line));
      else if (/^deb-systemd-invoke (\$_dh_action|start|restart) /.test(line)) findings.started.push(...quotedUnits(line));
      return;
    case 'dh_installinit': {
      const started = /^invoke-rc\.d (?:--skip-systemd-native )?(\S+) /.exec(line);
      if (started) findings.sysvStarted.push(started[1]!);
      return;
    }
    case 'dh_usrlocal':
      findings.writesUnder.push('/usr/local');
      return;
    case 'dh_python3':
      findings.writesUnder.push('/usr/lib/python3');
      return;
    case 'dh_installsysusers':
      findings.writesUnder.push('/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow');
      return;
    // dh_installdeb (dpkg-maintscript-helper), dh_installtmpfiles, dh_installdebconf and the rest: not read.
    default:
      if (line !== '' && !line.startsWith('#')) opaque(`its ${part} runs ${block}'s snippet, whose effect drover does not predict`);
  }
}

/** Where `systemctl enable` links a unit, from its [Install] section: `x.target.wants/UNIT`, or an alias. */
function enableLinks(unit: string, text: string): string[] {
  const links: string[] = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    const match = /^(WantedBy|RequiredBy|Alias)\s*=\s*(.*)$/.exec(line);
    if (section !== '[Install]' || !match) continue;
    for (const name of match[2]!.split(/\s+/).filter(Boolean)) {
      links.push(match[1] === 'Alias' ? name : `${name}.${match[1] === 'WantedBy' ? 'wants' : 'requires'}/${unit}`);
    }
  }
  return links;
}

const UNIT_DIRS = ['/lib/systemd/system', '/usr/lib/systemd/system'];

/**
 * The effects of a rehearsed transaction, or null when it could not be rehearsed (the caller then
 * declares the transaction's files unknown).
 */
export function debTransactionEffects(transaction: RehearsedTransaction): Effect[] | null {
  if (transaction.failed !== null) return null;
  const packages: Effect[] = transaction.installs.map((item): Effect => ({ kind: 'package', name: item.name, installed: true }));
  packages.push(...transaction.removals.map((name): Effect => ({ kind: 'package', name, installed: false })));
  const paths: Effect[] = [];
  const units: Effect[] = [];
  const unknowns: Effect[] = [
    { kind: 'unknown', domains: ['files'], under: '/var', what: "dpkg's database, caches and logs, which the transaction and its triggers write" },
  ];
  const opaque: string[] = [];
  if (transaction.removals.length > 0) opaque.push(`removing ${transaction.removals.join(', ')} (their scripts run)`);

  for (const item of transaction.installs) {
    const pkg = transaction.packages.find((candidate) => candidate.name === item.name);
    if (!pkg) {
      opaque.push(`${item.name} (not read)`);
      continue;
    }
    if (item.upgradeFrom !== null) opaque.push(`upgrading ${item.name} from ${item.upgradeFrom} (the old version's scripts run too)`);
    if (pkg.unsafeNames) {
      opaque.push(`${item.name} (a file name with a control character)`);
      continue;
    }
    const conffiles = new Set(
      (pkg.control.conffiles ?? '')
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean),
    );
    for (const entry of pkg.entries) {
      const effect = packageEntryEffect(entry, owners(entry), conffiles.has(entry.path), 'dpkg', transaction.hostLinks);
      if (effect) (effect.kind === 'unknown' ? unknowns : paths).push(effect);
    }
    const findings = readScripts(pkg);
    if (findings.opaque) opaque.push(`${item.name}: ${findings.opaque}`);
    for (const under of findings.writesUnder) {
      const what =
        under === LINKER_CACHE ? "the dynamic linker's cache, which ldconfig rewrites for new libraries" : `what ${item.name}'s scripts write under ${under}`;
      unknowns.push({ kind: 'unknown', domains: ['files'], under, what });
    }
    for (const service of findings.sysvStarted) {
      unknowns.push({ kind: 'unknown', domains: ['units'], under: `${service}.service`, what: `the System V service ${service} that ${item.name} starts` });
      for (const level of ['0', '1', '2', '3', '4', '5', '6', 'S'])
        unknowns.push({ kind: 'unknown', domains: ['files'], under: `/etc/rc${level}.d`, what: `the rc links ${item.name} registers` });
    }
    for (const unit of findings.enabled) {
      units.push({ kind: 'unit', name: unit, state: { enablement: 'enabled' } });
      const file = pkg.entries.find((entry) => UNIT_DIRS.some((dir) => entry.path === `${dir}/${unit}`));
      if (!file?.content) {
        unknowns.push({ kind: 'unknown', domains: ['files'], under: '/etc/systemd/system', what: `the links that enabling ${unit} makes` });
        continue;
      }
      for (const link of enableLinks(unit, file.content.toString('utf8')))
        paths.push({ kind: 'path', path: `/etc/systemd/system/${link}`, state: { kind: 'link', target: file.path } });
    }
    if (transaction.systemdRunning) {
      for (const unit of findings.started)
        units.push({ kind: 'unit', name: unit, state: { loadState: 'loaded', activeState: 'active', needDaemonReload: false } });
    }
  }
  const last: Effect[] =
    opaque.length > 0 ? [{ kind: 'unknown', domains: SCRIPT_DOMAINS, what: `what the packages' own scripts do: ${opaque.join('; ')}` }] : [];
  return [...packages, ...paths, ...units, ...distinctEffects(unknowns), ...last];
}

/** Ids as the package has them; names only for root, the one account every host has under that id. */
function owners(entry: DebEntry): PackageOwners {
  return { uid: entry.uid, gid: entry.gid, ...(entry.uid === 0 && { owner: 'root' }), ...(entry.gid === 0 && { group: 'root' }) };
}
