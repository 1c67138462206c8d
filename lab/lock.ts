/**
 * One lab per machine, changed by one process at a time: several test runs (or a developer and a test
 * run) may call `up`/`down` at once, and two `up`s creating the same host would fight over its namespace.
 * The lock is a file created exclusively, holding the owner's PID; a lock whose owner is dead is stale and
 * taken over, so a crashed `up` never blocks the next one.
 */
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function withLabLock<T>(lockFile: string, work: () => Promise<T>, timeoutMs = 600_000, onWait?: (owner: number) => void): Promise<T> {
  await mkdir(dirname(lockFile), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      // An empty file is a lock being taken right now (created, PID not yet written): not stale.
      const justCreated =
        owner === 0 &&
        Date.now() -
          (await stat(lockFile).then(
            (info) => info.mtimeMs,
            () => 0,
          )) <
          5_000;
      if (!justCreated && !ownerAlive(owner)) {
        await rm(lockFile, { force: true });
        continue;
      }
      if (!announced && onWait && owner > 0) onWait(owner);
      announced = true;
      if (Date.now() > deadline)
        throw new Error(`the lab is busy: process ${owner} holds ${lockFile}; wait for it, or remove the file if that process is not a lab command`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lockFile, { force: true });
  }
}

function ownerAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user (PID 1 seen by a non-root operator).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
