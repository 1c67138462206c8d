/**
 * `group_vars/` and `host_vars/` beside the inventory file, found as Ansible's host_group_vars plugin finds
 * them: for a group or host NAME the first of `NAME` (a file, or a directory whose files are read in name
 * order, recursively), `NAME.yml`, `NAME.yaml`, `NAME.json`. Hidden files and backups (`~`) are skipped;
 * an empty file adds nothing; anything but a mapping is an error.
 *
 * Ansible ignores entries that match no group or host; drover reports them as warnings, since a typo in a
 * file name otherwise drops its variables without a word.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { InventoryError } from './errors.ts';
import { inventoryText } from './utf8-text.ts';
import { protectVariable } from './secret-variables.ts';
import { deepFreeze, describeKind, isRecord, recordFrom, type InventoryVars } from './values.ts';
import type { VaultKeyring } from './vault.ts';
import { parseYamlFile, yamlValue } from './yaml-file.ts';

/** One file's variables; `path` names it in messages and in `varSourcesFor`. */
export interface VarsFile {
  readonly path: string;
  readonly vars: InventoryVars;
}

export interface VarsDirectories {
  /** Per group, the files that apply, in merge order (a later file's variable wins). */
  readonly groupVars: ReadonlyMap<string, readonly VarsFile[]>;
  readonly hostVars: ReadonlyMap<string, readonly VarsFile[]>;
  readonly warnings: readonly string[];
}

const EXTENSIONS = ['', '.yml', '.yaml', '.json'];

export async function loadVarsDirectories(
  baseDir: string,
  groups: readonly string[],
  hosts: readonly string[],
  keyring: VaultKeyring = [],
): Promise<VarsDirectories> {
  const warnings: string[] = [];
  const groupVars = await loadDirectory(join(baseDir, 'group_vars'), groups, 'group', warnings, keyring);
  const hostVars = await loadDirectory(join(baseDir, 'host_vars'), hosts, 'host', warnings, keyring);
  return { groupVars, hostVars, warnings };
}

async function loadDirectory(
  dir: string,
  names: readonly string[],
  kind: 'group' | 'host',
  warnings: string[],
  keyring: VaultKeyring,
): Promise<Map<string, VarsFile[]>> {
  const found = new Map<string, VarsFile[]>();
  const info = await stat(dir).catch(() => undefined);
  if (!info) return found;
  if (!info.isDirectory()) {
    warnings.push(`${dir} is not a directory; its variables are not read`);
    return found;
  }
  for (const name of names) {
    if (!isSafeName(name)) continue;
    const paths = await findVarsFiles(dir, name);
    if (paths.length > 0) found.set(name, await Promise.all(paths.map((path) => loadVarsFile(path, keyring))));
  }
  const known = new Set(names);
  for (const entry of (await readdir(dir)).sort()) {
    if (entry.startsWith('.') || entry.endsWith('~')) continue;
    const extension = extname(entry);
    const candidates = [entry, EXTENSIONS.includes(extension) ? entry.slice(0, -extension.length) : entry];
    if (!candidates.some((candidate) => known.has(candidate))) {
      warnings.push(`${join(dir, entry)} matches no ${kind} in the inventory; its variables are not used`);
    }
  }
  return found;
}

/** Host names become paths: refuse anything that could leave the directory. */
function isSafeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\\') && !name.includes('\0');
}

async function findVarsFiles(dir: string, name: string): Promise<string[]> {
  for (const extension of EXTENSIONS) {
    const path = join(dir, name + extension);
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    return info.isDirectory() ? listVarsDirectory(path) : [path];
  }
  return [];
}

async function listVarsDirectory(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    if (entry.startsWith('.') || entry.endsWith('~')) continue;
    const path = join(dir, entry);
    const extension = extname(entry);
    const info = await stat(path);
    if (info.isDirectory() && extension === '') out.push(...(await listVarsDirectory(path)));
    else if (info.isFile() && EXTENSIONS.includes(extension)) out.push(path);
  }
  return out;
}

/** Reads one group_vars/host_vars file: a mapping of variables, or nothing; vault values decrypted with the keyring. */
export async function loadVarsFile(path: string, keyring: VaultKeyring = []): Promise<VarsFile> {
  const yaml = parseYamlFile(inventoryText(await readFile(path), path), path, keyring);
  const root = yaml.document.contents;
  const value = yamlValue(yaml, root, 'the file');
  if (value === null) return { path, vars: Object.freeze({}) };
  if (!isRecord(value)) {
    throw new InventoryError(
      { file: path, line: yaml.lineOf(root) },
      `a variables file must be a mapping of names to values, got ${describeKind(value)}`,
      'Write one "name: value" per line at the top level of the file.',
    );
  }
  const vars = recordFrom(Object.entries(value).map(([key, item]) => [key, deepFreeze(protectVariable(key, item))] as const));
  return { path, vars: Object.freeze(vars) };
}
