/**
 * The known_hosts format, as OpenSSH reads it (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): pure parsing,
 * matching and formatting; reading files and applying a policy is host-key-policy.ts.
 *
 * - A line is `[@marker] hostnames keytype base64-key [comment]`; blank lines and `#` lines are skipped,
 *   and so is a line that cannot be parsed (OpenSSH skips those too), with a note kept for messages.
 * - hostnames is a comma list of patterns (`*`, `?`, `!negation`), names with a port are written
 *   `[host]:port`, or it is one hashed name `|1|base64-salt|base64-hmac` where the HMAC-SHA1 of the
 *   name, keyed by the salt, is the hash (ssh-keygen -H).
 * - `@revoked` refuses that key for the matching hosts. `@cert-authority` lines are ignored: drover's SSH
 *   library does not negotiate host certificates, so a CA line can never vouch for a host; a host known
 *   only through a CA is therefore "unknown" to drover.
 *
 * The name looked up is the address drover connects to (OpenSSH uses the HostName after ~/.ssh/config,
 * not the alias), lowercased, written `[address]:port` when the port is not 22 — exactly the name
 * `ssh -p PORT ADDRESS` would record. OpenSSH's CheckHostIP (off by default since 8.5) is not done.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { matchPatternList } from './host-pattern.ts';

export interface KnownHostEntry {
  /** The file and 1-based line the entry came from, for messages and `ssh-keygen -R`. */
  file: string;
  line: number;
  marker?: 'revoked' | 'cert-authority';
  hosts: { kind: 'patterns'; patterns: string[] } | { kind: 'hashed'; salt: Buffer; hash: Buffer };
  /** The key type named on the line (`ssh-ed25519`, `ssh-rsa`, …). */
  keyType: string;
  /** The public key blob, as the server sends it. */
  key: Buffer;
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[];
  /** Lines skipped as malformed, as `file:line: reason`. */
  skipped: string[];
}

/** Parses one known_hosts file's text. Never throws: bad lines are skipped and reported, like OpenSSH. */
export function parseKnownHosts(text: string, file: string): ParsedKnownHosts {
  const entries: KnownHostEntry[] = [];
  const skipped: string[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const parsed = parseLine(line, file, index + 1);
    if (typeof parsed === 'string') skipped.push(`${file}:${index + 1}: ${parsed}`);
    else entries.push(parsed);
  });
  return { entries, skipped };
}

function parseLine(line: string, file: string, lineNumber: number): KnownHostEntry | string {
  const fields = line.split(/\s+/);
  let marker: KnownHostEntry['marker'];
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift();
    if (name === '@revoked') marker = 'revoked';
    else if (name === '@cert-authority') marker = 'cert-authority';
    else return `unknown marker ${name}`;
  }
  const [hostField, keyType, keyBase64] = fields;
  if (!hostField || !keyType || !keyBase64) return 'expected "hostnames key-type base64-key"';
  if (/^\d+$/.test(keyType)) return 'SSH protocol 1 (RSA1) keys are not supported';
  const key = decodeBase64(keyBase64);
  if (!key) return 'the key is not valid base64';
  const blobType = keyTypeOf(key);
  if (blobType !== keyType) return `the key says it is ${blobType ?? 'unreadable'}, the line says ${keyType}`;
  const hosts = parseHosts(hostField);
  if (typeof hosts === 'string') return hosts;
  return { file, line: lineNumber, ...(marker ? { marker } : {}), hosts, keyType, key };
}

function parseHosts(field: string): KnownHostEntry['hosts'] | string {
  if (!field.startsWith('|')) return { kind: 'patterns', patterns: field.split(',').filter((p) => p !== '') };
  const parts = field.split('|');
  // '|1|salt|hash' splits into ['', '1', salt, hash].
  if (parts.length !== 4 || parts[1] !== '1') return 'unknown hashed host name format (expected |1|salt|hash)';
  const salt = decodeBase64(parts[2] ?? '');
  const hash = decodeBase64(parts[3] ?? '');
  if (!salt || !hash || hash.length !== 20) return 'hashed host name is not valid base64 of a SHA-1 HMAC';
  return { kind: 'hashed', salt, hash };
}

function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length > 0 ? decoded : undefined;
}

/** The name OpenSSH records and looks up for an address and port: `host`, or `[host]:port` off port 22. */
export function knownHostsName(address: string, port: number): string {
  const host = address.toLowerCase();
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Whether an entry applies to a looked-up name (from `knownHostsName`). */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.hosts.kind === 'hashed') {
    const digest = createHmac('sha1', entry.hosts.salt).update(name).digest();
    return timingSafeEqual(digest, entry.hosts.hash);
  }
  return matchPatternList(entry.hosts.patterns, name) === 'match';
}

/** The key type inside an SSH public key blob (its first string), or undefined if the blob is malformed. */
export function keyTypeOf(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the blob's SHA-256 (as `ssh-keygen -lf`). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * What known_hosts says about a key a host offered, in OpenSSH's order: a matching `@revoked` line wins;
 * then the same key recorded for the host; then a different key of the same type ("changed"); otherwise
 * the key is unknown — also when keys of other types are recorded (OpenSSH treats that as new, too).
 */
export type HostKeyVerdict =
  | { kind: 'known'; entry: KnownHostEntry }
  | { kind: 'revoked'; entry: KnownHostEntry }
  | { kind: 'changed'; recorded: KnownHostEntry[] }
  | { kind: 'unknown'; otherTypes: string[] };

export function judgeHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const forHost = entries.filter((entry) => entry.marker !== 'cert-authority' && entryMatches(entry, name));
  const revoked = forHost.find((entry) => entry.marker === 'revoked' && entry.key.equals(key));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const plain = forHost.filter((entry) => entry.marker === undefined);
  const same = plain.find((entry) => entry.key.equals(key));
  if (same) return { kind: 'known', entry: same };
  const type = keyTypeOf(key);
  const sameType = plain.filter((entry) => entry.keyType === type);
  if (sameType.length > 0) return { kind: 'changed', recorded: sameType };
  return { kind: 'unknown', otherTypes: [...new Set(plain.map((entry) => entry.keyType))] };
}

/** Key types recorded (unrevoked, unmarked) for a name: the connection prefers these, as OpenSSH does. */
export function recordedKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  const types = entries.filter((entry) => entry.marker === undefined && entryMatches(entry, name)).map((entry) => entry.keyType);
  return [...new Set(types)];
}

/** One known_hosts line for a name and key, unhashed (what `--accept-new-host-keys` appends). */
export function formatKnownHostsLine(name: string, key: Buffer): string {
  const type = keyTypeOf(key);
  if (!type) throw new Error('cannot record a malformed host key blob');
  return `${name} ${type} ${key.toString('base64')}`;
}
