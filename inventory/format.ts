/**
 * Which parser reads a file. By extension first (.yaml/.yml/.json are YAML, .ini/.cfg/.hosts/.txt INI);
 * otherwise by content, since many inventories are called just `hosts` or `inventory`: a first meaningful
 * line that is `---`, a `name:` mapping key or a `{` is YAML, anything else (a `[group]` header, a host
 * name, `host key=value`) is INI.
 */
import { extname } from 'node:path';

export type InventoryFormat = 'yaml' | 'ini';

const YAML_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const INI_EXTENSIONS = new Set(['.ini', '.cfg', '.hosts', '.txt']);

export function detectFormat(path: string, text: string): InventoryFormat {
  const extension = extname(path).toLowerCase();
  if (YAML_EXTENSIONS.has(extension)) return 'yaml';
  if (INI_EXTENSIONS.has(extension)) return 'ini';
  const first = text
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .find((line) => line !== '' && !line.startsWith('#') && !line.startsWith(';'));
  if (first === undefined) return 'ini';
  if (first === '---' || first.startsWith('{') || first.startsWith('%YAML')) return 'yaml';
  // `all:` or `"web":` with nothing or a space after the colon; `web1:2222` (host:port) has neither.
  return /^(?:[^\s=[\]'"#]+|'[^']*'|"[^"]*"):(?:\s|$)/.test(first) ? 'yaml' : 'ini';
}
