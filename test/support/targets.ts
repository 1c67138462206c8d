/**
 * Lab hosts as test targets: run a module through drover's real runner over real SSH, and read the
 * host's real state back with the plain OpenSSH client, independent of drover.
 */
import { spawn } from 'node:child_process';
import { describeWithLab, ensureLab, labUnavailableReason, releaseLab, type Lab } from './lab.ts';
import { HostSession, type HostTarget } from '../../runner/engine/host-session.ts';
import { runTask } from '../../runner/engine/task.ts';
import type { Become } from '../../runner/command.ts';
import type { Module, ValueOf } from '../../runner/module.ts';
import type { InputOf } from '../../runner/schema.ts';
import type { TaskResult } from '../../runner/result.ts';
import { Redactor } from '../../runner/secret.ts';
import { connect } from '../../runner/transport/connect.ts';

export interface LabTarget {
  name: string;
  address: string;
  keyPath: string;
  knownHostsPath: string;
  /** The runner's view of the host (root over SSH, strict host-key checking). */
  host: HostTarget;
}

let acquired = 0;

/**
 * The lab's hosts as targets; call from a mocha `before` with its `this`: it skips the suite (one line
 * saying why) where no lab can run, and fails under CI=true. Released by the root `after` hook below.
 */
export async function labTargets(context: Mocha.Context, minHosts = 3): Promise<LabTarget[]> {
  context.timeout(600_000);
  const reason = labUnavailableReason();
  if (reason) {
    console.log(`  ${reason}`);
    context.skip();
  }
  const lab = await ensureLab(minHosts);
  acquired++;
  return toTargets(lab);
}

/** A describe block whose tests get lab targets through `targets()`; see describeWithLab. */
export function describeOnLab(title: string, minHosts: number, body: (targets: () => LabTarget[]) => void): void {
  describeWithLab(title, minHosts, (lab) => body(() => toTargets(lab())));
}

function toTargets(lab: Lab): LabTarget[] {
  return lab.hosts.map((host) => ({
    name: host.name,
    address: host.address,
    keyPath: lab.keyPath,
    knownHostsPath: lab.knownHostsPath,
    host: labHostTarget(host.name, host.address, lab.keyPath, lab.knownHostsPath),
  }));
}

export function labHostTarget(name: string, address: string, keyPath: string, knownHostsPath: string, user = 'root'): HostTarget {
  return {
    name,
    vars: {},
    groups: [],
    becomeByDefault: false,
    connection: {
      name,
      address,
      port: 22,
      user,
      kind: 'ssh',
      privateKeyFile: keyPath,
      knownHostsFiles: [knownHostsPath],
      hostKeyPolicy: 'strict',
      connectTimeoutMs: 10_000,
      keepaliveIntervalMs: 15_000,
      connectRetries: 2,
      maxChannels: 8,
    },
  };
}

const sessions = new Map<string, HostSession>();
const redactor = new Redactor();

/** Runs one module as a task on the target through drover's runner, reusing one connection per host. */
export async function applyModule<M extends Module>(target: LabTarget, module: M, params: InputOf<M['params']>, options: { check?: boolean; name?: string; become?: Become } = {}): Promise<TaskResult<ValueOf<M>>> {
  let session = sessions.get(target.name);
  if (!session) {
    session = new HostSession(target.host, connect, redactor, { defaultTimeoutMs: 300_000 });
    sessions.set(target.name, session);
  }
  // Tests change hosts behind drover's back (onHost): facts cached by an earlier call may be stale.
  session.invalidateFacts();
  const { result } = await runTask(
    session,
    { name: options.name ?? module.name, module, params, become: options.become },
    {
      check: Boolean(options.check),
      redactor,
      clock: () => Date.now(),
    },
  );
  return result as TaskResult<ValueOf<M>>;
}

/** Closes the connections applyModule opened (mocha root hook below, and for tests that need it). */
export async function closeTargets(): Promise<void> {
  await Promise.all([...sessions.values()].map((session) => session.close()));
  sessions.clear();
}

after(async () => {
  await closeTargets();
  for (; acquired > 0; acquired--) await releaseLab();
});

export interface HostOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a shell command on the target with the OpenSSH client: an independent reading of the host. */
export function onHost(target: LabTarget, script: string, stdin?: string): Promise<HostOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-i', target.keyPath, '-o', `UserKnownHostsFile=${target.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', `root@${target.address}`, '--', script], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? -1, stdout, stderr }));
    // ssh that fails at once (a host still booting refuses the connection) closes its stdin: EPIPE, not a test error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}
