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
import { distinctEffects, packageEntryEffect, type PackageOwners } from './package-effects.ts';

const SCRIPT_DOMAINS: readonly Domain[] = ALL_DOMAINS.filter((domain) => domain !== 'packages');

/** ldconfig run as a scriptlet program, the one scriptlet whose effect is known: the linker's cache. */
const ONLY_LDCONFIG = /^(?:(?:postinstall|postuninstall) program: \/(?:usr\/)?sbin\/ldconfig\s*)+$/;

/** Owners as the package names them; ids only for root, the one account every host has under that name. */
function owners(entry: RpmEntry): PackageOwners {
  return { owner: entry.owner, group: entry.group, ...(entry.owner === 'root' && { uid: 0 }), ...(entry.group === 'root' && { gid: 0 }) };
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
      const effect = packageEntryEffect(entry, owners(entry), entry.config, 'rpm', transaction.hostLinks);
      if (effect) (effect.kind === 'unknown' ? unknowns : paths).push(effect);
    }
  }
  const last: Effect[] =
    opaque.length > 0 ? [{ kind: 'unknown', domains: SCRIPT_DOMAINS, what: `what the packages' own scriptlets do: ${opaque.join('; ')}` }] : [];
  return [...packages, ...paths, ...distinctEffects(unknowns), ...last];
}
