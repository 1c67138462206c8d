/**
 * What a dnf transaction leaves for the later tasks of a dry run, read from the packages themselves
 * (modules/facts/rpm-transaction.ts): every file, directory and link each package installs. Scriptlets are
 * not read line by line as debhelper's are (modules/lib/deb-effects.ts): RPM's systemd macros enable a unit
 * or not by the host's preset policy, so a package with any scriptlet other than ldconfig leaves everything
 * but the package database unknown, as an upgrade does. What stays unknown is recorded last, so it hides
 * what the packages ship.
 */
import type { RehearsedRpmTransaction, RpmEntry } from '../facts/rpm-transaction.ts';
import { ALL_DOMAINS, type Domain, type Effect } from '../../runner/predicted-state.ts';

const SCRIPT_DOMAINS: readonly Domain[] = ALL_DOMAINS.filter((domain) => domain !== 'packages');

/** ldconfig run as a scriptlet program, the one scriptlet whose effect is known: the linker's cache. */
const ONLY_LDCONFIG = /^(?:(?:postinstall|postuninstall) program: \/(?:usr\/)?sbin\/ldconfig\s*)+$/;

function onHost(path: string, links: ReadonlyMap<string, string>): string {
  for (const [link, target] of links) {
    if (path === link || path.startsWith(`${link}/`)) return target + path.slice(link.length);
  }
  return path;
}

function owners(entry: RpmEntry): { owner: string; group: string; uid?: number; gid?: number } {
  return { owner: entry.owner, group: entry.group, ...(entry.owner === 'root' && { uid: 0 }), ...(entry.group === 'root' && { gid: 0 }) };
}

function entryEffect(entry: RpmEntry, links: ReadonlyMap<string, string>): Effect | null {
  if (entry.type === 'directory' && links.has(entry.path)) return null;
  const path = onHost(entry.path, links);
  switch (entry.type) {
    case 'directory':
      return { kind: 'path', path, state: entry.onHost ? { kind: 'directory' } : { kind: 'directory', mode: entry.mode, ...owners(entry) } };
    case 'link':
      return { kind: 'path', path, state: { kind: 'link', target: entry.target ?? '' } };
    case 'file':
      if (entry.config && entry.onHost) {
        return {
          kind: 'unknown',
          domains: ['files'],
          under: path,
          what: `whether rpm keeps the existing ${path} or installs the package's (a configuration file)`,
        };
      }
      if (entry.sha256 === undefined) return { kind: 'unknown', domains: ['files'], under: path, what: `${path} (its digest is not a sha256)` };
      return {
        kind: 'path',
        path,
        state: { kind: 'file', sha256: entry.sha256, size: entry.size, mode: entry.mode, ...owners(entry), ...(entry.content && { content: entry.content }) },
      };
    default:
      return { kind: 'unknown', domains: ['files'], under: path, what: `${path} (a special file)` };
  }
}

/** The effects of a rehearsed dnf transaction, or null when it could not be rehearsed. */
export function rpmTransactionEffects(transaction: RehearsedRpmTransaction): Effect[] | null {
  if (transaction.failed !== null) return null;
  const packages: Effect[] = transaction.packages.map((pkg): Effect => ({ kind: 'package', name: pkg.name, installed: true }));
  const paths: Effect[] = [];
  const unknowns: Effect[] = [
    { kind: 'unknown', domains: ['files'], under: '/var', what: "the rpm database, dnf's history and caches, which the transaction writes" },
  ];
  const opaque: string[] = [];
  for (const pkg of transaction.packages) {
    if (pkg.upgradeFrom !== null) opaque.push(`upgrading ${pkg.name} from ${pkg.upgradeFrom} (the old version's scriptlets run too)`);
    if (pkg.scripts !== '') {
      if (ONLY_LDCONFIG.test(pkg.scripts))
        unknowns.push({
          kind: 'unknown',
          domains: ['files'],
          under: '/etc/ld.so.cache',
          what: "the dynamic linker's cache, which ldconfig rewrites for new libraries",
        });
      else opaque.push(`${pkg.name} runs scriptlets (a unit's enablement follows the host's presets)`);
    }
    for (const entry of pkg.entries) {
      const effect = entryEffect(entry, transaction.hostLinks);
      if (effect) (effect.kind === 'unknown' ? unknowns : paths).push(effect);
    }
  }
  const distinct = unknowns.filter((effect, index) => unknowns.findIndex((other) => JSON.stringify(other) === JSON.stringify(effect)) === index);
  const last: Effect[] =
    opaque.length > 0 ? [{ kind: 'unknown', domains: SCRIPT_DOMAINS, what: `what the packages' own scriptlets do: ${opaque.join('; ')}` }] : [];
  return [...packages, ...paths, ...distinct, ...last];
}
