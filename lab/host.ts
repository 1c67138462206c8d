/**
 * One host's whole life on the controller: create (network, overlay, identity, boot), check, remove.
 * Removal works from names alone, so it also clears what a crashed `up` left half made.
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hostSlot, indexOfName, type HostSlot } from './addressing.ts';
import { writeAuthorizedKeys, writeIdentity } from './host-files.ts';
import { installBuiltinModules } from './kernel-modules.ts';
import {
  boot,
  findLabProcesses,
  isAlive,
  mountRoot,
  mountsUnder,
  namespaceIds,
  removeNspawnLeftovers,
  stopProcesses,
  unmountAll,
  type Mounts,
} from './machine.ts';
import { createHostNetwork, labLinks, labNamespaces, removeHostNetwork } from './network.ts';
import { hostDirs, LAB_PREFIX, type LabPaths } from './paths.ts';

export function logFile(paths: LabPaths, slot: HostSlot): string {
  return join(paths.logDir, `${slot.name}.log`);
}

/** Creates and boots a host; returns its nspawn PID. The caller removed any remains first. */
export async function createHost(paths: LabPaths, slot: HostSlot, mounts: Mounts, publicKey: string): Promise<number> {
  const dirs = hostDirs(paths, slot.name);
  await createHostNetwork(slot);
  await mountRoot(dirs, mounts.rootfs);
  await writeIdentity(dirs.root, slot.name);
  await writeAuthorizedKeys(dirs.root, publicKey);
  await installBuiltinModules(dirs.root, mounts.kernelModules);
  return boot(slot, dirs, mounts, logFile(paths, slot));
}

/** What exists of the lab right now, read once: cheaper than asking per host when there are hundreds. */
export interface LabSnapshot {
  /** nspawn PID by host name. */
  nspawn: Map<string, number>;
  namespaces: Set<string>;
  links: Set<string>;
  mounts: Set<string>;
}

export async function takeSnapshot(paths: LabPaths): Promise<LabSnapshot> {
  const processes = await findLabProcesses(paths.hostsDir, new Map());
  return {
    nspawn: new Map(processes.filter((proc) => proc.kind === 'nspawn' && proc.host && isAlive(proc.pid)).map((proc) => [proc.host!, proc.pid])),
    namespaces: new Set(await labNamespaces()),
    links: new Set(await labLinks()),
    mounts: new Set(await mountsUnder(paths.hostsDir)),
  };
}

/** The PID of the host's nspawn when the host is whole (process, network, mounted root), else undefined. */
export function wholeHostPid(snapshot: LabSnapshot, paths: LabPaths, slot: HostSlot): number | undefined {
  const whole = snapshot.namespaces.has(slot.netns) && snapshot.links.has(slot.vethOutside) && snapshot.mounts.has(hostDirs(paths, slot.name).root);
  return whole ? snapshot.nspawn.get(slot.name) : undefined;
}

/** Whether anything of the host exists (so that removing it has work to do). */
export function hostLeftovers(snapshot: LabSnapshot, paths: LabPaths, slot: HostSlot): boolean {
  return (
    snapshot.nspawn.has(slot.name) || snapshot.namespaces.has(slot.netns) || snapshot.links.has(slot.vethOutside) || existsSync(hostDirs(paths, slot.name).base)
  );
}

/** Stops the host's processes, unmounts its root, deletes its network and its directory. */
export async function removeHost(paths: LabPaths, slot: HostSlot): Promise<void> {
  const namespaces = existsSync(`/run/netns/${slot.netns}`) ? await namespaceIds([slot.netns], LAB_PREFIX) : new Map<string, string>();
  const processes = (await findLabProcesses(paths.hostsDir, namespaces)).filter((proc) => proc.host === slot.name);
  const survivors = await stopProcesses(processes);
  if (survivors.length > 0)
    throw new Error(`${slot.name}: processes ${survivors.join(' ')} did not die after SIGKILL; check them with ps, then run down again`);
  await removeNspawnLeftovers(slot.name);
  const dirs = hostDirs(paths, slot.name);
  await unmountAll(dirs.base);
  await removeHostNetwork(slot);
  await rm(dirs.base, { recursive: true, force: true });
}

/** Hosts that exist in any form (namespace or directory), whatever the state file says. */
export async function existingHosts(paths: LabPaths): Promise<HostSlot[]> {
  const names = new Set((await labNamespaces()).map((netns) => netns.slice(LAB_PREFIX.length)));
  if (existsSync(paths.hostsDir)) for (const entry of await readdir(paths.hostsDir)) names.add(entry);
  return [...names]
    .map(indexOfName)
    .filter((index): index is number => index !== undefined)
    .sort((a, b) => a - b)
    .map((index) => hostSlot(index));
}
