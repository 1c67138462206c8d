/**
 * The order in which a host's variables are merged, lowest first, as Ansible's VariableManager does it with
 * the default `precedence` setting (all_inventory, groups_inventory, all_plugins_inventory,
 * groups_plugins_inventory) followed by host vars:
 *
 *   1. `all` group vars from the inventory file
 *   2. the host's other groups' vars from the inventory file, parents before children
 *   3. `group_vars/all`
 *   4. `group_vars/<group>` for the host's other groups, in the same order as 2
 *   5. the host's own vars from the inventory file
 *   6. `host_vars/<host>`
 *
 * "The host's groups" are the groups it is listed in and all their ancestors. They are ordered by depth
 * (distance from `all`: a child is deeper than its parents, so a child group's value wins), then by
 * `ansible_group_priority` (default 1; higher wins), then by name (alphabetical; the later name wins).
 *
 * Note what this means, as in Ansible: every group_vars/ file beats every variable written in the inventory
 * file for a group — `group_vars/all.yml` beats `[web:vars]`. Within one file, or among a directory's files
 * (read in name order), the later definition wins. Merging replaces whole values: a mapping in a later layer
 * replaces the earlier mapping, it is not merged into it (Ansible's default hash_behaviour=replace).
 */
import { ALL, type GroupData } from './builder.ts';
import type { InventoryVars } from './values.ts';
import type { VarsFile } from './vars-dirs.ts';

/** One layer of a host's variables: where it comes from, and what it sets. */
export interface VarSource {
  /** `inventory.ini: group web`, `group_vars/web.yml`, `host_vars/web1/net.yml`, … */
  readonly label: string;
  readonly vars: InventoryVars;
}

/** Ansible's sort_groups: by depth, then ansible_group_priority, then name. */
export function sortGroupsForVars<T extends Pick<GroupData, 'name' | 'depth' | 'priority'>>(groups: Iterable<T>): T[] {
  return [...groups].sort((a, b) => a.depth - b.depth || a.priority - b.priority || compareNames(a.name, b.name));
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface HostLayers {
  readonly inventoryFile: string;
  /** Inventory-file vars of `all`. */
  readonly allVars: InventoryVars;
  /** The host's groups other than `all`, already sorted with sortGroupsForVars, with their inventory-file vars. */
  readonly groups: ReadonlyArray<{ readonly name: string; readonly vars: InventoryVars }>;
  readonly groupFiles: (group: string) => readonly VarsFile[];
  readonly host: string;
  readonly hostVars: InventoryVars;
  readonly hostFiles: readonly VarsFile[];
}

/** The layers of one host's variables, lowest precedence first; empty layers are left out. */
export function hostVarSources(layers: HostLayers): VarSource[] {
  const file = layers.inventoryFile;
  const sources: VarSource[] = [
    { label: `${file}: group ${ALL}`, vars: layers.allVars },
    ...layers.groups.map((group) => ({ label: `${file}: group ${group.name}`, vars: group.vars })),
    ...fileSources(layers.groupFiles(ALL)),
    ...layers.groups.flatMap((group) => fileSources(layers.groupFiles(group.name))),
    { label: `${file}: host ${layers.host}`, vars: layers.hostVars },
    ...fileSources(layers.hostFiles),
  ];
  return sources.filter((source) => Object.keys(source.vars).length > 0);
}

function fileSources(files: readonly VarsFile[]): VarSource[] {
  return files.map((file) => ({ label: file.path, vars: file.vars }));
}

/** Merges layers, later over earlier, replacing whole values. */
export function mergeVars(sources: readonly VarSource[]): InventoryVars {
  // fromEntries defines properties, so a variable named __proto__ stays a variable (Object.assign would not).
  return Object.freeze(Object.fromEntries(sources.flatMap((source) => Object.entries(source.vars))));
}
