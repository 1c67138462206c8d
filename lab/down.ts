/**
 * `down`: remove everything the lab made, judged from what exists on the machine (processes whose
 * command line names a host root, processes in a drover- network namespace, mounts under the hosts
 * directory, drover- namespaces and links, the egress rule), not from a state file — so it also cleans
 * up after a crash, and does nothing, successfully, when nothing is up. Hosts are powered off in order
 * (SIGTERM to nspawn), and killed only if that takes more than a few seconds. The cache (root filesystem,
 * repositories) and raised kernel limits (lab/kernel-limits.ts) are kept.
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { removeEgressGuard } from './egress-guard.ts';
import { findLabProcesses, namespaceIds, removeNspawnLeftovers, stopProcesses, unmountAll } from './machine.ts';
import { labNamespaces, removeAllLabNetwork } from './network.ts';
import { LAB_PREFIX, type LabPaths } from './paths.ts';
import { releaseInstance } from './owner.ts';

export interface DownReport {
  /** Lab processes found and stopped (nspawn and everything inside the hosts). */
  stopped: number;
  unmounted: string[];
  network: string[];
  removedDirs: string[];
}

export async function down(paths: LabPaths): Promise<DownReport> {
  const namespaces = await namespaceIds(await labNamespaces(), LAB_PREFIX);
  const processes = await findLabProcesses(paths.hostsDir, namespaces);
  const survivors = await stopProcesses(processes);
  if (survivors.length > 0) {
    throw new Error(
      `lab processes ${survivors.join(' ')} did not die after SIGKILL; inspect them with \`ps -o pid,stat,cmd -p ${survivors.join(',')}\`, then run down again`,
    );
  }
  const unmounted = existsSync(paths.hostsDir) ? await unmountAll(paths.hostsDir) : [];
  for (const host of existsSync(paths.hostsDir) ? await readdir(paths.hostsDir) : []) await removeNspawnLeftovers(host);
  const network = await removeAllLabNetwork();
  if (await removeEgressGuard()) network.push('iptables FORWARD rule drover-lab: no egress');
  const removedDirs: string[] = [];
  for (const dir of [paths.hostsDir, paths.stateDir]) {
    if (existsSync(dir)) {
      await rm(dir, { recursive: true, force: true });
      removedDirs.push(dir);
    }
  }
  await releaseInstance(paths);
  return { stopped: processes.length, unmounted, network, removedDirs };
}
