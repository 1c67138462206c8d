/**
 * Variables whose string values are passwords. They become Secrets the moment they are read, so a password
 * from the inventory is masked in `inventory --list`, the audit log, templates' error messages and
 * everything else that renders variables; only the transport reveals it.
 */
import { Secret } from '../runner/secret.ts';
import { isRecord, recordFrom, type InventoryValue } from './values.ts';

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

/**
 * Wraps a password variable's value as Secrets labelled with its name, whatever its type: a string, number
 * or boolean becomes one Secret; in a list or mapping every such leaf does, so `inventory --list` shows
 * the shape (a list of two masks) and never a value, and the connection settings still refuse a list as a
 * password by its kind. Inside any mapping, a key that is itself a password variable is protected the same
 * way (`creds: { ansible_password: … }`).
 */
export function protectVariable(name: string, value: InventoryValue): InventoryValue {
  if (isSecretVariable(name)) return protectAll(value, name);
  return protectNested(value);
}

function protectAll(value: InventoryValue, label: string): InventoryValue {
  if (value === null || value instanceof Secret) return value;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return new Secret(String(value), label);
  if (Array.isArray(value)) return value.map((item: InventoryValue) => protectAll(item, label));
  if (isRecord(value)) return recordFrom(Object.entries(value).map(([key, item]) => [key, protectAll(item as InventoryValue, label)] as const));
  return value;
}

function protectNested(value: InventoryValue): InventoryValue {
  if (Array.isArray(value)) return value.some(holdsMapping) ? value.map((item: InventoryValue) => protectNested(item)) : value;
  if (isRecord(value)) return recordFrom(Object.entries(value).map(([key, item]) => [key, protectVariable(key, item as InventoryValue)] as const));
  return value;
}

function holdsMapping(value: InventoryValue): boolean {
  return isRecord(value) || (Array.isArray(value) && value.some(holdsMapping));
}
