/**
 * What a package transaction leaves for a dry run's later tasks (runner/predicted-state.ts): the named
 * packages installed or removed, and everything their maintainer scripts and files may touch unknown.
 * Which files and units a package brings, and what its scripts start, enable or write, is not known from
 * its name, so a later task reading them reports "would run (cannot know: depends on …)" rather than
 * planning from a host the transaction will have changed.
 */
import type { Effect, PredictedView } from '../../runner/predicted-state.ts';

/** One file, directory or link a package unpacks, as the dry run's package readers (apt, dnf) found it. */
export interface PackageEntry {
  type: 'file' | 'directory' | 'link' | 'other';
  /** As the package names it (`/lib/…` on a usr-merged host lands in `/usr/lib/…`). */
  path: string;
  size: number;
  /** Permission bits as `stat -c %a` prints them. */
  mode: string;
  /** Hex sha256 of a file's content, when the package gives or the reader computed one. */
  sha256?: string;
  content?: Buffer;
  target?: string;
  /** The path already exists on the host. */
  onHost: boolean;
}

/** The owner a package gives a path: ids and/or names, as the package format records them. */
export interface PackageOwners {
  uid?: number;
  gid?: number;
  owner?: string;
  group?: string;
}

/** Top-level directories that are links on the host (`/lib` → `/usr/lib`): where a package's path lands. */
export function hostPathOf(path: string, links: ReadonlyMap<string, string>): string {
  for (const [link, target] of links) {
    if (path === link || path.startsWith(`${link}/`)) return target + path.slice(link.length);
  }
  return path;
}

/**
 * What unpacking one entry leaves: the path as the package ships it, or unknown where the package manager
 * decides (a configuration file already on the host: `tool` keeps it or not) or drover has no digest.
 */
export function packageEntryEffect(
  entry: PackageEntry,
  owners: PackageOwners,
  config: boolean,
  tool: string,
  links: ReadonlyMap<string, string>,
): Effect | null {
  // A directory the package names that is a link on the host (/lib after the usr merge) stays a link.
  if (entry.type === 'directory' && links.has(entry.path)) return null;
  const path = hostPathOf(entry.path, links);
  switch (entry.type) {
    case 'directory':
      // The package managers leave an existing directory's mode and owner alone.
      return { kind: 'path', path, state: entry.onHost ? { kind: 'directory' } : { kind: 'directory', mode: entry.mode, ...owners } };
    case 'link':
      return { kind: 'path', path, state: { kind: 'link', target: entry.target ?? '' } };
    case 'file':
      if (config && entry.onHost) {
        return {
          kind: 'unknown',
          domains: ['files'],
          under: path,
          what: `whether ${tool} keeps the existing ${path} or installs the package's (a configuration file)`,
        };
      }
      if (entry.sha256 === undefined) return { kind: 'unknown', domains: ['files'], under: path, what: `${path} (no sha256 of it was read)` };
      return {
        kind: 'path',
        path,
        state: { kind: 'file', sha256: entry.sha256, size: entry.size, mode: entry.mode, ...owners, ...(entry.content && { content: entry.content }) },
      };
    default:
      return { kind: 'unknown', domains: ['files'], under: path, what: `${path} (a special file)` };
  }
}

/** Each unknown once (several libraries each trigger ldconfig), in the order first recorded. */
export function distinctEffects(effects: readonly Effect[]): Effect[] {
  const seen = new Set<string>();
  return effects.filter((effect) => {
    const key = JSON.stringify(effect);
    return !seen.has(key) && Boolean(seen.add(key));
  });
}

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
