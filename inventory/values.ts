/**
 * The values an inventory variable can hold: what YAML and Ansible's INI typing can produce, plus Secret for
 * the password variables (see secret-variables.ts). Parsed input is `unknown` until narrowed into this type.
 */
import { Secret } from '../runner/secret.ts';

export type InventoryValue = string | number | boolean | null | Secret | readonly InventoryValue[] | { readonly [key: string]: InventoryValue };

/** A host's or group's variables. Frozen, so a playbook cannot change what another host sees. */
export type InventoryVars = Readonly<Record<string, InventoryValue>>;

export function isRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Names a value's kind for messages ("a list", "a number"), never the value itself, which may be secret. */
export function describeKind(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Secret) return 'a secret';
  if (isRecord(value)) return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  if (value instanceof Date) return 'a timestamp';
  if (value instanceof Uint8Array) return 'binary data';
  if (value instanceof Set) return 'a set';
  if (value instanceof Map) return 'an ordered map';
  return `a ${typeof value}`;
}

/** Freezes a value and everything in it (Secrets are immutable already). */
export function deepFreeze<T extends InventoryValue>(value: T): T {
  if (Array.isArray(value)) {
    for (const item of value) deepFreeze(item);
    Object.freeze(value);
  } else if (isRecord(value)) {
    for (const item of Object.values(value)) deepFreeze(item as InventoryValue);
    Object.freeze(value);
  }
  return value;
}

/** Builds a record from entries without the `__proto__` assignment trap of `obj[key] = value`. */
export function recordFrom(entries: Iterable<readonly [string, InventoryValue]>): Record<string, InventoryValue> {
  return Object.fromEntries(entries);
}
