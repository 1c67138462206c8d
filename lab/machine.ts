/**
 * Running one lab host: its overlay root and its systemd-nspawn process.
 *
 * Why our own overlay instead of `--volatile=overlay`: volatile keeps the host's changes in tmpfs, i.e. in
 * RAM — 100 hosts installing containerd would cost gigabytes — and leaves no place to write the host's
 * identity (host key, hostname) before boot. A per-host overlay on the run directory keeps changes on disk
 * and lets the controller read a failed host's journal.
 *
 * The controller's PID 1 is not systemd, so there are no transient units: each host is a detached
 * systemd-nspawn process writing its console to .lab/logs/<host>.log. `down` finds these processes again
 * from /proc (their command line names the host's root), never from a PID file alone.
 *
 * A `reboot` inside a host makes nspawn exit with status 133 ("reboot requested"); systemd-nspawn@.service
 * restarts it for that status (RestartForceExitStatus=133), and without systemd nothing would, so the host
 * would simply be gone. Each nspawn therefore runs under a small supervisor shell that starts it again on
 * 133 and ends on any other status: the host reboots as a real machine does, on the same overlay root and
 * network namespace, with a new boot id (nspawn mounts a fresh one per boot).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hostNameOfMachine, machineName, type HostSlot } from './addressing.ts';
import { run } from './exec.ts';
import type { KernelModulesSetup } from './kernel-modules.ts';
import type { HostDirs } from './paths.ts';
import { LAB_K8S_MOUNT } from './k8s-repo.ts';
import { LAB_DATA_MOUNT, LAB_REPO_MOUNT, LAB_RPM_MOUNT } from './recipe.ts';

/** The syscall filter and capabilities that let sysctl, iptables, mounts and swap work inside a host. */
const NSPAWN_FLAGS = [
  '--boot',
  '--register=no',
  '--keep-unit',
  '--capability=all',
  '--system-call-filter=swapon swapoff @system-service @module',
  '--resolv-conf=off',
  '--timezone=off',
  '--link-journal=no',
  '--console=read-only',
];

export interface Mounts {
  rootfs: string;
  kernelModules: KernelModulesSetup;
  /** Local package repositories, bind-mounted read-only when built. */
  aptRepo?: string;
  rpmRepo?: string;
  /** The Kubernetes stand-in's repository in pkgs.k8s.io's layout (lab/k8s-repo.ts). */
  k8sRepo?: string;
}

export async function mountRoot(dirs: HostDirs, rootfs: string): Promise<void> {
  for (const dir of [dirs.upper, dirs.work, dirs.root, dirs.data]) await mkdir(dir, { recursive: true });
  if (await isMountPoint(dirs.root)) return;
  await run(['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${dirs.upper},workdir=${dirs.work}`, dirs.root], {
    hint: `could not mount the overlay root of ${dirs.base}; the run directory must be on ext4/xfs (set DROVER_LAB_RUN)`,
  });
}

export function nspawnArgv(slot: HostSlot, dirs: HostDirs, mounts: Mounts): string[] {
  const binds = [`--bind=${dirs.data}:${LAB_DATA_MOUNT}`];
  if (mounts.aptRepo) binds.push(`--bind-ro=${mounts.aptRepo}:${LAB_REPO_MOUNT}`);
  if (mounts.rpmRepo) binds.push(`--bind-ro=${mounts.rpmRepo}:${LAB_RPM_MOUNT}`);
  if (mounts.k8sRepo) binds.push(`--bind-ro=${mounts.k8sRepo}:${LAB_K8S_MOUNT}`);
  if (mounts.kernelModules.bindFromController) binds.push(`--bind-ro=${mounts.kernelModules.bindFromController}`);
  return [
    'systemd-nspawn',
    `--directory=${dirs.root}`,
    `--machine=${slot.machine}`,
    `--network-namespace-path=/run/netns/${slot.netns}`,
    ...NSPAWN_FLAGS,
    ...binds,
  ];
}

/** Whether a running nspawn was started with exactly this argv (program name compared by basename). */
export async function sameCommandLine(pid: number, argv: readonly string[]): Promise<boolean> {
  try {
    const running = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').slice(0, -1);
    return running.length === argv.length && running.every((arg, index) => (index === 0 ? arg.endsWith(argv[0]!) : arg === argv[index]));
  } catch {
    return false;
  }
}

/**
 * The supervisor's script (argv[0] of `sh -c` is SUPERVISOR_NAME, then nspawn's argv): nspawn again after a
 * reboot (133), after removing the propagation directory the exiting nspawn leaves behind; any other
 * status (poweroff, SIGTERM from `down`, a crash) ends it. Each nspawn starts in the host's own cgroups
 * (see hostCgroups): a shell moves itself there, then becomes nspawn; the supervisor stays where it was.
 */
const SUPERVISOR_SCRIPT = `while :; do
  /bin/sh -c '
    for d in $DROVER_LAB_CGROUPS; do
      mkdir -p "$d" && echo $$ > "$d/cgroup.procs" || echo "drover-lab: could not move $DROVER_LAB_MACHINE into its own cgroup $d; hosts may share cgroups" >&2
    done
    exec "$@"' drover-lab-nspawn "$@"
  rc=$?
  [ "$rc" -eq 133 ] || exit "$rc"
  echo "drover-lab: $DROVER_LAB_MACHINE rebooted; starting it again"
  rm -rf "/run/systemd/nspawn/propagate/$DROVER_LAB_MACHINE"
done`;
/** The supervisor's $0, which /proc/PID/cmdline shows fourth: sh, -c, the script, this name, then nspawn's argv. */
export const SUPERVISOR_NAME = 'drover-lab-supervisor';

/** Starts the host under its reboot supervisor and returns the supervisor's PID; both outlive this process. */
export function boot(slot: HostSlot, dirs: HostDirs, mounts: Mounts, logFile: string): number {
  const argv = nspawnArgv(slot, dirs, mounts);
  const log = openSync(logFile, 'w');
  try {
    const child = spawn('/bin/sh', ['-c', SUPERVISOR_SCRIPT, SUPERVISOR_NAME, ...argv], {
      detached: true,
      stdio: ['ignore', log, log],
      // Makes /proc/sys writable inside the host: sysctl net.* then changes the host's own namespace only.
      env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: '1', DROVER_LAB_MACHINE: slot.machine, DROVER_LAB_CGROUPS: hostCgroups(slot.machine).join(' ') },
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`systemd-nspawn did not start for ${slot.name}: is systemd-container installed? (bash .ci/lab-prereqs.sh)`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** A process on the controller that belongs to the lab. */
export interface LabProcess {
  pid: number;
  /** The host it belongs to, when known (nspawn's --machine=, or the host's network namespace). */
  host?: string;
  /** `supervisor`: the shell that restarts the host's nspawn after a reboot (see boot). */
  kind: 'nspawn' | 'supervisor' | 'inside';
}

/** Whether the nspawn `pid` runs under a reboot supervisor (hosts booted before it existed do not). */
export async function supervised(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const parent = Number(/^\d+ \(.*\) \S+ (\d+)/.exec(stat)?.[1]);
    const cmdline = (await readFile(`/proc/${parent}/cmdline`, 'utf8')).split('\0');
    return cmdline[3] === SUPERVISOR_NAME;
  } catch {
    return false;
  }
}

/** Whether the nspawn `pid` runs in the host's own cgroups (hosts booted before they had them do not). */
export async function inOwnCgroups(pid: number, machine: string): Promise<boolean> {
  try {
    const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n');
    const tracked = lines.filter((line) => /^\d+:(name=systemd)?:/.test(line));
    const own = `/${CGROUP_PARENT}/${machine}`;
    return (
      tracked.length > 0 &&
      tracked.every((line) => {
        const path = line.replace(/^\d+:[^:]*:/, '');
        return path === own || path.startsWith(`${own}/`);
      })
    );
  } catch {
    return false;
  }
}

/**
 * Lab processes found from /proc alone, so it works after a crash: nspawn processes whose command line
 * names a root under `hostsDir`, and any process living in a lab network namespace (a host's systemd and
 * everything under it, even if its nspawn parent was killed).
 */
export async function findLabProcesses(hostsDir: string, namespaces: ReadonlyMap<string, string>): Promise<LabProcess[]> {
  const found: LabProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      const ownsHost = cmdline.some((arg) => arg.startsWith(`--directory=${hostsDir}/`));
      if (cmdline[3] === SUPERVISOR_NAME && ownsHost) {
        const machine = cmdline.find((arg) => arg.startsWith('--machine='))?.slice('--machine='.length);
        const host = machine === undefined ? undefined : hostNameOfMachine(machine);
        found.push({ pid, kind: 'supervisor', ...(host ? { host } : {}) });
        continue;
      }
      if (cmdline[0]?.endsWith('systemd-nspawn') && cmdline.some((arg) => arg.startsWith(`--directory=${hostsDir}/`))) {
        const machine = cmdline.find((arg) => arg.startsWith('--machine='))?.slice('--machine='.length);
        const host = machine === undefined ? undefined : hostNameOfMachine(machine);
        found.push({ pid, kind: 'nspawn', ...(host ? { host } : {}) });
        continue;
      }
      if (namespaces.size === 0) continue;
      const netns = await readlink(`/proc/${pid}/ns/net`);
      const host = namespaces.get(netns);
      if (host !== undefined) found.push({ pid, host, kind: 'inside' });
    } catch {
      // The process ended while we looked, or is a kernel thread: not ours.
    }
  }
  return found;
}

/** Maps "net:[inode]" of each lab namespace file to its host name ("drover-lab-3" → "lab-3"). */
export async function namespaceIds(netnsNames: readonly string[], prefix: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const name of netnsNames) {
    try {
      const info = await stat(`/run/netns/${name}`);
      ids.set(`net:[${info.ino}]`, name.slice(prefix.length));
    } catch {
      // Deleted meanwhile.
    }
  }
  return ids;
}

/**
 * Stops lab processes: SIGTERM to each nspawn first (nspawn turns it into an orderly poweroff of the
 * host, which takes a fraction of a second and lets nspawn remove its lock and propagation directory
 * under /run/systemd/nspawn), then SIGKILL to whatever is left after `graceMs`. Returns the PIDs still
 * alive after that (none, normally).
 */
export async function stopProcesses(processes: readonly LabProcess[], graceMs = 10_000): Promise<number[]> {
  // The supervisors go first, so none starts its nspawn again while the host powers off.
  const supervisors = processes.filter((proc) => proc.kind === 'supervisor').map((proc) => proc.pid);
  signal(supervisors, 'SIGKILL');
  await waitGone(supervisors, 5_000);
  const nspawn = processes.filter((proc) => proc.kind === 'nspawn').map((proc) => proc.pid);
  signal(nspawn, 'SIGTERM');
  await waitGone(nspawn, graceMs);
  const left = processes.map((proc) => proc.pid).filter(isAlive);
  signal(left, 'SIGKILL');
  return waitGone(left, 15_000);
}

function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  }
}

async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    alive = alive.filter(isAlive);
  }
  return alive;
}

/**
 * nspawn's per-machine directory, left behind when nspawn is killed rather than stopped, and the host's
 * cgroups once their processes are gone.
 */
export async function removeNspawnLeftovers(hostName: string): Promise<void> {
  await rm(`/run/systemd/nspawn/propagate/${machineName(hostName)}`, { recursive: true, force: true });
  for (const dir of hostCgroups(machineName(hostName))) await removeCgroupTree(dir);
  for (const mount of cgroupMounts()) await removeCgroupTree(join(mount, CGROUP_PARENT), { childrenToo: false });
}

/** Where the lab's per-host cgroups go, below the root of each hierarchy (see hostCgroups). */
const CGROUP_PARENT = 'drover-lab';

/**
 * The host's own cgroup in each hierarchy nspawn places a container in: the v1 `name=systemd` one and the
 * v2 unified one, where mounted. nspawn with --keep-unit (there is no systemd on the controller to make a
 * scope) takes the cgroup it starts in as the container's, with `payload` (the host's systemd) and
 * `supervisor` (itself) below it. Started in the controller's root cgroup, every host's systemd shared
 * `/payload`, so two hosts starting a unit of the same name at once raced on one cgroup: a boot now and
 * then had systemd-remount-fs, systemd-user-sessions or systemd-update-utmp-runlevel fail with status
 * 219/CGROUP, and `systemctl is-system-running` said degraded.
 */
export function hostCgroups(machine: string): string[] {
  return cgroupMounts().map((mount) => join(mount, CGROUP_PARENT, machine));
}

/** Mount points of the v2 hierarchy and of the v1 name=systemd one, from /proc/self/mountinfo. */
function cgroupMounts(): string[] {
  const mounts: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER-OPTIONS
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [fstype, , superOptions = ''] = after.split(' ');
    const mountPoint = before.split(' ')[4];
    if (!mountPoint || before.split(' ')[3] !== '/') continue;
    if (fstype === 'cgroup2' || (fstype === 'cgroup' && superOptions.split(',').includes('name=systemd'))) {
      // Mount points are octal-escaped in mountinfo; a cgroup mount with a blank in its path is not ours to use.
      if (!mountPoint.includes('\\')) mounts.push(mountPoint);
    }
  }
  return [...new Set(mounts)];
}

/**
 * Removes a cgroup directory and the ones below it, deepest first. A cgroup is removed with rmdir (its
 * files are the kernel's); one that still holds a process stays, and so do the ones above it.
 */
async function removeCgroupTree(dir: string, options: { childrenToo?: boolean } = {}): Promise<void> {
  if (options.childrenToo !== false) {
    let entries: string[];
    try {
      entries = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    } catch {
      return;
    }
    for (const entry of entries) await removeCgroupTree(join(dir, entry));
  }
  try {
    await rmdir(dir);
  } catch {
    // Busy (a process is still in it, or a child the kernel has not released yet), or gone already.
  }
}

export function isAlive(pid: number): boolean {
  try {
    // A zombie has exited; only its parent's wait is missing.
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Mount points under `dir` in this process's mount table, deepest first (the order to unmount them). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  return table
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    .map((point) => point.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
}

export async function isMountPoint(dir: string): Promise<boolean> {
  return existsSync(dir) && (await mountsUnder(dir)).includes(dir);
}

export async function unmountAll(dir: string): Promise<string[]> {
  const points = await mountsUnder(dir);
  for (const point of points) {
    await run(['umount', point], { okCodes: [0, 32] }).then(async (result) => {
      // Busy right after its processes died: detach it; the kernel frees it when the last user goes.
      if (result.code !== 0) await run(['umount', '--lazy', point]);
    });
  }
  return points;
}

/** The last lines of a host's console log and journal, for messages about a host that did not come up. */
export async function hostDiagnostics(root: string, logFile: string, lines = 20): Promise<string> {
  const parts: string[] = [];
  try {
    const log = (await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
    parts.push(`console (${logFile}):\n${log}`);
  } catch {
    parts.push(`no console log at ${logFile}`);
  }
  const journalDir = join(root, 'var/log/journal');
  if (existsSync(journalDir)) {
    const journal = await run(['journalctl', `--directory=${journalDir}`, '--no-pager', '-n', String(lines), '-p', 'warning'], { okCodes: [0, 1] }).catch(
      () => undefined,
    );
    if (journal?.stdout.trim()) parts.push(`journal warnings and errors:\n${journal.stdout.trimEnd()}`);
  }
  return parts.join('\n');
}
