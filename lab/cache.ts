/**
 * Keeps the cache to what the running labs use: a root filesystem is ~400 MB, so the builds of older
 * recipes are removed once every host runs on the current ones (at the end of a successful `up`). Every
 * lab instance on the machine shares the cache, so an entry that any running host still uses (another
 * checkout's lab may run an older or newer recipe) is kept.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const BUILT = /^(rootfs|apt-repo|rpm-repo|k8s-repo)-[0-9a-f]{16}(\.building-\d+)?$/;

export async function pruneCache(cacheDir: string, keep: readonly string[], log: (line: string) => void): Promise<void> {
  const inUse = await pathsInUse();
  for (const entry of await readdir(cacheDir)) {
    const path = join(cacheDir, entry);
    const building = /\.building-(\d+)$/.exec(entry);
    // A build in progress in another process is not ours to remove, nor what another lab's hosts run on.
    if (!BUILT.test(entry) || keep.includes(path) || (building && processAlive(Number(building[1]))) || inUse.some((used) => used.includes(path))) continue;
    log(`removing an outdated lab cache entry: ${path}`);
    await rm(path, { recursive: true, force: true });
  }
}

/**
 * What running lab hosts use from the cache, as text to search: every overlay's options (the root
 * filesystem is its lower layer) and every systemd-nspawn command line (the repositories are bound in).
 */
async function pathsInUse(): Promise<string[]> {
  const used = [await readFile('/proc/self/mountinfo', 'utf8')];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.startsWith('systemd-nspawn') || cmdline.includes('/systemd-nspawn\0')) used.push(cmdline);
    } catch {
      // The process ended while we looked.
    }
  }
  return used;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
