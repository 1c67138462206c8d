/**
 * What a package transaction leaves for a dry run's later tasks (runner/predicted-state.ts): the named
 * packages installed or removed, and everything their maintainer scripts and files may touch unknown.
 * Which files and units a package brings, and what its scripts start, enable or write, is not known from
 * its name, so a later task reading them reports "would run (cannot know: depends on …)" rather than
 * planning from a host the transaction will have changed.
 */
import type { Effect, PredictedView } from '../../runner/predicted-state.ts';

export function packageTransactionEffects(installed: readonly string[], removed: readonly string[]): Effect[] {
  const all = [...installed, ...removed];
  // The unknown first: the named packages themselves, recorded after it, are known.
  return [
    {
      kind: 'unknown',
      domains: ['files', 'units', 'packages', 'sysctl'],
      what: `the files, units and dependencies that ${all.join(', ')} ${installed.length > 0 && removed.length === 0 ? 'bring' : 'change'}`,
    },
    ...installed.map((name): Effect => ({ kind: 'package', name, installed: true })),
    ...removed.map((name): Effect => ({ kind: 'package', name, installed: false })),
  ];
}

/**
 * Before planning a transaction in a dry run: a named package an earlier planned transaction would
 * install or remove (or one that any earlier transaction may have pulled in) is known only as "installed"
 * or "removed", not at which version or with which holds, so this task depends on that one. Lookups
 * inside an unknown are noted by the view itself.
 */
export function notePredictedPackages(names: readonly string[], predicted: PredictedView): void {
  for (const name of names) {
    const found = predicted.package(name);
    if (found) predicted.dependsOn(found.by, `package ${name}`);
  }
}
