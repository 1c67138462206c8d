/**
 * `group_vars/` and `host_vars/` beside the inventory file, found as Ansible's host_group_vars plugin finds
 * them: for a group or host NAME the first of `NAME` (a file, or a directory whose files are read in name
 * order, recursively), `NAME.yml`, `NAME.yaml`, `NAME.json`. Hidden files and backups (`~`) are skipped;
 * an empty file adds nothing; anything but a mapping is an error.
 *
 * Ansible ignores entries that match no group or host; drover reports them as warnings, since a typo in a
 * file name otherwise drops its variables without a word.
 *
 * Symbolic links are followed, but a link that leads nowhere is an error naming it, not a file skipped
 * (its variables would silently fall back to defaults), and so is a loop (`ln -s . group_vars/web/loop`).
 * Only regular files are read: a FIFO, socket or device is refused without being opened (reading a FIFO
 * would wait for a writer for ever).
 */
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, stat } from 'node:fs/promises';
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
  const info = await entryInfo(dir);
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
    const info = await entryInfo(path);
    if (!info) continue;
    if (info.isDirectory()) return listVarsDirectory(path, new Set([identity(info)]));
    refuseUnlessFile(path, info);
    return [path];
  }
  return [];
}

/** The files of a NAME/ directory, in name order, recursively; `ancestors`: it and the directories above (a loop). */
async function listVarsDirectory(dir: string, ancestors: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    const extension = extname(entry);
    // Only names that can hold variables are looked at: a dangling link named notes.txt is not our business.
    if (entry.startsWith('.') || entry.endsWith('~') || !EXTENSIONS.includes(extension)) continue;
    const path = join(dir, entry);
    const info = await entryInfo(path);
    if (!info) continue;
    if (info.isDirectory()) {
      if (extension !== '') continue;
      if (ancestors.has(identity(info))) {
        throw new InventoryError(
          { file: path },
          'leads back to a directory that contains it (a symbolic link loop), so its variables would be read for ever',
          'Remove the link, or point it at a directory outside this one.',
        );
      }
      out.push(...(await listVarsDirectory(path, new Set([...ancestors, identity(info)]))));
      continue;
    }
    refuseUnlessFile(path, info);
    out.push(path);
  }
  return out;
}

/** A directory's identity across the links that reach it. */
function identity(info: Stats): string {
  return `${info.dev}:${info.ino}`;
}

/**
 * What a path is, following links: undefined when nothing is there; an InventoryError naming the path when
 * a link leads nowhere or loops, or the path cannot be read.
 */
async function entryInfo(path: string): Promise<Stats | undefined> {
  let own: Stats;
  try {
    own = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw unreadable(path, error);
  }
  if (!own.isSymbolicLink()) return own;
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const target = await readlink(path).catch(() => '?');
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InventoryError(
        { file: path },
        `is a symbolic link to ${target}, which does not exist, so its variables cannot be read`,
        'Point the link at the variables file, or remove it.',
      );
    }
    if (code === 'ELOOP') {
      throw new InventoryError({ file: path }, `is a symbolic link that loops (to ${target})`, 'Point the link at the variables file, or remove it.');
    }
    throw unreadable(path, error);
  }
}

function unreadable(path: string, error: unknown): InventoryError {
  return new InventoryError(
    { file: path },
    `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    'Make it readable by the user running drover, or remove it.',
    { cause: error },
  );
}

/** A FIFO, socket or device is never opened: reading one may wait for ever or read what is not a file. */
function refuseUnlessFile(path: string, info: Stats): void {
  if (info.isFile()) return;
  throw new InventoryError(
    { file: path },
    `is ${describeFileType(info)}, not a regular file; variables are read from regular files only`,
    'Replace it with a YAML or JSON file, or remove it.',
  );
}

function describeFileType(info: Stats): string {
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/**
 * A regular file's bytes, opened without waiting (O_NONBLOCK) and checked on the open descriptor: a file
 * swapped for a FIFO after it was listed is refused, not waited on.
 */
async function readRegularFile(path: string): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    refuseUnlessFile(path, await handle.stat());
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Reads one group_vars/host_vars file: a mapping of variables, or nothing; vault values decrypted with the keyring. */
export async function loadVarsFile(path: string, keyring: VaultKeyring = []): Promise<VarsFile> {
  const yaml = parseYamlFile(inventoryText(await readRegularFile(path), path), path, keyring);
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
