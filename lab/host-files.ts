/**
 * What makes a host itself, written into its overlay before it boots: hostname, machine id, host key,
 * and the lab key as an authorized key for root and ops. Writes go through the mounted overlay, so
 * overlayfs copies directories up with their real owners and modes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureHostKey } from './keys.ts';
import { OPS_USER } from './recipe.ts';

export function renderEtcHosts(hostName: string): string {
  return `127.0.0.1\tlocalhost\n127.0.1.1\t${hostName}\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n`;
}

export async function writeIdentity(root: string, hostName: string): Promise<void> {
  await writeFile(join(root, 'etc/hostname'), `${hostName}\n`);
  await writeFile(join(root, 'etc/hosts'), renderEtcHosts(hostName));
  const machineId = join(root, 'etc/machine-id');
  if ((await readFile(machineId, 'utf8')).trim() === '') {
    await writeFile(machineId, `${randomBytes(16).toString('hex')}\n`);
  }
  await ensureHostKey(root, hostName);
}

/** Installs the lab's public key for root and ops (rewritten on every `up`, in case .lab/ was deleted). */
export async function writeAuthorizedKeys(root: string, publicKey: string): Promise<void> {
  await installKey(join(root, 'root'), publicKey, 0, 0);
  const ops = await userIds(root, OPS_USER);
  await installKey(join(root, 'home', OPS_USER), publicKey, ops.uid, ops.gid);
}

async function installKey(home: string, publicKey: string, uid: number, gid: number): Promise<void> {
  const sshDir = join(home, '.ssh');
  if (!existsSync(sshDir)) await mkdir(sshDir, { mode: 0o700 });
  await chown(sshDir, uid, gid);
  await chmod(sshDir, 0o700);
  const file = join(sshDir, 'authorized_keys');
  await writeFile(file, `${publicKey}\n`, { mode: 0o600 });
  await chown(file, uid, gid);
}

/** A user's uid and gid from the host's own /etc/passwd (not the controller's). */
async function userIds(root: string, user: string): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
  const fields = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((entry) => entry[0] === user);
  if (!fields || fields.length < 4)
    throw new Error(`user ${user} is missing from ${root}/etc/passwd: the root filesystem is incomplete; delete it from the cache and run up again`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}
