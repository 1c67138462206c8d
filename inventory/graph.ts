/**
 * `drover inventory --graph`: the group tree as `ansible-inventory --graph` draws it —
 *
 *   @all:
 *     |--@ungrouped:
 *     |--@k8s:
 *     |  |--@k8s_control:
 *     |  |  |--cp1
 *
 * children before hosts, each in inventory order; `all` shows no hosts of its own.
 */
import { printable } from '../runner/printable.ts';
import { ALL } from './builder.ts';
import { InventoryError } from './errors.ts';
import type { Inventory } from './inventory.ts';

/** `hosts` narrows the hosts drawn (what --limit selected); `root` draws one group's subtree. */
export function inventoryGraph(inventory: Inventory, hosts: readonly string[] = inventory.hosts, root: string = ALL): string {
  const shown = new Set(hosts);
  if (!inventory.groups.has(root)) {
    throw new InventoryError({ file: inventory.file }, `group '${root}' is not in the inventory`, `Draw one of: ${[...inventory.groups.keys()].join(', ')}.`);
  }
  const lines: string[] = [];
  const draw = (name: string, depth: number): void => {
    const group = inventory.groups.get(name);
    if (!group) return;
    lines.push(indent(`@${printable(name)}:`, depth));
    for (const child of group.children) draw(child, depth + 1);
    if (name !== ALL) for (const host of group.hosts) if (shown.has(host)) lines.push(indent(printable(host), depth + 1));
  };
  draw(root, 0);
  return lines.join('\n');
}

function indent(text: string, depth: number): string {
  return depth === 0 ? text : `${'  |'.repeat(depth)}--${text}`;
}
