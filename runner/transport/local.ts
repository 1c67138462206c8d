/**
 * The local connection (`ansible_connection=local`, `localhost`): each command line runs under
 * `/bin/sh -c LINE` on the controller, with the same stdin, time limit, output cap and outcome as over
 * SSH. Each command gets its own process group (a new session, as sshd gives each channel), so a
 * timeout stops the command and everything it started, not just the shell. Commands run as the user
 * running drover: `spec.user` is not switched to (become is what changes users).
 */
import { spawn } from 'node:child_process';
import { ExecRun } from './exec-run.ts';
import { Slots } from './slots.ts';
import { sendStdin } from './stdin-pipe.ts';
import type { Connection, ConnectionSpec, ExecOptions, ExecOutcome } from './transport.ts';

/** Opens a local connection; nothing is checked or started until the first command. */
export async function connectLocal(spec: ConnectionSpec): Promise<Connection> {
  return new LocalConnection(spec);
}

class LocalConnection implements Connection {
  readonly #slots: Slots;
  #closed = false;

  constructor(readonly spec: ConnectionSpec) {
    this.#slots = new Slots(spec.maxChannels);
  }

  async exec(line: string, options: ExecOptions): Promise<ExecOutcome> {
    const release = await this.#slots.acquire(options.signal);
    if (!release) return new ExecRun(options, noSignals).abortedBeforeStart();
    try {
      return await this.#run(line, options);
    } finally {
      release();
    }
  }

  #run(line: string, options: ExecOptions): Promise<ExecOutcome> {
    let pid: number | undefined;
    const signalGroup = (signal: NodeJS.Signals): void => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const run = new ExecRun(options, { term: () => signalGroup('SIGTERM'), kill: () => signalGroup('SIGKILL') });
    if (this.#closed) {
      run.connectionLost(`the local connection to ${this.spec.name} is closed`);
      return run.outcome;
    }
    const child = spawn('/bin/sh', ['-c', line], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    pid = child.pid;
    child.stdout.on('data', (chunk: Buffer) => run.stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => run.stderr.push(chunk));
    // A command that exits without reading its stdin makes our write fail with EPIPE: not an error of ours.
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => run.failed(`could not start /bin/sh on the controller: ${error.message}`));
    // 'close' waits for stdout and stderr to end as well as for the exit, like sshd does for a channel.
    child.on('close', (code, signal) => {
      run.exited(code, signal ?? undefined);
      run.finish();
    });
    sendStdin(child.stdin, options, () => child.stdin.destroy(), run.outcome);
    return run.outcome;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

const noSignals = { term: () => undefined, kill: () => undefined };
