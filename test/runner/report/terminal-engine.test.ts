/**
 * The grouped terminal view fed by the real engine and run context (startRun, runPlaybook) on scripted
 * hosts (test/support/scripted-connection.ts): the events arrive in the order the engine really sends
 * them — hosts at their own pace, a host whose code skips a task, a failure under --keep-going, serial
 * batches — and every task must come out once, complete, with the recap merged.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CommonOptions } from '../../../runner/cli/options.ts';
import { startRun } from '../../../runner/cli/run-context.ts';
import { sh } from '../../../runner/command.ts';
import { runPlaybook } from '../../../runner/engine/run-playbook.ts';
import type { Fact } from '../../../runner/facts.ts';
import { defineModule, noChange } from '../../../runner/module.ts';
import { definePlaybook, s } from '../../../runner/playbook.ts';
import { ScriptedConnections, type ScriptRule, scriptedOsFact, scriptedTarget } from '../../support/scripted-connection.ts';

const settingFact = (name: string): Fact<string> => ({ key: `setting:${name}`, script: sh`read-setting ${name}`, parse: (output) => output.stdout.trim() });

/** A setting read through a fact and written when it differs. */
const setting = defineModule({
  name: 'setting',
  summary: 'test: a setting behind a fact',
  params: s.object({ name: s.string({ pattern: /^[a-z]+$/ }), value: s.string() }),
  async plan(params, host) {
    const current = await host.fact(settingFact(params.name));
    if (current === params.value) return noChange(`${params.name} is already ${params.value}`);
    return { changes: [{ summary: `set ${params.name} ${current} → ${params.value}`, commands: [{ run: sh`write-setting ${params.name} ${params.value}` }] }] };
  },
});

const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8'];

/** h7 already has mode fast; writing it fails on h8; every host has tuning off and extra x. */
const RULES: ScriptRule[] = [
  { match: /^read-setting mode/, reply: (_body, host) => ({ stdout: host === 'h7' ? 'fast\n' : 'slow\n' }) },
  { match: /^read-setting tuning/, reply: { stdout: 'off\n' } },
  { match: /^read-setting extra/, reply: { stdout: 'x\n' } },
  { match: /^write-setting mode/, reply: (_body, host) => (host === 'h8' ? { exitCode: 1, stderr: 'read-only file system\n' } : {}) },
  { match: /^write-setting tuning/, reply: {} },
];

const book = definePlaybook({ name: 'grouped' });

/** A standard output that says it is a 100-column terminal, as a pty would. */
function fakeTerminal(): PassThrough {
  return Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 24, cursorTo: () => true, moveCursor: () => true, clearLine: () => true });
}

async function run(playbook: ReturnType<typeof book.playbook>, hostView: CommonOptions['hostView'], stdout: PassThrough = new PassThrough()): Promise<{ text: string; exitCode: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-grouped-'));
  try {
    const hosts = new ScriptedConnections(RULES);
    const targets = HOSTS.map((name) => scriptedTarget(name));
    let text = '';
    stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const context = await startRun({
      options: {
        check: false,
        diff: false,
        json: false,
        hostView,
        verbose: false,
        forks: 8,
        keepGoing: true,
        tags: [],
        skipTags: [],
        auditLog: join(dir, 'audit.jsonl'),
        timeoutSeconds: 60,
        hostKeyPolicy: 'strict',
        askBecomePass: false,
        help: false,
      },
      info: { runKind: 'playbook', playbook: { path: 'fleet.ts', sha256: 'x' }, inventory: null, mode: 'apply', diff: false, tags: [], skipTags: [] },
      hosts: targets,
      connector: hosts.connector,
      stdout,
    });
    await runPlaybook(playbook, new Map(HOSTS.map((name) => [name, {}])), {
      check: false,
      keepGoing: true,
      forks: 8,
      tags: { only: [], skip: [] },
      selectHosts: () => targets,
      inventoryHosts: () => targets,
      sessions: context.sessions,
      bus: context.bus,
      state: context.state,
      redactor: context.redactor,
      clock: context.clock,
      modules: { setting },
      osFact: scriptedOsFact,
    });
    const exitCode = await context.finish();
    return { text: text.replace(/^drover apply: .*\n/, '').replace(/RECAP \([\d.]+ s\)/, 'RECAP'), exitCode };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tasks = async (t: Parameters<Parameters<typeof book.play>[0]['tasks']>[0], host: { name: string }) => {
  await t.run(setting, 'mode', { name: 'mode', value: 'fast' });
  // h2's code skips this task: it never reports it.
  if (host.name !== 'h2') await t.run(setting, 'tuning', { name: 'tuning', value: 'on' });
  await t.run(setting, 'last', { name: 'extra', value: 'x' });
};

describe('report/terminal: the grouped view fed by the engine', function () {
  this.timeout(60_000);

  it('prints each task once, complete, with a host that skipped a task in code and a failure under --keep-going', async () => {
    const { text, exitCode } = await run(book.playbook([book.play({ name: 'configure', hosts: 'all', tasks })]), 'auto');
    expect(exitCode).to.equal(2);
    const failure = text.match(/^ {2}failed +h8 {2}mode \[setting\]\n(?: {6}.*\n)+/m)?.[0];
    expect(failure, text).to.include('read-only file system');
    expect(text.replace(failure!, '  FAILURE OF h8\n').split('\n')).to.deep.equal([
      '',
      'PLAY configure · h[1:8] (8 hosts)',
      '  mode [setting]  ok 1 · changed 6 · failed 1',
      '    changed h[1:6] (6 hosts)',
      '      set mode slow → fast',
      '  FAILURE OF h8',
      '  tuning [setting]  changed 6',
      '    changed h[1,3:7] (6 hosts)',
      '      set tuning off → on',
      '  last [setting]  ok 7',
      '',
      'RECAP',
      '  h[1,3:6] : ok=1 changed=2 failed=0 skipped=0 unreachable=0 ignored=0 · 5 hosts',
      '  h2       : ok=1 changed=1 failed=0 skipped=0 unreachable=0 ignored=0',
      '  h7       : ok=2 changed=1 failed=0 skipped=0 unreachable=0 ignored=0',
      '  h8       : ok=0 changed=0 failed=1 skipped=0 unreachable=0 ignored=0',
      'exit 2: failed',
      '',
    ]);
  });

  it('prints serial batches apart, each with its own hosts', async () => {
    const { text } = await run(book.playbook([book.play({ name: 'rolling', hosts: 'all', serial: 4, tasks })]), 'auto');
    expect(text).to.include('PLAY rolling (batch 1/2) · h[1:4] (4 hosts)\n  mode [setting]  changed 4\n    changed h[1:4] (4 hosts)\n');
    expect(text).to.include('  tuning [setting]  changed 3\n    changed h[1,3:4] (3 hosts)\n');
    expect(text).to.include('PLAY rolling (batch 2/2) · h[5:8] (4 hosts)\n  mode [setting]  ok 1 · changed 2 · failed 1\n    changed h[5:6] (2 hosts)\n');
    expect(text.match(/^ {2}last \[setting\] {2}ok \d$/gm)).to.deep.equal(['  last [setting]  ok 4', '  last [setting]  ok 3']);
  });

  it('gives a line per host with --per-host, as before', async () => {
    const { text } = await run(book.playbook([book.play({ name: 'configure', hosts: 'all', tasks })]), 'per-host');
    expect(text).to.include('PLAY configure · h1, h2, h3, h4, h5, h6, h7, h8\n');
    for (const host of ['h1', 'h3', 'h4', 'h5', 'h6', 'h7']) expect(text).to.match(new RegExp(`^ {2}changed +${host} {2}tuning \\[setting\\]$`, 'm'));
    expect(text).to.match(/^ {2}h2 +: ok=1 changed=1/m);
  });

  it('shows the progress line on a terminal: startRun loads the spinner only for one', async () => {
    const ci = process.env.CI;
    delete process.env.CI;
    try {
      const { text } = await run(book.playbook([book.play({ name: 'configure', hosts: 'all', tasks })]), 'auto', fakeTerminal());
      expect(text).to.match(/mode \[setting\]: \d of 8 hosts done/);
    } finally {
      if (ci !== undefined) process.env.CI = ci;
    }
  });
});
