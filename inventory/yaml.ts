/**
 * Ansible's YAML inventory format:
 *
 * ```yaml
 * all:
 *   vars: { ansible_user: admin }
 *   children:
 *     k8s:
 *       children:
 *         k8s_control: { hosts: { cp1: { ansible_host: 10.0.0.10 } } }
 *         k8s_workers: { hosts: { "node[01:03]": } }
 * ```
 *
 * The top level maps group names to groups; a group holds `hosts` (host entries mapped to their variables or
 * to nothing), `children` (groups, nested the same way) and `vars`. A group or host may appear in several
 * places; its memberships and variables accumulate, later variables replacing earlier ones.
 *
 * Where Ansible warns and skips (a key other than hosts/children/vars, a group that is not a mapping), drover
 * stops with an error naming the line: a skipped line is a host or a variable silently missing from a run.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, type Node } from 'yaml';
import { InventoryBuilder, type InventoryData } from './builder.ts';
import { InventoryError, type Where } from './errors.ts';
import { parseHostEntry } from './host-range.ts';
import { describeKind, isRecord, type InventoryValue } from './values.ts';
import type { VaultKeyring } from './vault.ts';
import { parseYamlFile, yamlValue, type YamlFile } from './yaml-file.ts';

interface Entry {
  readonly key: string;
  readonly value: Node | null;
  readonly line: number | undefined;
}

export function parseYamlInventory(text: string, file: string, keyring: VaultKeyring = []): InventoryData {
  const yaml = parseYamlFile(text, file, keyring);
  const builder = new InventoryBuilder(file);
  const root = resolve(yaml, yaml.document.contents);
  if (root === null) {
    throw new InventoryError({ file }, 'the inventory is empty', 'Add groups and hosts (e.g. "all:" with "hosts:"), or check that this is the file you meant.');
  }
  if (!isMap(root)) {
    throw new InventoryError(
      { file, line: yaml.lineOf(root) },
      `the top level of a YAML inventory must be a mapping of group names (like "all:"), got ${nodeKind(root)}`,
      'Start the file with "all:" and put hosts under "hosts:" and groups under "children:".',
    );
  }
  const groups = entries(yaml, root, 'the top level');
  const plugin = groups.find((entry) => entry.key === 'plugin');
  if (plugin) {
    throw new InventoryError(
      { file, line: plugin.line },
      'this is an inventory plugin configuration, not an inventory',
      'drover reads static inventories only; export one with `ansible-inventory -i FILE --list -y`.',
    );
  }
  for (const group of groups) parseGroup(yaml, builder, group, undefined);
  return builder.finish();
}

function parseGroup(yaml: YamlFile, builder: InventoryBuilder, group: Entry, parent: string | undefined): void {
  const name = group.key;
  builder.addGroup(name);
  if (parent !== undefined) builder.addChild(parent, name, group.line);
  const body = resolve(yaml, group.value);
  if (body === null) return;
  if (!isMap(body)) {
    throw new InventoryError(
      { file: yaml.file, line: yaml.lineOf(body) ?? group.line },
      `group '${name}' must be a mapping with hosts, children and vars (or empty), got ${nodeKind(body)}`,
      isSeq(body)
        ? `Put the hosts under "hosts:" as keys ("web1:"), not as list items ("- web1").`
        : `Write "${name}:" followed by indented "hosts:", "children:" or "vars:".`,
    );
  }
  for (const section of entries(yaml, body, `group '${name}'`)) {
    const sectionWhere: Where = { file: yaml.file, line: section.line };
    if (section.key === 'hosts') {
      for (const host of members(yaml, section, name, 'hosts')) parseHost(yaml, builder, host, name);
    } else if (section.key === 'children') {
      for (const child of members(yaml, section, name, 'children')) parseGroup(yaml, builder, child, name);
    } else if (section.key === 'vars') {
      for (const [key, value] of Object.entries(variables(yaml, section.value, `vars of group '${name}'`, sectionWhere))) {
        builder.setGroupVar(name, key, value, section.line);
      }
    } else {
      throw new InventoryError(
        sectionWhere,
        `unexpected key '${section.key}' in group '${name}'`,
        `A group holds only "hosts", "children" and "vars"; to define a group named '${section.key}', put it under "children:".`,
      );
    }
  }
}

function parseHost(yaml: YamlFile, builder: InventoryBuilder, host: Entry, group: string): void {
  const where: Where = { file: yaml.file, line: host.line };
  const entry = parseHostEntry(host.key, where);
  const vars = variables(yaml, host.value, `variables of host '${host.key}'`, where);
  for (const name of entry.names) {
    builder.addHost(name, group, entry.port, where);
    for (const [key, value] of Object.entries(vars)) builder.setHostVar(name, key, value, where);
  }
}

/** The entries of a hosts: or children: section; a lone name is accepted as Ansible does (`hosts: web1`). */
function members(yaml: YamlFile, section: Entry, group: string, kind: 'hosts' | 'children'): Entry[] {
  const node = resolve(yaml, section.value);
  if (node === null) return [];
  if (isScalar(node) && typeof node.value === 'string') return [{ key: node.value, value: null, line: yaml.lineOf(node) }];
  if (!isMap(node)) {
    throw new InventoryError(
      { file: yaml.file, line: yaml.lineOf(node) ?? section.line },
      `${kind} of group '${group}' must be a mapping, got ${nodeKind(node)}`,
      kind === 'hosts'
        ? 'Write each host as a key ending in ":" ("web1:" or "web1: { ansible_host: 10.0.0.5 }"), not as a list item.'
        : 'Write each child group as a key ending in ":" ("web:"), not as a list item.',
    );
  }
  return entries(yaml, node, `${kind} of group '${group}'`);
}

function variables(yaml: YamlFile, node: Node | null, what: string, where: Where): Readonly<Record<string, InventoryValue>> {
  const value = yamlValue(yaml, resolve(yaml, node), what);
  if (value === null) return {};
  if (!isRecord(value)) {
    throw new InventoryError(
      { file: yaml.file, line: (node && yaml.lineOf(node)) ?? where.line },
      `${what} must be a mapping of names to values, got ${describeKind(value)}`,
      'Write variables as "name: value" lines indented under it.',
    );
  }
  return value;
}

function entries(yaml: YamlFile, map: Node, what: string): Entry[] {
  if (!isMap(map)) return [];
  return map.items.map((pair) => {
    const keyNode = isNode(pair.key) ? resolve(yaml, pair.key) : null;
    const line = yaml.lineOf(keyNode) ?? yaml.lineOf(map);
    const key = isScalar(keyNode) ? keyNode.value : undefined;
    if (typeof key !== 'string' || key === '') {
      const kind = keyNode === null ? 'nothing' : isScalar(keyNode) ? describeKind(keyNode.value) : nodeKind(keyNode);
      throw new InventoryError(
        { file: yaml.file, line },
        `a key in ${what} must be a name, got ${kind}`,
        'Quote names that YAML would read as numbers or booleans (e.g. "10.0.0.1": or "1":).',
      );
    }
    if (key === '<<') {
      throw new InventoryError(
        { file: yaml.file, line },
        `a merge key (<<) in ${what} is not supported there`,
        'Merge keys work inside vars and host variables; write groups and hosts out in full.',
      );
    }
    return { key, value: isNode(pair.value) ? pair.value : null, line };
  });
}

function resolve(yaml: YamlFile, node: Node | null | undefined): Node | null {
  if (!node) return null;
  if (isAlias(node)) {
    const target = node.resolve(yaml.document);
    return target ? resolve(yaml, target) : null;
  }
  if (isScalar(node) && node.value === null) return null;
  return node;
}

function nodeKind(node: Node): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  if (isScalar(node)) return describeKind(node.value);
  return 'an unsupported YAML node';
}
