/**
 * Audit logs for report tests, chained with the real sealing code (runner/audit/chain.ts) and closed as
 * AuditWriter closes them, so the chain verifies: a fleet dry run and builders for other shapes.
 */
import { closingFields, CLOSING_KIND, sealRecord } from '../../runner/audit/chain.ts';

/** A chained log of these bodies, closed by its run-end record, as AuditWriter writes it. */
export function chainedLog(bodies: Array<Record<string, unknown>>): string {
  const lines: string[] = [];
  for (const [index, body] of bodies.entries()) {
    const seq = index + 1;
    const previous = lines[lines.length - 1];
    lines.push(sealRecord(seq, previous, body.kind === CLOSING_KIND ? { ...body, ...closingFields(seq, previous) } : body));
  }
  return `${lines.join('\n')}\n`;
}

export const RUN = '20261206T120000Z-abcdef';
export const time = '2026-12-06T12:00:00.000Z';

export function start(hosts: string[], mode = 'check'): Record<string, unknown> {
  return {
    kind: 'run-start',
    runId: RUN,
    time,
    runKind: 'playbook',
    playbook: { path: '/srv/playbooks/cluster.ts', sha256: 'a'.repeat(64) },
    git: { commit: 'c0ffee'.padEnd(40, '0'), dirty: false },
    inventory: { path: '/srv/inventory.yaml', sha256: 'b'.repeat(64) },
    mode,
    diff: true,
    tags: [],
    skipTags: [],
    operator: 'alice',
    controller: 'bastion-1',
    argv: ['cluster.ts', '--check'],
    cwd: '/srv',
    hosts,
  };
}

export function task(host: string, name: string, status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'task',
    runId: RUN,
    time,
    host,
    task: name,
    module: 'sysctl',
    status,
    changed: status === 'changed',
    checkMode: true,
    uncertain: false,
    msg: status,
    changes: [],
    diffs: [],
    commands: [],
    rc: null,
    stderrTail: '',
    durationMs: 5,
    ...extra,
  };
}

export function end(hosts: string[], exitCode: number): Record<string, unknown> {
  return { kind: 'run-end', runId: RUN, time: '2026-12-06T12:00:09.000Z', recap: hosts.map((host) => ({ host, ok: 1, changed: 1, failed: 0, skipped: 0, unreachable: 0, ignored: 0 })), exitCode, interrupted: false, durationMs: 9000 };
}

export const nodes = Array.from({ length: 19 }, (_, index) => `node${String(index + 1).padStart(2, '0')}`);
export const forward = (before: string) => ({
  changes: [`set net.ipv4.ip_forward ${before} → 1`],
  diffs: [{ kind: 'value', name: 'net.ipv4.ip_forward', before, after: '1' }],
});

/** A fleet dry run: 18 nodes change the same way, node19 differently, db1 fails, db2 is unreachable. */
export function fleetLog(): string {
  const hosts = [...nodes, 'db1', 'db2'];
  return chainedLog([
    start(hosts),
    { kind: 'play-start', runId: RUN, time, play: 'prepare', hosts, batch: 1, batches: 1 },
    ...nodes.map((host) => task(host, 'ip forwarding', 'changed', host === 'node19' ? forward('2') : forward('0'))),
    task('db1', 'ip forwarding', 'failed', {
      msg: 'sysctl -w failed on db1: permission denied',
      failure: { kind: 'command-failed', hint: 'run with become' },
      commands: [{ line: 'sysctl -w net.ipv4.ip_forward=1', executed: true, exitCode: 255, stderrTail: 'permission denied' }],
    }),
    task('db2', 'ip forwarding', 'unreachable', { msg: 'cannot connect to db2: connection refused', failure: { kind: 'unreachable', hint: 'is sshd running?' } }),
    { kind: 'host-unreachable', runId: RUN, time, host: 'db2', message: 'cannot connect to db2: connection refused', hint: 'is sshd running?' },
    ...nodes.map((host) => task(host, 'swap off', host === 'node05' ? 'skipped' : 'ok')),
    { kind: 'play-end', runId: RUN, time, play: 'prepare' },
    end(hosts, 2),
  ]);
}
