/**
 * The processes that launched drover for the operator and stand between it and the operator's signals:
 * npm/npx, the `sh -c` npm runs a bin through, and tsx's CLI. When one of them dies while drover runs
 * (SIGTERM to npx alone: npm passes it to `sh`, `sh` dies, the rest is orphaned), nobody is left to pass
 * on the next signal or to report drover's exit status, so drover must stop as if it had been sent
 * SIGTERM itself rather than run on detached, applying changes nobody waits for.
 *
 * Linux only (it reads /proc); elsewhere the chain is empty and nothing is watched.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProcessInfo {
  pid: number;
  ppid: number;
  /** `Z`: dead, not yet reaped by its parent. */
  state: string;
  comm: string;
  argv: string[];
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid …`: comm may itself hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state = '', ppid] = stat.slice(close + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((arg) => arg !== '');
    return { pid, ppid: Number(ppid), state, comm, argv };
  } catch {
    return undefined;
  }
}

/** npm titles itself `npm exec …` / `npm run …`; older npx kept its own name. */
function isNpm(info: ProcessInfo): boolean {
  return /^(npm|npx)\b/.test(info.comm);
}

/** node running tsx's CLI: `node …/.bin/tsx`, `node …/tsx/dist/cli.mjs`, a global `tsx`. */
function isTsxCli(info: ProcessInfo): boolean {
  const script = info.argv[1] ?? '';
  return (
    basename(info.argv[0] ?? '').startsWith('node') &&
    (basename(script) === 'tsx' || script.endsWith('/tsx/dist/cli.mjs') || script.endsWith('/tsx/dist/cli.cjs'))
  );
}

function isShellOfNpm(info: ProcessInfo): boolean {
  if (!['sh', 'dash', 'bash'].includes(basename(info.argv[0] ?? '')) || info.argv[1] !== '-c') return false;
  const parent = readProcess(info.ppid);
  return parent !== undefined && isNpm(parent);
}

export interface Launcher {
  pid: number;
  /** How the process is named to the operator, e.g. `npm exec tsx run … (pid 4242)`. */
  label: string;
}

/** This process's launchers, nearest first: walks up while the ancestor is tsx's CLI, npm's `sh -c` or npm. */
export function launcherChain(pid: number = process.pid): Launcher[] {
  const chain: Launcher[] = [];
  let current = readProcess(pid);
  while (current && current.ppid > 1) {
    const parent = readProcess(current.ppid);
    if (!parent || !(isTsxCli(parent) || isShellOfNpm(parent) || isNpm(parent))) break;
    chain.push({ pid: parent.pid, label: `${parent.argv.join(' ').slice(0, 80)} (pid ${parent.pid})` });
    if (isNpm(parent)) break;
    current = parent;
  }
  return chain;
}

/**
 * Calls `onLost` once, when a launcher in the chain has died (a process whose parent is no longer the
 * next one up has been orphaned). Returns a function that stops watching. A drover started by anything
 * else (a shell, a script, systemd) is not watched: a background job whose shell exits may run on, as
 * any program would.
 */
export function watchLaunchers(onLost: (why: string) => void, intervalMs = 500): () => void {
  const chain = launcherChain();
  if (chain.length === 0) return () => undefined;
  const check = () => {
    if (process.ppid !== chain[0]!.pid) return `drover's launcher ${chain[0]!.label} is gone`;
    for (const [index, launcher] of chain.entries()) {
      const up = chain[index + 1];
      const info = readProcess(launcher.pid);
      if (!info || info.state === 'Z') return `drover's launcher ${launcher.label} is gone`;
      if (up && info.ppid !== up.pid) return `drover's launcher ${up.label} is gone`;
    }
    return undefined;
  };
  const timer = setInterval(() => {
    const lost = check();
    if (lost === undefined) return;
    clearInterval(timer);
    onLost(lost);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
