/**
 * `up N`: make the lab exactly hosts lab-1 … lab-N, all answering SSH, with inventory, key and
 * known_hosts written. Idempotent: a host that is already whole is kept as it is (its changes too);
 * a half-made one is rebuilt; hosts numbered above N are removed (so `up 2` after `up 5` leaves 2).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { BRIDGE, hostSlots, type HostSlot } from './addressing.ts';
import { ensureAptRepo } from './apt-repo.ts';
import { pruneCache } from './cache.ts';
import { ensureEgressGuard } from './egress-guard.ts';
import { writeAuthorizedKeys } from './host-files.ts';
import { createHost, existingHosts, hostLeftovers, logFile, removeHost, takeSnapshot, wholeHostPid } from './host.ts';
import { renderInventory } from './inventory.ts';
import { raiseKernelLimits } from './kernel-limits.ts';
import { kernelModulesSetup } from './kernel-modules.ts';
import { withLabLock } from './lock.ts';
import { ensureKeyPair, readHostPublicKey, renderKnownHosts } from './keys.ts';
import { hostCgroups, hostDiagnostics, inOwnCgroups, isAlive, nspawnArgv, sameCommandLine, supervised, type Mounts } from './machine.ts';
import { ensureBridge } from './network.ts';
import { hostDirs, type LabPaths } from './paths.ts';
import { claimInstance } from './owner.ts';
import { machineProblems } from './preflight.ts';
import { ROOTFS_RECIPE } from './recipe.ts';
import { ensureRootfs } from './rootfs.ts';
import { ensureK8sRepo } from './k8s-repo.ts';
import { ensureRpmRepo } from './rpm-repo.ts';
import { waitForSsh } from './ssh-probe.ts';
import { readState, writeState, type LabState } from './state.ts';

export interface UpOptions {
  count: number;
  /** How long every host together may take to answer SSH. */
  bootTimeoutMs?: number;
  log?: (line: string) => void;
}

export class LabUpError extends Error {
  override name = 'LabUpError';
}

export async function up(paths: LabPaths, options: UpOptions): Promise<LabState> {
  const log = options.log ?? ((line: string) => console.error(line));
  const problems = machineProblems();
  if (problems.length > 0) throw new LabUpError(`this machine cannot run the lab:\n- ${problems.join('\n- ')}`);
  const started = Date.now();

  // The cache is shared by every lab instance on the machine: one builder at a time, and a build another
  // lab finished meanwhile is found instead of built again.
  const { rootfs, aptRepo, rpmRepo, k8sRepo } = await withLabLock(
    join(paths.cacheDir, 'build.lock'),
    async () => {
      const rootfs = await ensureRootfs(paths, ROOTFS_RECIPE, log);
      return { rootfs, aptRepo: await ensureAptRepo(paths, rootfs, log), rpmRepo: await ensureRpmRepo(paths, log), k8sRepo: await ensureK8sRepo(paths, log) };
    },
    undefined,
    (owner) => log(`waiting for process ${owner}, which is building the lab cache …`),
  );
  const mounts: Mounts = { rootfs: rootfs.path, aptRepo, rpmRepo, k8sRepo, kernelModules: kernelModulesSetup() };

  const previous = await readState(paths.hostsFile);
  const existing = await existingHosts(paths);
  const taken = await claimInstance(paths, existing.length > 0);
  if (taken) throw new LabUpError(taken);
  if (previous && existing.length > 0 && previous.rootfsKey !== rootfs.key) {
    throw new LabUpError(
      `the lab's root filesystem recipe changed since these hosts came up (${previous.rootfsKey} → ${rootfs.key}): ` +
        'run `npm run lab -- down`, then `up` again',
    );
  }

  await mkdir(paths.logDir, { recursive: true });
  await raiseKernelLimits(options.count, log);
  const publicKey = await ensureKeyPair(paths.keyFile);
  await ensureBridge();
  await ensureEgressGuard(log);

  const wanted = hostSlots(options.count);
  const extra = existing.filter((slot) => slot.index > options.count);
  if (extra.length > 0) log(`removing ${nameList(extra)} (up ${options.count} keeps exactly ${options.count} hosts)`);
  const limit = pLimit(8);
  await Promise.all(extra.map((slot) => limit(() => removeHost(paths, slot))));

  const pids = new Map<string, number>();
  let created = 0;
  const snapshot = await takeSnapshot(paths);
  await Promise.all(
    wanted.map((slot) =>
      limit(async () => {
        let pid = wholeHostPid(snapshot, paths, slot);
        const current = async (running: number) =>
          (await sameCommandLine(running, nspawnArgv(slot, hostDirs(paths, slot.name), mounts))) &&
          (await supervised(running)) &&
          ((await inOwnCgroups(running, slot.machine)) || hostCgroups(slot.machine).length === 0);
        if (pid !== undefined && !(await current(pid))) {
          log(`${slot.name}: runs with an older lab configuration (mounts, flags, no reboot supervisor or shared cgroups); recreating it`);
          pid = undefined;
        }
        if (pid !== undefined) {
          // Kept as it is; the key is rewritten in case .lab/ (and the key) were deleted meanwhile.
          await writeAuthorizedKeys(hostDirs(paths, slot.name).root, publicKey);
          pids.set(slot.name, pid);
          return;
        }
        if (hostLeftovers(snapshot, paths, slot)) await removeHost(paths, slot);
        pids.set(slot.name, await createHost(paths, slot, mounts, publicKey));
        created += 1;
      }),
    ),
  );
  log(`${created} host(s) started, ${wanted.length - created} already running; waiting for sshd on ${BRIDGE} …`);

  const byAddress = new Map(wanted.map((slot) => [slot.address, slot]));
  const { silent, dead } = await waitForSsh(
    wanted.map((slot) => slot.address),
    options.bootTimeoutMs ?? 60_000 + 1_000 * wanted.length,
    (address) => isAlive(pids.get(byAddress.get(address)!.name)!),
  );
  if (silent.length > 0 || dead.length > 0) {
    const failed = [...dead, ...silent].map((address) => byAddress.get(address)!);
    const first = failed[0]!;
    const details = await hostDiagnostics(hostDirs(paths, first.name).root, logFile(paths, first));
    const describe = (slot: HostSlot) => `${slot.name} (${slot.address}) ${dead.includes(slot.address) ? 'stopped' : 'never answered SSH'}`;
    const listed = failed.slice(0, 10).map(describe).join(', ') + (failed.length > 10 ? ` and ${failed.length - 10} more` : '');
    throw new LabUpError(
      `${failed.length} of ${wanted.length} hosts did not come up: ${listed}\n` +
        `${first.name}:\n${details}\n→ fix the cause shown above, then \`npm run lab -- up ${options.count}\` again (it rebuilds only the broken hosts), or \`down\` first`,
    );
  }

  const state = await writeLabFiles(paths, wanted, pids, rootfs.key, mounts);
  await withLabLock(join(paths.cacheDir, 'build.lock'), () => pruneCache(paths.cacheDir, [rootfs.path, aptRepo, rpmRepo, k8sRepo], log));
  log(`lab up: ${wanted.length} host(s) in ${((Date.now() - started) / 1000).toFixed(1)} s — inventory ${paths.inventoryFile}`);
  return state;
}

async function writeLabFiles(paths: LabPaths, slots: HostSlot[], pids: Map<string, number>, rootfsKey: string, mounts: Mounts): Promise<LabState> {
  const keys = await Promise.all(slots.map(async (slot) => ({ address: slot.address, hostKey: await readHostPublicKey(hostDirs(paths, slot.name).root) })));
  await writeFile(paths.knownHostsFile, renderKnownHosts(keys));
  await writeFile(paths.inventoryFile, renderInventory(slots, { keyFile: paths.keyFile, knownHostsFile: paths.knownHostsFile }));
  const state: LabState = {
    rootfsKey,
    ...(mounts.aptRepo ? { aptRepo: mounts.aptRepo } : {}),
    ...(mounts.rpmRepo ? { rpmRepo: mounts.rpmRepo } : {}),
    ...(mounts.k8sRepo ? { k8sRepo: mounts.k8sRepo } : {}),
    inventory: paths.inventoryFile,
    knownHosts: paths.knownHostsFile,
    key: paths.keyFile,
    hosts: slots.map((slot) => ({
      name: slot.name,
      address: slot.address,
      pid: pids.get(slot.name)!,
      netns: slot.netns,
      root: hostDirs(paths, slot.name).root,
      log: logFile(paths, slot),
    })),
  };
  await writeState(paths.hostsFile, state);
  return state;
}

/** "lab-4, lab-5" or, for many, "lab-21 … lab-100 (80 hosts)". */
export function nameList(slots: readonly HostSlot[]): string {
  if (slots.length <= 5) return slots.map((slot) => slot.name).join(', ');
  return `${slots[0]!.name} … ${slots[slots.length - 1]!.name} (${slots.length} hosts)`;
}
