/**
 * Arguments in the wrong place: `run inv.yaml -i site.ts` used to parse the playbook as an INI inventory
 * ("word 2 on the line of host 'import'") before saying anything about the swap. A playbook is a
 * TypeScript (or JavaScript) module that default-exports; an inventory is YAML or INI. Each is recognised
 * by its extension, or, without a telling one, by its first bytes, and refused where the other belongs.
 *
 * @example
 *   refuseScriptAsInventory('/srv/site.ts', '-i site.ts');   // UsageError: … is a playbook …, not an inventory
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { UsageError } from './options.ts';

const SCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx']);
const DATA_EXTENSIONS = new Set(['.yaml', '.yml', '.ini', '.cfg', '.json', '.toml', '.txt', '.conf']);

/** `import … from '…'` or `export default` at the start of a line: a module, never an inventory line. */
const MODULE_LINE = /^\s*(?:import\b[^\n]*\bfrom\s*['"]|import\s*['"]|export\s+(?:default|const|function|\{))/m;

const ORDER = 'the playbook comes first and the inventory after -i: `tsx run PLAYBOOK.ts -i INVENTORY`';

/** Refuses an inventory (-i) that is a playbook or another script. */
export function refuseScriptAsInventory(path: string, given: string): void {
  const extension = extname(path).toLowerCase();
  if (SCRIPT_EXTENSIONS.has(extension) || (!DATA_EXTENSIONS.has(extension) && MODULE_LINE.test(head(path)))) {
    throw new UsageError(`-i ${given}: ${path} is a TypeScript or JavaScript module (a playbook?), not an inventory; ${ORDER}`);
  }
}

/** Refuses a playbook that is an inventory or another data file. */
export function refuseDataAsPlaybook(path: string): void {
  const extension = extname(path).toLowerCase();
  if (SCRIPT_EXTENSIONS.has(extension)) return;
  if (DATA_EXTENSIONS.has(extension) || !MODULE_LINE.test(head(path))) {
    throw new UsageError(
      `${path} is not a playbook: a playbook is a TypeScript module that default-exports book.playbook([...])${
        DATA_EXTENSIONS.has(extension) || extension === '' ? ' (this looks like an inventory or a data file)' : ''
      }; ${ORDER}`,
    );
  }
}

/** The file's first 64 KiB as text: enough to tell a module from an inventory, without reading a big file whole. */
function head(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    // Unreadable: the caller's own read reports it with its own words.
    return '';
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}
