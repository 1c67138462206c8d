/** `inventory -i FILE --list | --graph`: the inventory as drover reads it. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { inventoryGraph, inventoryListJson, loadInventory } from '../../inventory/index.ts';
import { refuseScriptAsInventory } from './argument-roles.ts';
import { parseCommonOptions, UsageError } from './options.ts';
import { loadVaultKeyring } from './vault-passwords.ts';

export const INVENTORY_HELP = `Usage: tsx run inventory -i INVENTORY (--list | --graph)

  --list    every host with its merged variables, as JSON (the shape of ansible-inventory --list); secrets masked
  --graph   the group tree

  --vault-password-file FILE, --vault-id [LABEL@]SOURCE, --ask-vault-pass
            passwords for Ansible Vault values and files (decrypted values are shown masked)`;

export async function inventoryCommand(argv: string[]): Promise<number> {
  const { options, positionals, extra } = parseCommonOptions(argv, { list: { type: 'boolean' }, graph: { type: 'boolean' } });
  if (options.help) {
    process.stdout.write(`${INVENTORY_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected ${positionals.join(' ')} (see inventory --help)`);
  if (!options.inventory) throw new UsageError('inventory needs -i FILE');
  if (Boolean(extra.list) === Boolean(extra.graph)) throw new UsageError('give exactly one of --list or --graph');
  if (options.limit) throw new UsageError('--limit does not apply to inventory --list/--graph: they show the whole inventory');
  // The common options parse here too (the vault's), but a run's (--check, --tags, --shard, --json…) were
  // accepted and did nothing.
  const unused = runOptionsGiven(argv);
  if (unused.length > 0)
    throw new UsageError(`${unused.join(', ')} ${unused.length === 1 ? 'does' : 'do'} not apply to inventory --list/--graph (see inventory --help)`);
  // As for a run: a playbook given as the inventory is named as such, not parsed as an INI inventory.
  if (existsSync(resolve(options.inventory))) refuseScriptAsInventory(resolve(options.inventory), options.inventory);
  const inventory = await loadInventory(resolve(options.inventory), { vault: await loadVaultKeyring(options) });
  for (const warning of inventory.warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write(`${extra.list ? inventoryListJson(inventory) : inventoryGraph(inventory)}\n`);
  return 0;
}

/** The options of inventory --list/--graph; those taking a value are followed by it unless written with it. */
const INVENTORY_OPTIONS = new Set(['-i', '--inventory', '--list', '--graph', '--vault-password-file', '--vault-id', '--ask-vault-pass', '-h', '--help']);
const TAKES_VALUE = new Set(['-i', '--inventory', '--vault-password-file', '--vault-id']);

export function runOptionsGiven(argv: readonly string[]): string[] {
  const given: string[] = [];
  for (let at = 0; at < argv.length; at++) {
    const word = argv[at]!;
    if (!word.startsWith('-') || word === '-') continue;
    if (word === '--') break;
    // `--name=value`, and a short option with its value attached (`-iinventory.yaml`, as parseArgs reads it).
    const inline = word.startsWith('--') ? word.includes('=') : word.length > 2;
    const name = !inline ? word : word.startsWith('--') ? word.slice(0, word.indexOf('=')) : word.slice(0, 2);
    if (!INVENTORY_OPTIONS.has(name)) given.push(name);
    else if (TAKES_VALUE.has(name) && !inline) at++;
  }
  return [...new Set(given)];
}
