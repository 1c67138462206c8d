/**
 * SSH trust for the lab. The client key is the lab's own (in .lab/, made on the first `up`). Each host's
 * host key is generated on the controller before the host boots and read back from its file, so
 * known_hosts is built from what we wrote rather than from what answered on the network (ssh-keyscan
 * would trust whatever replies first).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from './exec.ts';

export async function ensureKeyPair(keyFile: string): Promise<string> {
  if (!existsSync(keyFile)) {
    await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'drover-lab', '-f', keyFile]);
  }
  return (await readFile(`${keyFile}.pub`, 'utf8')).trim();
}

export const HOST_KEY = '/etc/ssh/ssh_host_ed25519_key';

/** Generates a host's ed25519 host key inside its root unless it has one. */
export async function ensureHostKey(root: string, hostName: string): Promise<void> {
  const file = join(root, HOST_KEY);
  if (!existsSync(file)) await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `root@${hostName}`, '-f', file]);
}

/** The host's public key as "type base64", without the comment. */
export async function readHostPublicKey(root: string): Promise<string> {
  const text = await readFile(join(root, `${HOST_KEY}.pub`), 'utf8');
  return parsePublicKey(text);
}

export function parsePublicKey(text: string): string {
  const [type, key] = text.trim().split(/\s+/);
  if (!type || !key || !/^ssh-|^ecdsa-/.test(type)) throw new Error(`not an OpenSSH public key: ${JSON.stringify(text.slice(0, 80))}`);
  return `${type} ${key}`;
}

/** known_hosts lines, keyed by the address the inventory connects to. */
export function renderKnownHosts(hosts: ReadonlyArray<{ address: string; hostKey: string }>): string {
  return hosts.map((host) => `${host.address} ${host.hostKey}\n`).join('');
}
