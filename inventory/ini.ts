/**
 * Ansible's INI inventory format:
 *
 * ```ini
 * web1 ansible_host=10.0.0.5         # before any section: ungrouped
 * [k8s_control]
 * cp1 ansible_host=10.0.0.10 ansible_port=2222
 * node[01:20].lab                    # a range
 * [k8s:children]
 * k8s_control
 * [k8s:vars]
 * ansible_user=admin
 * ```
 *
 * Value typing, as ansible/plugins/inventory/ini.py does it (the code, which differs from Ansible's docs):
 * on a host line the line is split into words like a shell would (quotes group, unquoted `#` starts a
 * comment), then each value goes through Python's literal_eval — `ansible_port=2222` is the number 2222,
 * `x=True` a boolean, `x=true` the string "true", `x="123"` the number 123 (the shell quotes are gone
 * before typing), `x="'123'"` the string "123". In a `[group:vars]` section everything after the first
 * `=` is the value, typed by literal_eval too: `x=2222` is 2222, `x='a b'` the string "a b", and a value
 * literal_eval refuses is kept whole, trailing comment included (`x=a # c` is "a # c").
 *
 * One deliberate difference: password variables (secret-variables.ts) keep their text when literal_eval
 * would turn them into a number or a list, so `ansible_password=0x10` is the password "0x10", not 16.
 */
import { ALL, InventoryBuilder, UNGROUPED, type InventoryData } from './builder.ts';
import { InventoryError, type Where } from './errors.ts';
import { parseHostEntry } from './host-range.ts';
import { iniValue } from './python-literal.ts';
import { isSecretVariable } from './secret-variables.ts';
import { shlexSplit, ShlexError } from './shlex.ts';
import type { InventoryValue } from './values.ts';

type SectionKind = 'hosts' | 'vars' | 'children';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

export function parseIniInventory(text: string, file: string): InventoryData {
  const builder = new InventoryBuilder(file);
  // [g] and [g:children] declare a group; [g:vars] and a children entry only refer to one.
  const declared = new Set([ALL, UNGROUPED]);
  const varsSections = new Map<string, number>();
  const childReferences = new Map<string, { line: number; parent: string }>();
  let group = UNGROUPED;
  let kind: SectionKind = 'hosts';

  text.split(/\r\n|\r|\n/).forEach((raw, index) => {
    const lineNumber = index + 1;
    const where: Where = { file, line: lineNumber };
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;

    const section = SECTION.exec(line);
    if (section) {
      group = section[1] ?? '';
      kind = sectionKind(section[2] ?? 'hosts', group, where);
      if (kind === 'vars') {
        if (!varsSections.has(group)) varsSections.set(group, lineNumber);
      } else {
        declared.add(group);
        builder.addGroup(group);
      }
      return;
    }
    if (line.startsWith('[') && (line.endsWith(']') || !line.includes(']'))) {
      throw new InventoryError(
        where,
        `'${line}' is not a valid section header`,
        'Write [group], [group:vars] or [group:children]; group names cannot contain spaces or ":".',
      );
    }

    if (kind === 'hosts') parseHostLine(builder, line, group, where);
    else if (kind === 'vars') parseVarLine(builder, line, group, where);
    else {
      const child = GROUP_NAME.exec(line)?.[1];
      if (child === undefined) {
        throw new InventoryError(
          where,
          `'${line}' in [${group}:children] is not a group name`,
          'List one group name per line in a :children section; hosts belong in a [group] section.',
        );
      }
      builder.addChild(group, child, lineNumber);
      if (!childReferences.has(child)) childReferences.set(child, { line: lineNumber, parent: group });
    }
  });

  for (const [name, line] of varsSections) {
    if (!declared.has(name)) {
      throw new InventoryError(
        { file, line },
        `section [${name}:vars] is for group '${name}', which is never declared`,
        `Declare the group with a [${name}] or [${name}:children] section, or correct the name.`,
      );
    }
  }
  for (const [name, { line, parent }] of childReferences) {
    if (!declared.has(name)) {
      throw new InventoryError(
        { file, line },
        `section [${parent}:children] names group '${name}', which is never declared`,
        `Add a [${name}] section (it may be empty) or correct the name.`,
      );
    }
  }
  return builder.finish();
}

function sectionKind(kind: string, group: string, where: Where): SectionKind {
  if (kind === 'hosts' || kind === 'vars' || kind === 'children') return kind;
  throw new InventoryError(where, `section [${group}:${kind}] has unknown type '${kind}'`, `Use [${group}], [${group}:vars] or [${group}:children].`);
}

function parseHostLine(builder: InventoryBuilder, line: string, group: string, where: Where): void {
  let words: string[];
  try {
    words = shlexSplit(line);
  } catch (error) {
    if (!(error instanceof ShlexError)) throw error;
    // The line is not quoted back: it may hold a password.
    throw new InventoryError(
      where,
      `host line cannot be split into words: ${error.message}`,
      'Close the quote; quote values that contain spaces, quotes or # (key="a b").',
    );
  }
  const [entryText, ...assignments] = words;
  if (entryText === undefined) return;
  const entry = parseHostEntry(entryText, where);
  const vars: Array<[string, InventoryValue]> = assignments.map((word, index) => {
    const equals = word.indexOf('=');
    if (equals <= 0) {
      throw new InventoryError(
        where,
        `word ${index + 2} on the line of host '${entryText}' is not key=value`,
        'Write host variables as key=value after the host name; quote a value that contains spaces (key="a b").',
      );
    }
    const key = word.slice(0, equals);
    return [key, typedValue(key, word.slice(equals + 1))];
  });
  for (const name of entry.names) {
    builder.addHost(name, group, entry.port, where);
    for (const [key, value] of vars) builder.setHostVar(name, key, value, where);
  }
}

function parseVarLine(builder: InventoryBuilder, line: string, group: string, where: Where): void {
  const equals = line.indexOf('=');
  const key = equals < 0 ? '' : line.slice(0, equals).trim();
  if (equals < 0 || key === '' || /\s/.test(key)) {
    throw new InventoryError(
      where,
      `line in [${group}:vars] is not a key=value assignment`,
      'Write one variable per line as name=value; the name cannot contain spaces.',
    );
  }
  builder.setGroupVar(group, key, typedValue(key, line.slice(equals + 1).trim()), where.line);
}

function typedValue(key: string, text: string): InventoryValue {
  const value = iniValue(text);
  if (isSecretVariable(key) && typeof value !== 'string') return text;
  return value;
}
