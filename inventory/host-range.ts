/**
 * Host entries as Ansible writes them in both inventory formats: `name`, `name:port`, `[v6::addr]:port`, and
 * ranges — `node[01:20]` (zero-padded), `node[1:9:2]` (step), `web[a:c]` (letters, a..zA..Z), several per
 * name (`rack[1:2]-node[1:3]`).
 *
 * Unlike Ansible, a range whose begin is after its end is an error rather than zero hosts, and a `:` that is
 * neither a port nor part of an IPv6 address is an error rather than part of the host name.
 */
import { codePointName, printable, UNPRINTABLE } from '../runner/printable.ts';
import { isIPv6 } from 'node:net';
import { InventoryError, type Where } from './errors.ts';

export interface HostEntry {
  /** The host names after range expansion, in order. */
  readonly names: readonly string[];
  /** The port after `:`, which Ansible turns into `ansible_port`. */
  readonly port?: number;
}

/** Keeps a typo like `node[1:100000000]` from exhausting memory. */
export const MAX_RANGE_HOSTS = 100_000;

const ASCII_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Splits an inventory host entry into names and port. */
export function parseHostEntry(text: string, where: Where): HostEntry {
  const entry = text.trim();
  if (entry === '') throw new InventoryError(where, 'empty host name', 'Remove the empty entry or write a host name.');
  if (entry === '---') {
    throw new InventoryError(
      where,
      "host name '---' looks like the start of a YAML document",
      'Give a YAML inventory a .yaml or .yml extension so it is read as YAML.',
    );
  }
  refuseControlCharacters(entry, where);
  let host = entry;
  let portText: string | undefined;
  const bracketed = /^\[(.+)\]:(\d+)$/.exec(entry);
  const hostPort = /^((?:[^:[\]]|\[[^\]]*\])*):(\d+)$/.exec(entry);
  if (bracketed && isIPv6(bracketed[1] ?? '')) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (hostPort) {
    host = hostPort[1] ?? '';
    portText = hostPort[2];
  } else if (hasColonOutsideBrackets(entry) && !isIPv6(entry)) {
    throw new InventoryError(
      where,
      `host entry '${entry}' has a ':' that is not followed by a port number`,
      'Write host:PORT with a numeric port, or set ansible_port as a variable.',
    );
  }
  if (host === '') throw new InventoryError(where, `host entry '${entry}' has a port but no host name`, 'Write name:PORT.');
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InventoryError(where, `port ${portText} of host entry '${entry}' is outside 1-65535`, 'Use a valid TCP port.');
    }
  }
  const names = host.includes('[') ? expandHostRange(host, where) : [host];
  return port === undefined ? { names } : { names, port };
}

/**
 * A host name is printed in every progress line, recap, log and audit record: a newline in it splits the
 * recap, an ESC repaints the terminal. No real host has such a name, so the inventory refuses it.
 */
function refuseControlCharacters(entry: string, where: Where): void {
  const found = UNPRINTABLE.exec(entry);
  if (!found) return;
  throw new InventoryError(
    where,
    `host name "${printable(entry)}" holds the control character ${codePointName(found[0])} at position ${found.index + 1}`,
    'Host names may not contain control characters (newline, carriage return, ESC, …): rename the host, and set its address with ansible_host.',
  );
}

/** Expands every `[begin:end(:step)]` in a host name, left to right. */
export function expandHostRange(pattern: string, where: Where): string[] {
  const open = pattern.indexOf('[');
  if (open < 0) return [pattern];
  const close = pattern.indexOf(']', open);
  if (close < 0) {
    throw new InventoryError(where, `host range in '${pattern}' has a '[' without a closing ']'`, 'Write ranges as name[01:20] or name[a:f].');
  }
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const sequence = rangeSequence(pattern.slice(open + 1, close), pattern, where);
  const out: string[] = [];
  for (const item of sequence) {
    for (const name of expandHostRange(`${head}${item}${tail}`, where)) {
      out.push(name);
      if (out.length > MAX_RANGE_HOSTS) {
        throw new InventoryError(where, `host range '${pattern}' expands to more than ${MAX_RANGE_HOSTS} hosts`, 'Check the bounds of the range.');
      }
    }
  }
  return out;
}

function rangeSequence(inner: string, pattern: string, where: Where): string[] {
  const fail = (problem: string): never => {
    throw new InventoryError(where, `host range '${pattern}': ${problem}`, 'Write ranges as [begin:end] or [begin:end:step], e.g. node[01:20] or web[a:c].');
  };
  const bounds = inner.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) fail('must be begin:end or begin:end:step');
  const begin = bounds[0] === '' ? '0' : (bounds[0] ?? '0');
  const end = bounds[1] ?? '';
  if (end === '') fail('must give an end value');
  const stepText = bounds[2] ?? '1';
  if (!/^\d+$/.test(stepText) || Number(stepText) < 1) fail(`step '${stepText}' must be a whole number of at least 1`);
  const step = Number(stepText);

  const letterBegin = begin.length === 1 ? ASCII_LETTERS.indexOf(begin) : -1;
  const letterEnd = end.length === 1 ? ASCII_LETTERS.indexOf(end) : -1;
  if (letterBegin >= 0 && letterEnd >= 0) {
    if (letterBegin > letterEnd) fail(`begin '${begin}' comes after end '${end}'`);
    const letters: string[] = [];
    for (let i = letterBegin; i <= letterEnd; i += step) letters.push(ASCII_LETTERS.charAt(i));
    return letters;
  }
  if (!/^\d+$/.test(begin) || !/^\d+$/.test(end)) fail('bounds must both be numbers or both be single letters');
  const padded = begin.startsWith('0') && begin.length > 1;
  if (padded && begin.length !== end.length) {
    fail(`zero-padded begin '${begin}' and end '${end}' must have the same number of digits`);
  }
  const first = Number(begin);
  const last = Number(end);
  if (first > last) fail(`begin ${begin} is greater than end ${end}`);
  if ((last - first) / step > MAX_RANGE_HOSTS) fail(`expands to more than ${MAX_RANGE_HOSTS} hosts`);
  const numbers: string[] = [];
  for (let i = first; i <= last; i += step) numbers.push(padded ? String(i).padStart(begin.length, '0') : String(i));
  return numbers;
}

function hasColonOutsideBrackets(text: string): boolean {
  let depth = 0;
  for (const char of text) {
    if (char === '[') depth++;
    else if (char === ']') depth = Math.max(0, depth - 1);
    else if (char === ':' && depth === 0) return true;
  }
  return false;
}
