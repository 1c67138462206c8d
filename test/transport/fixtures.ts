/**
 * Helpers shared by the transport tests: a ConnectionSpec for a test sshd, and ways to wait for
 * something observable (a TCP connection to go away, a command to start) without fixed sleeps.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { retryJitter } from '../../runner/transport/ssh.ts';
import type { ConnectionSpec } from '../../runner/transport/transport.ts';
import type { TestSshd } from '../support/sshd.ts';

/** A spec that logs in as root with the server's client key and knows its host key. */
export async function specFor(server: TestSshd, overrides: Partial<ConnectionSpec> = {}): Promise<ConnectionSpec> {
  const knownHosts = join(server.dir, 'known_hosts');
  await writeFile(knownHosts, `${server.knownHostsLine()}\n`);
  return {
    name: 'target',
    address: server.address,
    port: server.port,
    user: 'root',
    kind: 'ssh',
    ...(server.clientKey ? { privateKeyFile: server.clientKey.privateKeyFile } : {}),
    knownHostsFiles: [knownHosts],
    hostKeyPolicy: 'strict',
    connectTimeoutMs: 5000,
    keepaliveIntervalMs: 5000,
    connectRetries: 0,
    maxChannels: 8,
    ...overrides,
  };
}

/** Polls until `check` holds (or throws after `timeoutMs`), for effects that settle asynchronously. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Counts lines of a log matching a pattern. */
export function countMatches(text: string, pattern: RegExp): number {
  return text.split('\n').filter((line) => pattern.test(line)).length;
}

/**
 * A file a remote command creates once it is running, so a test acts on a running command (aborts it,
 * cuts its connection, reads the process list) when it is really running, not after a guessed delay.
 * The test sshd runs on this machine, so the test sees the file directly.
 */
export function runningMarker(): { path: string; touch: string; running: () => Promise<void>; remove: () => void } {
  const path = join(tmpdir(), `drover-running-${randomBytes(6).toString('hex')}`);
  return {
    path,
    touch: `touch ${path}`,
    running: () => eventually(() => existsSync(path), 30_000, `the command to start (${path})`),
    remove: () => rmSync(path, { force: true }),
  };
}

/**
 * Replaces the connect-retry jitter with a fixed value and counts the pauses (one per retry), so a test
 * asserts how many retries there were instead of guessing it from elapsed time. Call `restore` after.
 */
export function countRetries(fixed = 0.5): { pauses: () => number; restore: () => void } {
  const original = retryJitter.random;
  let pauses = 0;
  retryJitter.random = () => {
    pauses++;
    return fixed;
  };
  return {
    pauses: () => pauses,
    restore: () => {
      retryJitter.random = original;
    },
  };
}

/** Whether a process whose command line contains `marker` runs on this machine (the test sshd's target). */
export async function processRunning(marker: string): Promise<boolean> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args']);
  return stdout.split('\n').some((line) => line.includes(marker) && !line.includes('ps -eo'));
}
