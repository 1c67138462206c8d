/**
 * `status`: the hosts that exist on the machine and whether each one's sshd answers right now.
 */
import { existingHosts, takeSnapshot, wholeHostPid } from './host.ts';
import type { LabPaths } from './paths.ts';
import { sshBanner } from './ssh-probe.ts';

export interface HostStatus {
  name: string;
  address: string;
  /** nspawn PID, when the host is whole. */
  pid?: number;
  /** sshd's identification line, when it answered. */
  ssh?: string;
}

export async function status(paths: LabPaths): Promise<HostStatus[]> {
  const slots = await existingHosts(paths);
  const snapshot = await takeSnapshot(paths);
  return Promise.all(
    slots.map(async (slot) => {
      const pid = wholeHostPid(snapshot, paths, slot);
      const ssh = pid === undefined ? undefined : await sshBanner(slot.address);
      return { name: slot.name, address: slot.address, ...(pid !== undefined ? { pid } : {}), ...(ssh ? { ssh } : {}) };
    }),
  );
}

export function renderStatus(hosts: readonly HostStatus[]): string {
  if (hosts.length === 0) return 'no lab hosts are up (start some with `npm run lab -- up 3`)\n';
  const rows = hosts.map((host) => [
    host.name,
    host.address,
    host.pid === undefined ? 'broken (run up again)' : `pid ${host.pid}`,
    host.ssh ? 'ssh ok' : 'ssh not answering',
  ]);
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell)).join('  ')).join('\n') + '\n';
}
