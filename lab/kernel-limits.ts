/**
 * Machine-wide kernel limits that many hosts share. All hosts run as the controller's root user in one
 * user namespace, so per-user limits are shared: each host's systemd, journald, logind and dbus take
 * inotify instances, and the default of 128 stops the ~25th host with "Failed to allocate manager
 * object: Too many open files". `up` raises such limits (never lowers them) and says so.
 */
import { readFile, writeFile } from 'node:fs/promises';

export interface KernelLimit {
  /** Path under /proc/sys. */
  key: string;
  minimum: number;
}

/** The limits `count` hosts need, with room for the controller's own use. */
export function requiredLimits(count: number): KernelLimit[] {
  return [
    { key: 'fs/inotify/max_user_instances', minimum: 128 + 16 * count },
    { key: 'fs/inotify/max_user_watches', minimum: 65_536 + 4_096 * count },
  ];
}

export async function raiseKernelLimits(count: number, log: (line: string) => void): Promise<void> {
  for (const limit of requiredLimits(count)) {
    const file = `/proc/sys/${limit.key}`;
    const current = Number((await readFile(file, 'utf8')).trim());
    if (current >= limit.minimum) continue;
    await writeFile(file, `${limit.minimum}\n`);
    log(`raised ${limit.key.replace(/\//g, '.')} from ${current} to ${limit.minimum} for ${count} hosts (machine-wide; not lowered by down)`);
  }
}
