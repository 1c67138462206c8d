/**
 * `drover inventory --list`: the same JSON as `ansible-inventory --list`, so tools that read that output
 * read ours. Each group lists its direct hosts and its children (`all` lists only children; empty groups
 * other than those named as children are left out), `_meta.hostvars` holds each host's merged variables
 * (hosts without variables are left out), keys are sorted and indented by 4, as Ansible prints them.
 * Password variables are Secrets and print as the mask.
 */
import { Secret } from '../runner/secret.ts';
import { ALL } from './builder.ts';
import type { Inventory } from './inventory.ts';
import { isRecord, type InventoryVars } from './values.ts';

export interface InventoryListGroup {
  hosts?: string[];
  children?: string[];
}

export interface InventoryListing {
  _meta: { hostvars: Record<string, InventoryVars> };
  [group: string]: InventoryListGroup | { hostvars: Record<string, InventoryVars> };
}

/**
 * `hosts` narrows the listing to those hosts (what --limit selected), as ansible-inventory --list --limit
 * does: groups keep only those hosts, and groups left empty drop out.
 */
export function inventoryList(inventory: Inventory, hosts: readonly string[] = inventory.hosts): InventoryListing {
  const shown = new Set(hosts);
  const groups = new Map<string, InventoryListGroup>();
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const group = inventory.groups.get(name);
    if (!group) return;
    const entry: InventoryListGroup = {};
    const members = group.hosts.filter((host) => shown.has(host));
    if (name !== ALL && members.length > 0) entry.hosts = members;
    if (group.children.length > 0) entry.children = [...group.children];
    if (entry.hosts || entry.children) groups.set(name, entry);
    for (const child of group.children) {
      if (!seen.has(child)) {
        seen.add(child);
        visit(child);
      }
    }
  };
  visit(ALL);
  const hostvars = Object.fromEntries(
    inventory.hosts
      .filter((host) => shown.has(host))
      .map((host) => [host, inventory.varsFor(host)] as const)
      .filter(([, vars]) => Object.keys(vars).length > 0),
  );
  return { ...Object.fromEntries(groups), _meta: { hostvars } };
}

/** The listing as Ansible prints it: sorted keys, 4-space indent, secrets masked. */
export function inventoryListJson(inventory: Inventory, hosts?: readonly string[]): string {
  return JSON.stringify(sortedKeys(inventoryList(inventory, hosts)), null, 4);
}

function sortedKeys(value: unknown): unknown {
  if (value instanceof Secret) return value.toJSON();
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortedKeys(value[key])] as const),
    );
  }
  return value;
}
