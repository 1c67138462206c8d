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
  // As for a run: a playbook given as the inventory is named as such, not parsed as an INI inventory.
  if (existsSync(resolve(options.inventory))) refuseScriptAsInventory(resolve(options.inventory), options.inventory);
  const inventory = await loadInventory(resolve(options.inventory), { vault: await loadVaultKeyring(options) });
  for (const warning of inventory.warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write(`${extra.list ? inventoryListJson(inventory) : inventoryGraph(inventory)}\n`);
  return 0;
}
