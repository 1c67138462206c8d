/**
 * Applies the host key policy to the key a host offered: reads the known_hosts files, judges the key
 * (known-hosts.ts), and refuses with a HostKeyError or, under accept-new, records an unknown key.
 *
 * A changed or revoked key is refused under every policy but insecure-ignore (which never gets here):
 * trust on first use means first use only.
 */
import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDirectories } from '../make-directories.ts';
import {
  fingerprint,
  formatKnownHostsLine,
  judgeHostKey,
  keyTypeOf,
  knownHostsName,
  parseKnownHosts,
  recordedKeyTypes,
  type KnownHostEntry,
} from './known-hosts.ts';
import { HostKeyError, type ConnectionSpec } from './transport.ts';

type HostKeySpec = Pick<ConnectionSpec, 'name' | 'address' | 'port' | 'knownHostsFiles' | 'hostKeyPolicy'>;

/** Reads and parses known_hosts files; a missing file is empty (as for OpenSSH), another read error throws. */
export async function readKnownHosts(files: readonly string[]): Promise<KnownHostEntry[]> {
  const entries: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isMissing(error)) continue;
      throw error;
    }
    entries.push(...parseKnownHosts(text, file).entries);
  }
  return entries;
}

/** Key types already recorded for the host, so the handshake can ask for one of them first. */
export async function preferredHostKeyTypes(spec: HostKeySpec): Promise<string[]> {
  if (spec.hostKeyPolicy === 'insecure-ignore') return [];
  return recordedKeyTypes(await readKnownHosts(spec.knownHostsFiles), knownHostsName(spec.address, spec.port));
}

/**
 * Resolves when the key may be trusted (recording it first under accept-new); rejects with a
 * HostKeyError naming the host, the fingerprint and what to do otherwise.
 */
export async function checkHostKey(spec: HostKeySpec, key: Buffer): Promise<void> {
  if (spec.hostKeyPolicy === 'insecure-ignore') return;
  const name = knownHostsName(spec.address, spec.port);
  const where = `${spec.name} (${spec.address}:${spec.port})`;
  const offered = `${keyTypeOf(key) ?? 'unknown-type'} key ${fingerprint(key)}`;
  const files = spec.knownHostsFiles;
  const verdict = judgeHostKey(await readKnownHosts(files), name, key);

  switch (verdict.kind) {
    case 'known':
      return;
    case 'revoked':
      throw new HostKeyError(
        spec.name,
        `${where} offered the ${offered}, which ${verdict.entry.file}:${verdict.entry.line} marks @revoked`,
        'this key must not be trusted: give the host a new key, then record it',
        fingerprint(key),
      );
    case 'changed': {
      const first = verdict.recorded[0] as KnownHostEntry;
      const was = verdict.recorded.map((entry) => `${fingerprint(entry.key)} (${entry.file}:${entry.line})`).join(', ');
      throw new HostKeyError(
        spec.name,
        `the host key of ${where} CHANGED: it offered the ${offered}, but known_hosts records ${was}. ` +
          'Someone may be intercepting the connection, or the host was reinstalled',
        `if the change is expected, remove the old entry with \`ssh-keygen -R '${name}' -f ${first.file}\`, ` +
          'then connect again with --accept-new-host-keys (or add the new key yourself)',
        fingerprint(key),
      );
    }
    case 'unknown':
      if (spec.hostKeyPolicy === 'accept-new') {
        const file = files[0];
        if (!file) throw new HostKeyError(spec.name, `${where}: no known_hosts file to record the ${offered} in`, 'give a known_hosts file', fingerprint(key));
        await recordHostKey(file, name, key);
        return;
      }
      throw new HostKeyError(
        spec.name,
        `the host key of ${where} is not known: it offered the ${offered}, and no entry for ${name} in ` +
          `${files.join(', ') || '(no known_hosts file)'} has it` +
          (verdict.otherTypes.length > 0 ? ` (only keys of other types: ${verdict.otherTypes.join(', ')})` : ''),
        `if that fingerprint is the host's (check with \`ssh-keygen -lf /etc/ssh/ssh_host_${shortType(key)}_key.pub\` on it), ` +
          `run again with --accept-new-host-keys to record it, or add it with \`ssh-keyscan -p ${spec.port} ${spec.address} >> ${files[0] ?? '~/.ssh/known_hosts'}\``,
        fingerprint(key),
      );
  }
}

function shortType(key: Buffer): string {
  const type = keyTypeOf(key) ?? '';
  if (type === 'ssh-ed25519') return 'ed25519';
  if (type.startsWith('ecdsa-')) return 'ecdsa';
  return 'rsa';
}

/** Per file, the tail of a promise chain: appends from many hosts connecting at once run one by one. */
const appendQueues = new Map<string, Promise<void>>();

/**
 * Appends `name type key` to a known_hosts file, creating it 0600 (and its directory 0700) if needed.
 * Appends are serialized in this process and each is one O_APPEND write, so concurrent connections (and
 * another process appending at the same time) never interleave lines; an entry already present (another
 * connection to the same jump host recorded it a moment ago) is not written twice.
 */
export function recordHostKey(file: string, name: string, key: Buffer): Promise<void> {
  const previous = appendQueues.get(file) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => appendIfAbsent(file, name, key));
  appendQueues.set(file, next);
  return next;
}

async function appendIfAbsent(file: string, name: string, key: Buffer): Promise<void> {
  makeDirectories(dirname(file), 0o700);
  let existing = '';
  try {
    existing = await readFile(file, 'utf8');
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  const already = parseKnownHosts(existing, file).entries.some(
    (entry) => entry.marker === undefined && entry.key.equals(key) && judgeHostKey([entry], name, key).kind === 'known',
  );
  if (already) return;
  const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.write(`${separator}${formatKnownHostsLine(name, key)}\n`);
  } finally {
    await handle.close();
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}
