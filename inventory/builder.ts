/**
 * The inventory both parsers build: groups with parents, children, direct hosts and their own variables;
 * hosts with their own variables. `finish()` adds what Ansible adds after parsing (InventoryData's
 * reconcile): every group without a parent becomes a child of `all`, every host in no group joins
 * `ungrouped` (and leaves it when it is in another group), and each group's depth is its longest distance
 * from `all`, which orders group variables (see precedence.ts).
 */
import { InventoryError, type Where } from './errors.ts';
import { protectVariable } from './secret-variables.ts';
import { deepFreeze, describeKind, type InventoryValue } from './values.ts';

export interface GroupData {
  readonly name: string;
  /** Variables set in the inventory file itself (not group_vars/). */
  readonly vars: Map<string, InventoryValue>;
  readonly children: string[];
  readonly parents: string[];
  /** Hosts listed directly in this group, in the order first listed. */
  readonly hosts: string[];
  /** `ansible_group_priority` (default 1): among groups of the same depth, higher merges later and wins. */
  priority: number;
  /** Longest path from `all` (0); a child is deeper than each of its parents. */
  depth: number;
}

export interface HostData {
  readonly name: string;
  /** Variables set in the inventory file itself (not host_vars/). */
  readonly vars: Map<string, InventoryValue>;
  /** Groups the host is listed in directly, in order ('all' is implicit and never listed). */
  readonly groups: string[];
}

/** A parsed inventory file, before group_vars/ and host_vars/. Maps keep the order of first appearance. */
export interface InventoryData {
  readonly file: string;
  readonly groups: ReadonlyMap<string, GroupData>;
  readonly hosts: ReadonlyMap<string, HostData>;
}

export const ALL = 'all';
/** Variables that say which machine a host name is; see setHostVar. */
const ADDRESS_KEYS = new Set(['ansible_host', 'ansible_port']);
export const UNGROUPED = 'ungrouped';

export class InventoryBuilder {
  readonly #groups = new Map<string, GroupData>();
  readonly #hosts = new Map<string, HostData>();
  /** Each group's hosts as a set beside its list: a group of 40,000 hosts took 2.5 s to load, checking the list. */
  readonly #members = new Map<string, Set<string>>();
  /** `key\0host` → the first address value given and where, to refuse a conflicting second one. */
  readonly #addresses = new Map<string, { value: InventoryValue; where: Where }>();

  constructor(readonly file: string) {
    this.addGroup(ALL);
    this.addGroup(UNGROUPED);
    this.addChild(ALL, UNGROUPED);
  }

  hasGroup(name: string): boolean {
    return this.#groups.has(name);
  }

  /** Declares a group (idempotent) and returns it. */
  addGroup(name: string): GroupData {
    let group = this.#groups.get(name);
    if (!group) {
      group = { name, vars: new Map(), children: [], parents: [], hosts: [], priority: 1, depth: 0 };
      this.#groups.set(name, group);
    }
    return group;
  }

  /** Makes `child` a child of `parent`, declaring both; refuses a loop, as Ansible does. */
  addChild(parent: string, child: string, line?: number): void {
    const parentGroup = this.addGroup(parent);
    const childGroup = this.addGroup(child);
    if (parentGroup.children.includes(child)) return;
    if (child === parent || this.#descendants(child).has(parent)) {
      throw new InventoryError(
        line === undefined ? { file: this.file } : { file: this.file, line },
        `making group '${child}' a child of '${parent}' creates a loop`,
        `Remove '${child}' from the children of '${parent}', or '${parent}' from the children of '${child}'.`,
      );
    }
    parentGroup.children.push(child);
    childGroup.parents.push(parent);
  }

  /** Adds a host (idempotent) to a group; `port` from `name:port` becomes `ansible_port`, as in Ansible. */
  addHost(name: string, group: string, port?: number, where?: Where): HostData {
    let host = this.#hosts.get(name);
    if (!host) {
      host = { name, vars: new Map(), groups: [] };
      this.#hosts.set(name, host);
    }
    // Listing a host under `all` only makes it exist; finish() then puts it in `ungrouped`, as Ansible does.
    if (group !== ALL) {
      const target = this.addGroup(group);
      const members = this.#members.get(group) ?? new Set(target.hosts);
      this.#members.set(group, members);
      if (!members.has(name)) {
        members.add(name);
        target.hosts.push(name);
      }
      if (!host.groups.includes(group)) host.groups.push(group);
    }
    if (port !== undefined) {
      this.#checkAddress(name, 'ansible_port', port, where);
      host.vars.set('ansible_port', port);
    }
    return host;
  }

  /**
   * A later definition of the same variable for the same host replaces the earlier one, as in Ansible;
   * except the address (ansible_host, ansible_port): two different ones for one host name mean two
   * machines under one name, and the last one silently winning ran tasks on the wrong machine.
   */
  setHostVar(host: string, key: string, value: InventoryValue, where?: Where): void {
    const data = this.#hosts.get(host) ?? this.addHost(host, ALL);
    if (ADDRESS_KEYS.has(key)) this.#checkAddress(host, key, value, where);
    data.vars.set(key, deepFreeze(protectVariable(key, value)));
  }

  #checkAddress(host: string, key: string, value: InventoryValue, where: Where | undefined): void {
    const here = where ?? { file: this.file };
    const previous = this.#addresses.get(`${key}\0${host}`);
    if (previous && String(previous.value) !== String(value)) {
      const at = (place: Where) => (place.line === undefined ? place.file : `${place.file}:${place.line}`);
      throw new InventoryError(
        here,
        `host '${host}' is given ${key}=${String(value)} here, but ${key}=${String(previous.value)} at ${at(previous.where)}`,
        `One name is one machine: give the two machines different host names, or remove the wrong ${key} (a host listed in several groups needs its ${key} only once).`,
      );
    }
    if (!previous) this.#addresses.set(`${key}\0${host}`, { value, where: here });
  }

  setGroupVar(group: string, key: string, value: InventoryValue, line?: number): void {
    const data = this.addGroup(group);
    if (key === 'ansible_group_priority') data.priority = groupPriority(value, group, { file: this.file, line });
    data.vars.set(key, deepFreeze(protectVariable(key, value)));
  }

  finish(): InventoryData {
    for (const group of this.#groups.values()) {
      if (group.name !== ALL && group.parents.length === 0) this.addChild(ALL, group.name);
    }
    const ungrouped = this.addGroup(UNGROUPED);
    for (const host of this.#hosts.values()) {
      const elsewhere = host.groups.some((name) => name !== UNGROUPED);
      if (elsewhere && host.groups.includes(UNGROUPED)) {
        host.groups.splice(host.groups.indexOf(UNGROUPED), 1);
        ungrouped.hosts.splice(ungrouped.hosts.indexOf(host.name), 1);
      } else if (!elsewhere && !host.groups.includes(UNGROUPED)) {
        host.groups.push(UNGROUPED);
        ungrouped.hosts.push(host.name);
      }
    }
    const depths = new Map<string, number>();
    const depthOf = (name: string): number => {
      const known = depths.get(name);
      if (known !== undefined) return known;
      const parents = this.#groups.get(name)?.parents ?? [];
      const depth = parents.length === 0 ? 0 : Math.max(...parents.map((parent) => depthOf(parent) + 1));
      depths.set(name, depth);
      return depth;
    };
    for (const group of this.#groups.values()) group.depth = depthOf(group.name);
    return { file: this.file, groups: this.#groups, hosts: this.#hosts };
  }

  #descendants(name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length > 0) {
      const current = stack.pop() ?? '';
      for (const child of this.#groups.get(current)?.children ?? []) {
        if (!seen.has(child)) {
          seen.add(child);
          stack.push(child);
        }
      }
    }
    return seen;
  }
}

function groupPriority(value: InventoryValue, group: string, where: Where): number {
  const number = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number)) {
    throw new InventoryError(
      where,
      `ansible_group_priority of group '${group}' must be a whole number, got ${describeKind(value)}`,
      'Set it to an integer such as 10; groups with a higher priority win over others of the same depth.',
    );
  }
  return number;
}
