/**
 * Keeps the cache to what the running lab uses: a root filesystem is ~400 MB, so the builds of older
 * recipes are removed once every host runs on the current ones (at the end of a successful `up`).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const BUILT = /^(rootfs|apt-repo|rpm-repo)-[0-9a-f]{16}(\.building-\d+)?$/;

export async function pruneCache(cacheDir: string, keep: readonly string[], log: (line: string) => void): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    const path = join(cacheDir, entry);
    const building = /\.building-(\d+)$/.exec(entry);
    // A build in progress in another process is not ours to remove.
    if (!BUILT.test(entry) || keep.includes(path) || (building && processAlive(Number(building[1])))) continue;
    log(`removing an outdated lab cache entry: ${path}`);
    await rm(path, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
