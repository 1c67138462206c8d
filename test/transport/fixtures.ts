/**
 * Helpers shared by the transport tests: a ConnectionSpec for a test sshd, and a way to wait for
 * something observable (a TCP connection to go away) without fixed sleeps.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
