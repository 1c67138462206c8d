/**
 * Where the lab keeps things. Three places, on purpose:
 * - `.lab/` in the repo (git-ignored): what users and tests read — key, known_hosts, inventory, hosts.json,
 *   per-host console logs. Small; deleted by `down`.
 * - the cache (`$DROVER_LAB_CACHE`, default /var/cache/drover-lab): the root filesystem and package
 *   repositories, built once and kept across `down`, keyed by a hash of their recipe.
 * - the run directory (`$DROVER_LAB_RUN`, default /var/lib/drover-lab): each host's writable overlay layer
 *   and its /srv/lab-data directory. It must be a real disk filesystem (overlayfs refuses an upper layer on
 *   overlayfs, and swap files refuse overlayfs and tmpfs), which the repo checkout may not be.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Which lab this process works with. One machine can hold several labs side by side, fully apart
 * (names, bridge, subnet, run directory, `.lab` directory), so that two checkouts can run their lab tests
 * at once: `DROVER_LAB_INSTANCE` 0 (the default, the lab the README describes) or 1–9.
 */
export const LAB_INSTANCE = labInstance(process.env);

export function labInstance(env: NodeJS.ProcessEnv): number {
  const raw = env.DROVER_LAB_INSTANCE;
  if (raw === undefined || raw === '') return 0;
  if (!/^[0-9]$/.test(raw)) throw new Error(`DROVER_LAB_INSTANCE must be one digit from 0 to 9, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** The prefix of every name a lab creates on the controller, so `down` can find them after a crash. */
export function labPrefix(instance: number): string {
  return instance === 0 ? 'drover-' : `drover${instance}-`;
}

/** Every name this process's lab creates on the controller starts with this (and no other lab's does). */
export const LAB_PREFIX = labPrefix(LAB_INSTANCE);

export interface LabPaths {
  repoRoot: string;
  /** `.lab/` in the repo. */
  stateDir: string;
  keyFile: string;
  knownHostsFile: string;
  inventoryFile: string;
  hostsFile: string;
  logDir: string;
  cacheDir: string;
  runDir: string;
  /** Parent of every host's directory; also what `down` matches processes and mounts against. */
  hostsDir: string;
  /** Held while `up` or `down` changes the lab (lab/lock.ts). */
  lockFile: string;
}

export function labPaths(env: NodeJS.ProcessEnv = process.env): LabPaths {
  const instance = labInstance(env);
  const suffix = instance === 0 ? '' : `-${instance}`;
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const stateDir = join(repoRoot, `.lab${suffix}`);
  const runDir = resolve(env.DROVER_LAB_RUN || `/var/lib/drover-lab${suffix}`);
  return {
    repoRoot,
    stateDir,
    keyFile: join(stateDir, 'id_ed25519'),
    knownHostsFile: join(stateDir, 'known_hosts'),
    inventoryFile: join(stateDir, 'inventory.yaml'),
    hostsFile: join(stateDir, 'hosts.json'),
    logDir: join(stateDir, 'logs'),
    cacheDir: resolve(env.DROVER_LAB_CACHE || '/var/cache/drover-lab'),
    runDir,
    hostsDir: join(runDir, 'hosts'),
    lockFile: join(runDir, 'lab.lock'),
  };
}

/** One host's directories under the run directory. */
export interface HostDirs {
  base: string;
  /** overlayfs upper and work directories: the host's own changes. */
  upper: string;
  work: string;
  /** The merged root the host boots from. */
  root: string;
  /** Bind-mounted at /srv/lab-data: a real ext4/xfs directory for swap files and loop images. */
  data: string;
}

export function hostDirs(paths: LabPaths, name: string): HostDirs {
  const base = join(paths.hostsDir, name);
  return { base, upper: join(base, 'upper'), work: join(base, 'work'), root: join(base, 'root'), data: join(base, 'data') };
}
