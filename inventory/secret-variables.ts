/**
 * Variables whose string values are passwords. They become Secrets the moment they are read, so a password
 * from the inventory is masked in `inventory --list`, the audit log, templates' error messages and
 * everything else that renders variables; only the transport reveals it.
 */
import { Secret } from '../runner/secret.ts';
import type { InventoryValue } from './values.ts';

/** Ansible's password variables and drover's own shorter names for them. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'ansible_password',
  'ansible_ssh_pass',
  'ansible_ssh_password',
  'ansible_become_password',
  'ansible_become_pass',
  'ansible_sudo_pass',
  'ssh_password',
  'ssh_key_passphrase',
  'become_password',
]);

export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLES.has(name);
}

/** Wraps a password variable's string (or number, as INI typing may produce) as a Secret labelled with its name. */
export function protectVariable(name: string, value: InventoryValue): InventoryValue {
  if (!isSecretVariable(name)) return value;
  if (typeof value === 'string') return new Secret(value, name);
  if (typeof value === 'number') return new Secret(String(value), name);
  return value;
}
