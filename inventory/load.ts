/**
 * The single entry point: `loadInventory('inventory.yaml')` reads the file (YAML or INI, see format.ts),
 * then group_vars/ and host_vars/ beside it, and returns the typed Inventory. Any problem is an
 * InventoryError naming the file and line, raised before anything runs.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { InventoryData } from './builder.ts';
import { InventoryError } from './errors.ts';
import { inventoryText } from './utf8-text.ts';
import { detectFormat, type InventoryFormat } from './format.ts';
import { parseIniInventory } from './ini.ts';
import { buildInventory, LOCALHOST_NAMES, type Inventory } from './inventory.ts';
import { loadVarsDirectories } from './vars-dirs.ts';
import { isVaultText, type VaultKeyring } from './vault.ts';
import { decryptFile } from './yaml-file.ts';
import { parseYamlInventory } from './yaml.ts';

/** What `Inventory.file` says when there is no inventory file. */
export const NO_INVENTORY = '(no inventory)';

export interface LoadOptions {
  /** Passwords for Ansible Vault values and files (--vault-password-file, --vault-id, --ask-vault-pass); default none. */
  readonly vault?: VaultKeyring;
}

/**
 * Loads an inventory file with its group_vars/ and host_vars/. Without a path the inventory is empty and
 * only the implicit localhost can be targeted, as with Ansible run without an inventory.
 */
export async function loadInventory(path?: string, options: LoadOptions = {}): Promise<Inventory> {
  if (path === undefined) return inventoryFromText('', NO_INVENTORY, 'ini');
  return (await loadInventoryFile(path, options)).inventory;
}

/**
 * An inventory file with the sha256 of exactly the bytes parsed, for the audit log and saved plans. The
 * file is read once: read again to hash it, a pipe (`-i <(…)`, `-i /dev/stdin`) gives nothing the second
 * time, and the hash of "" was recorded for any inventory given so.
 */
export async function loadInventoryFile(path: string, options: LoadOptions = {}): Promise<{ inventory: Inventory; sha256: string }> {
  const bytes = await readInventoryFile(path);
  const data = parseInventoryData(inventoryText(bytes, path), path, undefined, options.vault);
  const implicit = LOCALHOST_NAMES.filter((name) => !data.hosts.has(name));
  const dirs = await loadVarsDirectories(dirname(path), [...data.groups.keys()], [...data.hosts.keys(), ...implicit], options.vault);
  return { inventory: buildInventory(data, dirs), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** An inventory from text alone, without group_vars/ and host_vars/ (for tests and inline inventories). */
export function inventoryFromText(text: string, file: string, format?: InventoryFormat): Inventory {
  return buildInventory(parseInventoryData(text, file, format), { groupVars: new Map(), hostVars: new Map(), warnings: [] });
}

export function parseInventoryData(text: string, file: string, format: InventoryFormat = detectFormat(file, text), vault: VaultKeyring = []): InventoryData {
  // A whole encrypted file is read as YAML whatever its name (yaml-file.ts decrypts it and makes its strings Secrets).
  if (isVaultText(text)) {
    if (detectFormat('', decryptFile(text, file, vault).reveal()) === 'ini') {
      throw new InventoryError(
        { file },
        'this INI inventory is encrypted as a whole with Ansible Vault, which drover reads only for YAML inventories',
        'Convert it to YAML (ansible-inventory -i FILE --list -y, then ansible-vault encrypt), or keep it in plain text and put the secrets in group_vars/ or host_vars/ files, encrypted.',
      );
    }
    return parseYamlInventory(text, file, vault);
  }
  return format === 'yaml' ? parseYamlInventory(text, file, vault) : parseIniInventory(text, file);
}

async function readInventoryFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    if (code === 'ENOENT') {
      throw new InventoryError({ file: path }, 'the inventory file does not exist', 'Check the path given with -i.', { cause: error });
    }
    if (code === 'EISDIR') {
      throw new InventoryError(
        { file: path },
        'the inventory path is a directory',
        'Pass the inventory file itself; group_vars/ and host_vars/ beside it are read automatically.',
        { cause: error },
      );
    }
    throw new InventoryError({ file: path }, `the inventory file cannot be read (${String(code ?? error)})`, 'Check that the file exists and is readable.', {
      cause: error,
    });
  }
}
