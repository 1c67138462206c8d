/**
 * The loaded inventory: hosts in the order they first appear, groups with their parents and children, and
 * each host's merged variables (precedence.ts says in which order).
 *
 * `localhost`, `127.0.0.1` and `::1` work even when the inventory does not list them, as Ansible's implicit
 * localhost: they are in no group (not even `all`, so `all` never selects them), they get `all`'s variables
 * and their own host_vars/ file, and `ansible_connection: local`.
 */
import { ALL, type GroupData, type InventoryData } from './builder.ts';
import { InventoryError } from './errors.ts';
import { hostVarSources, mergeVars, sortGroupsForVars, type VarSource } from './precedence.ts';
import { recordFrom, type InventoryVars } from './values.ts';
import type { VarsDirectories } from './vars-dirs.ts';

export interface InventoryGroup {
  readonly name: string;
  readonly parents: readonly string[];
  readonly children: readonly string[];
  /** Hosts listed directly in the group (not through children), in order. */
  readonly hosts: readonly string[];
  /** Distance from `all` (0); orders group variables. */
  readonly depth: number;
  /** ansible_group_priority, default 1. */
  readonly priority: number;
  /** Variables set for the group in the inventory file (group_vars/ files are in varSourcesFor). */
  readonly vars: InventoryVars;
}

export interface Inventory {
  /** The inventory file, as given. */
  readonly file: string;
  /** Every host, in the order it first appears. */
  readonly hosts: readonly string[];
  /** `hosts` as a fresh array the caller may change. */
  hostNames(): string[];
  /** Every group, `all` and `ungrouped` first, then in the order first mentioned. */
  readonly groups: ReadonlyMap<string, InventoryGroup>;
  /** Things worth telling the operator that do not stop a run (e.g. a group_vars file matching no group). */
  readonly warnings: readonly string[];
  /** True for listed hosts and for the implicit localhost names. */
  hasHost(name: string): boolean;
  /** Every group the host is in, ancestors included, `all` first, in variable-precedence order. */
  groupsOf(host: string): string[];
  /** The hosts of a group and of all its descendants, in inventory order. */
  hostsIn(group: string): string[];
  /** The host's merged variables; password variables are Secrets. Throws for an unknown host. */
  varsFor(host: string): InventoryVars;
  /** The layers varsFor merges, lowest precedence first: to answer "where does this value come from?". */
  varSourcesFor(host: string): readonly VarSource[];
}

/** Ansible's C.LOCALHOST: names that mean the controller itself. */
export const LOCALHOST_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

const IMPLICIT_LOCALHOST_VARS: InventoryVars = Object.freeze({ ansible_connection: 'local' });

export function buildInventory(data: InventoryData, dirs: VarsDirectories): Inventory {
  const groups = new Map<string, InventoryGroup>();
  for (const group of data.groups.values()) groups.set(group.name, freezeGroup(group));
  const hosts = Object.freeze([...data.hosts.keys()]);
  const hostIndex = new Map(hosts.map((name, index) => [name, index]));
  const implicit = (name: string): boolean => !hostIndex.has(name) && LOCALHOST_NAMES.includes(name);

  const unknownHost = (name: string): InventoryError =>
    new InventoryError({ file: data.file }, `host '${name}' is not in the inventory`, 'Check the name, or add the host to the inventory.');

  const groupsOf = (host: string): string[] => {
    const hostData = data.hosts.get(host);
    if (!hostData) {
      if (implicit(host)) return [];
      throw unknownHost(host);
    }
    const seen = new Set<string>();
    const visit = (name: string): void => {
      if (seen.has(name)) return;
      seen.add(name);
      for (const parent of groups.get(name)?.parents ?? []) visit(parent);
    };
    for (const name of hostData.groups) visit(name);
    seen.add(ALL);
    return sortGroupsForVars([...seen].flatMap((name) => groups.get(name) ?? [])).map((group) => group.name);
  };

  const sourcesCache = new Map<string, readonly VarSource[]>();
  const varSourcesFor = (host: string): readonly VarSource[] => {
    const cached = sourcesCache.get(host);
    if (cached) return cached;
    const own = data.hosts.get(host);
    if (!own && !implicit(host)) throw unknownHost(host);
    const sources = Object.freeze(
      hostVarSources({
        inventoryFile: data.file,
        allVars: groups.get(ALL)?.vars ?? {},
        groups: groupsOf(host)
          .filter((name) => name !== ALL)
          .flatMap((name) => groups.get(name) ?? []),
        groupFiles: (group) => dirs.groupVars.get(group) ?? [],
        host,
        hostVars: own ? Object.freeze(recordFrom(own.vars)) : IMPLICIT_LOCALHOST_VARS,
        hostFiles: dirs.hostVars.get(host) ?? [],
      }),
    );
    sourcesCache.set(host, sources);
    return sources;
  };

  const varsCache = new Map<string, InventoryVars>();
  return {
    file: data.file,
    hosts,
    hostNames: () => [...hosts],
    groups,
    warnings: Object.freeze([...dirs.warnings, ...sameNames(hosts, groups)]),
    hasHost: (name) => hostIndex.has(name) || implicit(name),
    groupsOf,
    hostsIn(group) {
      const start = groups.get(group);
      if (!start) {
        throw new InventoryError({ file: data.file }, `group '${group}' is not in the inventory`, `Groups are: ${[...groups.keys()].join(', ')}.`);
      }
      if (group === ALL) return [...hosts];
      const members = new Set<string>();
      const visit = (current: InventoryGroup): void => {
        for (const host of current.hosts) members.add(host);
        for (const child of current.children) {
          const childGroup = groups.get(child);
          if (childGroup) visit(childGroup);
        }
      };
      visit(start);
      return hosts.filter((host) => members.has(host));
    },
    varsFor(host) {
      let vars = varsCache.get(host);
      if (!vars) {
        vars = mergeVars(varSourcesFor(host));
        varsCache.set(host, vars);
      }
      return vars;
    },
    varSourcesFor,
  };
}

function freezeGroup(group: GroupData): InventoryGroup {
  return Object.freeze({
    name: group.name,
    parents: Object.freeze([...group.parents]),
    children: Object.freeze([...group.children]),
    hosts: Object.freeze([...group.hosts]),
    depth: group.depth,
    priority: group.priority,
    vars: Object.freeze(recordFrom(group.vars)),
  });
}

/** Ansible's "Found both group and host with same name": a pattern naming it selects the group. */
function sameNames(hosts: readonly string[], groups: ReadonlyMap<string, unknown>): string[] {
  return hosts
    .filter((host) => groups.has(host))
    .map((name) => `'${name}' is both a host and a group: a pattern naming it selects the group's hosts (rename one of them to select the host alone)`);
}
