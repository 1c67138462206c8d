/**
 * The lab for mocha tests: reuse a lab that is up with enough hosts, or bring one up, and tear down only
 * what this test process started (unless DROVER_LAB_KEEP is set).
 *
 * Usage:
 *   describeWithLab('sysctl module on lab hosts', 2, (lab) => {
 *     it('sets a key', async () => { const { hosts, keyPath } = lab(); … });
 *   });
 *
 * Outside CI a machine that cannot host the lab (not root, no systemd-nspawn/mmdebstrap) skips these
 * suites, printing the reason once; under CI=true that is a failure, never a skip.
 */
import { spawn } from 'node:child_process';
import { down } from '../../lab/down.ts';
import { existingHosts, takeSnapshot, wholeHostPid } from '../../lab/host.ts';
import { k8sRepoPath } from '../../lab/k8s-repo.ts';
import { withLabLock } from '../../lab/lock.ts';
import { labPaths } from '../../lab/paths.ts';
import { machineProblems } from '../../lab/preflight.ts';
import { sshBanner } from '../../lab/ssh-probe.ts';
import { readState, type LabState } from '../../lab/state.ts';
import { up } from '../../lab/up.ts';
import { hostSlot } from '../../lab/addressing.ts';

export interface LabHost {
  name: string;
  address: string;
}

export interface Lab {
  inventoryPath: string;
  knownHostsPath: string;
  keyPath: string;
  hosts: LabHost[];
}

/** Whole lab set-up on a cached root filesystem takes seconds; a first build of it about a minute. */
export const LAB_SETUP_TIMEOUT_MS = 600_000;

/** How many hosts were up before this process first grew the lab (undefined: it has not touched it). */
let hostsBefore: number | undefined;
let users = 0;

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a shell command on a lab host with the OpenSSH client, host-key checking on. For tests that check
 * the lab or a module's effect independently of drover's own transport. Never throws on a non-zero exit.
 */
export function labSsh(lab: Lab, host: LabHost, command: string, options: { user?: string; input?: string; timeoutMs?: number; hostKeyAlias?: string } = {}): Promise<SshResult> {
  const argv = [
    '-i',
    lab.keyPath,
    '-o',
    `UserKnownHostsFile=${lab.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    ...(options.hostKeyAlias ? ['-o', `HostKeyAlias=${options.hostKeyAlias}`] : []),
    `${options.user ?? 'root'}@${host.address}`,
    command,
  ];
  return new Promise((resolveRun, reject) => {
    const child = spawn('ssh', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Why the lab cannot run here, or undefined when it can. Under CI=true this throws instead. */
export function labUnavailableReason(): string | undefined {
  const problems = machineProblems();
  if (problems.length === 0) return undefined;
  const reason = `lab tests skipped: ${problems.join('; ')}`;
  if (process.env.CI === 'true') throw new Error(`CI=true and the lab cannot run: ${problems.join('; ')}`);
  return reason;
}

/** Returns a lab with at least `minHosts` hosts answering SSH, bringing it up or growing it if needed. */
export async function ensureLab(minHosts: number): Promise<Lab> {
  const paths = labPaths();
  const state = await withLabLock(paths.lockFile, async () => {
    const current = await healthyState(minHosts);
    if (current) return current;
    const before = (await existingHosts(paths)).length;
    const grown = await up(paths, { count: Math.max(minHosts, before), log: (line) => process.stderr.write(`  [lab] ${line}\n`) });
    hostsBefore ??= before;
    return grown;
  });
  users += 1;
  return {
    inventoryPath: state.inventory,
    knownHostsPath: state.knownHosts,
    keyPath: state.key,
    hosts: state.hosts.slice(0, minHosts).map((host) => ({ name: host.name, address: host.address })),
  };
}

/**
 * Call once per ensureLab. When the last user in this process releases, the lab returns to what it was
 * before this process touched it: down if there was none, back to the earlier size if it was grown.
 */
export async function releaseLab(): Promise<void> {
  users -= 1;
  if (users > 0 || hostsBefore === undefined || process.env.DROVER_LAB_KEEP) return;
  const paths = labPaths();
  const before = hostsBefore;
  hostsBefore = undefined;
  await withLabLock(paths.lockFile, async () => {
    if (before === 0) await down(paths);
    else await up(paths, { count: before, log: () => undefined });
  });
}

/**
 * The recorded lab, if it has at least `minHosts` hosts whose process runs and whose sshd answers, and its
 * hosts mount the Kubernetes stand-in repository this checkout builds (after a change to the stand-in,
 * `up` rebuilds the repository and recreates the hosts; a test must not run the old stand-in).
 */
async function healthyState(minHosts: number): Promise<LabState | undefined> {
  const paths = labPaths();
  const state = await readState(paths.hostsFile);
  if (!state || state.hosts.length < minHosts || state.k8sRepo !== k8sRepoPath(paths)) return undefined;
  const snapshot = await takeSnapshot(paths);
  const checks = await Promise.all(state.hosts.map(async (host, index) => wholeHostPid(snapshot, paths, hostSlot(index + 1)) !== undefined && (await sshBanner(host.address)) !== undefined));
  return checks.every(Boolean) ? state : undefined;
}

let skipAnnounced = false;

/**
 * A mocha `describe` whose tests get a lab of at least `minHosts` hosts through `lab()`. Skipped (one
 * line, once per run) where the lab cannot run, unless CI=true.
 */
export function describeWithLab(title: string, minHosts: number, body: (lab: () => Lab) => void): void {
  describe(title, function () {
    this.timeout(LAB_SETUP_TIMEOUT_MS);
    let current: Lab | undefined;
    let acquired = false;
    before(async function () {
      const reason = labUnavailableReason();
      if (reason) {
        if (!skipAnnounced) console.log(`  ${reason}`);
        skipAnnounced = true;
        this.skip();
      }
      current = await ensureLab(minHosts);
      acquired = true;
    });
    after(async function () {
      if (acquired) await releaseLab();
    });
    body(() => {
      if (!current) throw new Error('lab() called outside a test: use it inside it()/before() of describeWithLab');
      return current;
    });
  });
}
