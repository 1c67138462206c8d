/**
 * `audit merge` refuses parts of different runs: every run-start field that decides what ran (the command,
 * the extra variables, the tags…) must agree, and only what differs between the jobs of one run may
 * (run id, operator, controller, argv, paths). A table of run-start variants over two shard logs built in
 * memory with the real sealing code; the CLI runs are in merge.e2e.test.ts.
 */
import { expect } from 'chai';
import { mergeAuditLogs, MergeError } from '../../../runner/audit/merge.ts';
import { chainedLog } from '../../support/audit-log-fixture.ts';

type Start = Record<string, unknown>;

const playbookStart: Start = {
  kind: 'run-start',
  runId: '20261206T120000Z-aaaaaa',
  time: '2026-12-06T12:00:00.000Z',
  runKind: 'playbook',
  playbook: { path: '/srv/a/site.ts', sha256: 'a'.repeat(64) },
  git: { commit: 'c'.repeat(40), dirty: false },
  inventory: { path: '/srv/a/inventory.yaml', sha256: 'b'.repeat(64) },
  mode: 'apply',
  diff: false,
  extraVars: { app_port: { value: '80', from: '-e app_port=80' }, db_password: { value: '********', from: '-e db_password=********' } },
  tags: ['prep', 'web'],
  skipTags: [],
  operator: 'ci',
  controller: 'runner-1',
  argv: ['site.ts', '--shard', '1/2', '--audit-log', 'audit/s1.jsonl', '-e', 'app_port=80'],
  cwd: '/srv/a',
};

const execStart: Start = {
  kind: 'run-start',
  runId: '20261206T120000Z-bbbbbb',
  time: '2026-12-06T12:00:00.000Z',
  runKind: 'exec',
  inventory: { path: '/srv/a/inventory.yaml', sha256: 'b'.repeat(64) },
  adhoc: { module: 'shell', params: { cmd: 'hostname' } },
  mode: 'apply',
  diff: false,
  operator: 'ci',
  controller: 'runner-1',
  argv: ['exec', 'all', '--shard', '1/2', '--', 'hostname'],
  cwd: '/srv/a',
};

const moduleStart: Start = {
  ...execStart,
  runKind: 'module',
  adhoc: { module: 'sysctl', params: { name: 'net.ipv4.ip_forward', value: '1' } },
};

/** A whole shard log: its run-start (with shard index of 2 and one host) and its closing record. */
function shardLog(start: Start, index: number): string {
  const host = `h${index}`;
  return chainedLog([
    { ...start, shard: { index, count: 2, selectedHosts: 2, selectedDigest: 'd'.repeat(64), hosts: 1 }, hosts: [host] },
    {
      kind: 'run-end',
      runId: start.runId,
      time: '2026-12-06T12:00:09.000Z',
      recap: [{ host, ok: 1, changed: 0, failed: 0, skipped: 0, unreachable: 0, ignored: 0 }],
      exitCode: 0,
      interrupted: false,
      durationMs: 9000,
    },
  ]);
}

function merge(first: Start, second: Start) {
  return mergeAuditLogs({
    parts: [
      { file: 'audit/s1.jsonl', text: shardLog(first, 1), signature: { status: 'missing' } },
      { file: 'audit/s2.jsonl', text: shardLog(second, 2), signature: { status: 'missing' } },
    ],
    allowMissing: false,
    time: '2026-12-06T12:01:00.000Z',
  });
}

function refusal(first: Start, second: Start): string {
  try {
    merge(first, second);
  } catch (error) {
    if (error instanceof MergeError) return error.message;
    throw error;
  }
  throw new Error('merged, expected a refusal');
}

describe('audit merge: parts of one run', () => {
  it('refuses a part whose run differs in what it did, naming both files, the field, both values and what to do', () => {
    const cases: Array<[string, Start, Start, string]> = [
      ['another exec command', execStart, { ...execStart, adhoc: { module: 'shell', params: { cmd: 'echo a different command' } } }, 'command (after --) is "echo a different command" where s1.jsonl has "hostname"'],
      ['exec with --become', execStart, { ...execStart, adhoc: { ...(execStart.adhoc as object), become: true } }, '--become is true where s1.jsonl has false'],
      ['another module', moduleStart, { ...moduleStart, adhoc: { module: 'modprobe', params: { name: 'br_netfilter' } } }, 'module is "modprobe" where s1.jsonl has "sysctl"'],
      ['other module parameters', moduleStart, { ...moduleStart, adhoc: { module: 'sysctl', params: { name: 'net.ipv4.ip_forward', value: '0' } } }, 'module parameters is {"name":"net.ipv4.ip_forward","value":"0"}'],
      [
        'another extra variable value',
        playbookStart,
        { ...playbookStart, extraVars: { ...(playbookStart.extraVars as object), app_port: { value: '9999', from: '-e app_port=9999' } } },
        'extra variable app_port is "9999" where s1.jsonl has "80"',
      ],
      [
        'an extra variable only in one',
        playbookStart,
        { ...playbookStart, extraVars: { ...(playbookStart.extraVars as object), debug: { value: 'true', from: '-e debug=true' } } },
        'extra variable debug is "true" where s1.jsonl has (not set)',
      ],
      ['other tags', playbookStart, { ...playbookStart, tags: ['nothing'] }, '--tags is ["nothing"] where s1.jsonl has ["prep","web"]'],
      ['other skip-tags', playbookStart, { ...playbookStart, skipTags: ['slow'] }, '--skip-tags is ["slow"] where s1.jsonl has []'],
      ['a --limit', playbookStart, { ...playbookStart, limit: 'web' }, '--limit is "web" where s1.jsonl has (not set)'],
      ['check mode', playbookStart, { ...playbookStart, mode: 'check' }, 'mode is "check" where s1.jsonl has "apply"'],
      ['--detect-drift', { ...playbookStart, mode: 'check' }, { ...playbookStart, mode: 'check', detectDrift: true }, '--detect-drift is true where s1.jsonl has false'],
      ['--keep-going', playbookStart, { ...playbookStart, keepGoing: true }, '--keep-going is true where s1.jsonl has false'],
      ['another inventory', playbookStart, { ...playbookStart, inventory: { path: '/srv/a/inventory.yaml', sha256: 'e'.repeat(64) } }, `inventory sha256 is "${'e'.repeat(64)}"`],
      ['another commit', playbookStart, { ...playbookStart, git: { commit: 'f'.repeat(40), dirty: false } }, `git commit is "${'f'.repeat(40)}"`],
      ['another playbook', playbookStart, { ...playbookStart, playbook: { path: '/srv/a/site.ts', sha256: '1'.repeat(64) } }, `playbook sha256 is "${'1'.repeat(64)}"`],
      ['another saved plan', { ...playbookStart, plan: { path: 'p.json', sha256: '2'.repeat(64) } }, { ...playbookStart, plan: { path: 'p.json', sha256: '3'.repeat(64) } }, 'saved plan sha256 is'],
    ];
    for (const [what, first, second, field] of cases) {
      const message = refusal(first, second);
      expect(message, what).to.include('audit/s2.jsonl is not a part of the same run as audit/s1.jsonl: ');
      expect(message, what).to.include(`its ${field}`);
      expect(message, what).to.include('merge only the shards of one run, each run with the same command line but for --shard I/N and --audit-log');
    }
  });

  it('names every field that differs, not only the first', () => {
    const message = refusal(playbookStart, { ...playbookStart, tags: [], limit: 'db', mode: 'check' });
    expect(message).to.include('its mode is "check"');
    expect(message).to.include('its --limit is "db"');
    expect(message).to.include('its --tags is []');
  });

  it('merges parts that differ only in what differs between the jobs of one run', () => {
    const job2: Start = {
      ...playbookStart,
      runId: '20261206T120003Z-cccccc',
      time: '2026-12-06T12:00:03.000Z',
      operator: 'other',
      controller: 'runner-7',
      argv: ['site.ts', '--shard', '2/2', '--audit-log', 'audit/s2.jsonl', '-e', '@/home/runner/vars.yaml', '--diff'],
      cwd: '/home/runner/work',
      playbook: { path: '/home/runner/work/site.ts', sha256: 'a'.repeat(64) },
      inventory: { path: '/home/runner/work/inventory.yaml', sha256: 'b'.repeat(64) },
      // The same values from another argument; the same tags in another order; --diff only changes the display.
      extraVars: { db_password: { value: '********', from: '-e @/home/runner/vars.yaml' }, app_port: { value: '80', from: '-e @/home/runner/vars.yaml' } },
      tags: ['web', 'prep', 'web'],
      diff: true,
      git: { commit: 'c'.repeat(40), dirty: true },
    };
    expect(merge(playbookStart, job2).exitCode).to.equal(0);
    // A job run from a copy without .git records no commit: nothing to compare.
    const { git: _git, ...withoutGit } = job2;
    expect(merge(playbookStart, withoutGit).exitCode).to.equal(0);
    expect(merge(execStart, { ...execStart, runId: 'x', operator: 'other', argv: ['exec', 'all', '--shard', '2/2', '--', 'hostname'] }).exitCode).to.equal(0);
  });

  it('refuses a part whose shard no run writes (a crafted count of 1e9 ran the controller out of memory)', () => {
    for (const shard of [
      { index: 1, count: 1e9 },
      { index: '1', count: 2 },
      { index: 3, count: 2 },
      { index: 1.5, count: 2 },
    ]) {
      const crafted = shardLog(playbookStart, 1).replace('"index":1,"count":2', `"index":${JSON.stringify(shard.index)},"count":${shard.count}`);
      const text = chainedLog(
        crafted
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const { seq: _seq, prev: _prev, hash: _hash, records: _records, head: _head, ...body } = JSON.parse(line) as Record<string, unknown>;
            return body;
          }),
      );
      expect(() => mergeAuditLogs({ parts: [{ file: 'audit/s1.jsonl', text, signature: { status: 'missing' } }], allowMissing: true, time: '2026-12-06T12:01:00.000Z' })).to.throw(MergeError, /has a shard that no run writes/);
    }
  });
});
