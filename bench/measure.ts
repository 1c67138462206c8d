/**
 * Runs one command of the benchmark and measures it on the controller: wall time, CPU time of the whole
 * process tree, and the tree's peak memory. No tool beyond bash and /proc is needed (CI has both):
 *
 * - CPU: the command runs under `bash -c 'CMD; times'`; bash's `times` prints the user and system time of
 *   every child it waited for, which the kernel accumulates up the tree as each process is reaped. A
 *   process that detaches (Ansible's ControlPersist ssh masters) is not counted: the README says so.
 * - Memory: every SAMPLE_MS the tree is walked from the command's pid through
 *   /proc/PID/task/PID/children, and the resident set sizes are added up; the highest sum is the peak.
 *   Shared pages (libraries) count once per process, as `ps` would show them.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const SAMPLE_MS = 100;
const PAGE_BYTES = 4096;

export interface Measured {
  exitCode: number;
  wallMs: number;
  /** User + system CPU time of the command's whole (waited-for) tree. */
  cpuMs: number;
  /** Highest sum of resident memory over the tree's processes, sampled every SAMPLE_MS. */
  peakRssBytes: number;
  /** Most processes seen in the tree at once (a sanity check that the tool ran in parallel). */
  peakProcesses: number;
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command after this long. */
  timeoutMs: number;
}

/** `times` prints two lines: the shell's own user/sys, then its children's; `1m2.500s`-style values. */
export function parseTimes(text: string): number | undefined {
  const lines = text.trim().split('\n');
  const children = lines[lines.length - 1]?.match(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
  if (!children || lines.length < 2) return undefined;
  const [, um, us, sm, ss] = children.map(Number) as [number, number, number, number, number];
  return Math.round((um * 60 + us + sm * 60 + ss) * 1000);
}

function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(' ').map(Number);
  } catch {
    return [];
  }
}

function residentBytes(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_BYTES;
  } catch {
    return 0;
  }
}

/** The tree under `root` (root included) and its resident memory, now. */
export function sampleTree(root: number): { processes: number; rssBytes: number } {
  let processes = 0;
  let rssBytes = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const rss = residentBytes(pid);
    if (rss === 0) continue;
    processes += 1;
    rssBytes += rss;
    stack.push(...childrenOf(pid));
  }
  return { processes, rssBytes };
}

function killTree(root: number): void {
  const pids: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    pids.push(pid);
    stack.push(...childrenOf(pid));
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function measure(argv: readonly string[], options: MeasureOptions): Promise<Measured> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    // fd 3 carries `times`'s report, so the command's own stdout and stderr stay untouched.
    const child = spawn('bash', ['-c', '"$@"; status=$?; times >&3; exit $status', 'bench', ...argv], {
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const times: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => times.push(chunk));
    let peakRssBytes = 0;
    let peakProcesses = 0;
    const sample = () => {
      if (child.pid === undefined) return;
      const now = sampleTree(child.pid);
      peakRssBytes = Math.max(peakRssBytes, now.rssBytes);
      peakProcesses = Math.max(peakProcesses, now.processes);
    };
    const sampler = setInterval(sample, SAMPLE_MS);
    // The whole tree: a grandchild holding the output pipes open would otherwise outlive the limit.
    const timer = setTimeout(() => {
      if (child.pid !== undefined) killTree(child.pid);
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearInterval(sampler);
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      clearInterval(sampler);
      clearTimeout(timer);
      const cpuMs = parseTimes(Buffer.concat(times).toString());
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (cpuMs === undefined) {
        reject(new Error(`\`${argv.join(' ')}\` was killed before it finished (limit ${options.timeoutMs / 1000} s):\n${stderr.slice(-2000)}`));
        return;
      }
      resolvePromise({ exitCode: code ?? -1, wallMs, cpuMs, peakRssBytes, peakProcesses, stdout, stderr });
    });
  });
}
