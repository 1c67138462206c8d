/**
 * `tsx run …` and `npx tsx run …` start run.ts under tsx's CLI, which relays SIGINT/SIGTERM to its
 * child and SIGKILLs it unless the child acknowledges within about 30 ms (tsx's preflight does that from
 * the child's event loop). A busy drover misses that window and is killed mid-run: no run-end record,
 * temp files left on hosts. So run.ts does no work itself: it supervises the real drover (bin/drover.js)
 * as a child in the same process group, stays idle so that it always answers tsx in time, passes on each
 * signal it receives (see stop-requests.ts for how the worker counts them), stops the worker when its own
 * launchers die, and exits with the worker's status.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { watchLaunchers } from './launcher.ts';
import { STOP_SIGNALS, type RelayedStop, type StopSignal } from './stop-requests.ts';

/**
 * A signal tsx's CLI received is delivered to us twice when we were slow to acknowledge it (tsx re-sends
 * it after 30 ms): repeats of one signal this close together are one request. A real second Ctrl-C sent
 * to the process group still reaches the worker directly.
 */
const REPEAT_WINDOW_MS = 500;

export function supervise(entry: string, argv: string[]): void {
  const child = spawn(process.execPath, [entry, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, DROVER_SUPERVISED: '1' },
  });
  let seq = 0;
  let last: { signal: StopSignal; at: number } | undefined;
  const relay = (signal: StopSignal, why?: string) => {
    const now = Date.now();
    if (last && last.signal === signal && now - last.at < REPEAT_WINDOW_MS) return;
    last = { signal, at: now };
    seq++;
    const message: RelayedStop = { type: 'drover-stop', signal, seq, ...(why !== undefined && { why }) };
    if (child.connected) child.send(message, () => undefined);
  };
  const handlers = STOP_SIGNALS.map((signal) => [signal, () => relay(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const stopWatching = watchLaunchers((lost) => {
    if (seq === 0) relay('SIGTERM', `${lost}: stopping as for SIGTERM`);
  });

  child.on('error', (error) => {
    process.stderr.write(`drover: cannot start ${entry} with ${process.execPath}: ${error.message}\n`);
    process.exitCode = 1;
  });
  child.on('exit', (code, signal) => {
    stopWatching();
    for (const [name, handler] of handlers) process.off(name, handler);
    process.exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
  });
}
