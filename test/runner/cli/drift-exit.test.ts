/**
 * `--check --detect-drift` as a table, on scripted hosts through the run context (startRun): which dry
 * runs exit DRIFT_EXIT_STATUS, which keep their own status, and that the flag is refused without --check.
 * The end-to-end run on lab hosts is test/cli/audit-report.lab.test.ts.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseCommonOptions, UsageError } from '../../../runner/cli/options.ts';
import { EXIT_AUDIT_INCOMPLETE, startRun, type RunContextSettings } from '../../../runner/cli/run-context.ts';
import { sh } from '../../../runner/command.ts';
import type { HostTarget } from '../../../runner/engine/host-session.ts';
import { runPlaybook } from '../../../runner/engine/run-playbook.ts';
import { DRIFT_EXIT_STATUS } from '../../../runner/events.ts';
import { ModuleError } from '../../../runner/module-error.ts';
import { defineModule, noChange } from '../../../runner/module.ts';
import { definePlaybook, s } from '../../../runner/playbook.ts';
import { ScriptedConnections, scriptedOsFact, scriptedTarget } from '../../support/scripted-connection.ts';

/** What each host's one task plans: nothing, a change, a change drover cannot predict, or a failure. */
type Outcome = 'in-sync' | 'change' | 'would-run' | 'fail';

const outcome = defineModule({
  name: 'outcome',
  summary: 'test: plans the outcome it is given',
  params: s.object({ outcome: s.enum(['in-sync', 'change', 'would-run', 'fail']) }),
  async plan(params) {
    if (params.outcome === 'in-sync') return noChange('already so');
    if (params.outcome === 'fail') throw new ModuleError('cannot plan', 'fix it');
    return { uncertain: params.outcome === 'would-run', changes: [{ summary: 'set it', commands: [{ run: sh`set-it` }] }] };
  },
});

const target = (name: string): HostTarget => scriptedTarget(name);

const osFact = scriptedOsFact;

const book = definePlaybook({ name: 'drift test' });

/** A dry run on hosts a and b with these outcomes; returns the exit status and the run-end record's. */
async function dryRun(argv: string[], outcomes: [Outcome, Outcome], dir: string, audit?: RunContextSettings['audit']): Promise<{ exitCode: number; recorded: unknown }> {
  const { options } = parseCommonOptions([...argv, '--json', '--keep-going', '--audit-log', join(dir, `${argv.join('')}-${outcomes.join('-')}${audit ? '-copied' : ''}.jsonl`)]);
  const targets = [target('a'), target('b')];
  // Check mode sends nothing that changes; any command at all would fail the test (no rule matches it).
  const hosts = new ScriptedConnections([]);
  const run = await startRun({ options, info: { runKind: 'playbook', inventory: null, mode: 'check', diff: false, tags: [], skipTags: [] }, hosts: targets, connector: hosts.connector, stdout: new PassThrough(), audit });
  const play = book.play({ name: 'p', hosts: 'all', tasks: async (t, host) => t.run(outcome, 'the task', { outcome: outcomes[host.name === 'a' ? 0 : 1] }) });
  await runPlaybook(
    book.playbook([play]),
    new Map([
      ['a', {}],
      ['b', {}],
    ]),
    {
      check: options.check,
      keepGoing: true,
      forks: 2,
      tags: { only: [], skip: [] },
      selectHosts: () => targets,
      inventoryHosts: () => targets,
      sessions: run.sessions,
      bus: run.bus,
      state: run.state,
      redactor: run.redactor,
      clock: run.clock,
      modules: {},
      osFact,
    },
  );
  const exitCode = await run.finish();
  const lines = readFileSync(run.auditPath, 'utf8').trim().split('\n');
  return { exitCode, recorded: (JSON.parse(lines.at(-1)!) as { exitCode?: unknown }).exitCode };
}

describe('--check --detect-drift', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-drift-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const table: Array<[string[], [Outcome, Outcome], number]> = [
    [['--check', '--detect-drift'], ['change', 'in-sync'], DRIFT_EXIT_STATUS],
    [['--check', '--detect-drift'], ['would-run', 'in-sync'], DRIFT_EXIT_STATUS],
    [['--check', '--detect-drift'], ['in-sync', 'in-sync'], 0],
    [['--check', '--detect-drift'], ['change', 'fail'], 2],
    [['--dry-run', '--detect-drift'], ['change', 'change'], DRIFT_EXIT_STATUS],
    [['--check'], ['change', 'in-sync'], 0],
  ];
  for (const [argv, outcomes, expected] of table) {
    it(`${argv.join(' ')} with ${outcomes.join(' and ')} → exit ${expected}, recorded in run-end`, async () => {
      const { exitCode, recorded } = await dryRun(argv, outcomes, dir);
      expect([exitCode, recorded]).to.deep.equal([expected, expected]);
    });
  }

  it('an audit copy that failed (exit 5) wins over pending drift: the drift verdict itself was not recorded whole', async () => {
    const dead = { label: 'a dead collector', failure: 'it exited 1', send: () => {}, end: async () => {} };
    const { exitCode, recorded } = await dryRun(['--check', '--detect-drift'], ['change', 'in-sync'], dir, { copies: [dead] });
    // The local log records the drift status; the process reports the incomplete trail.
    expect([exitCode, recorded]).to.deep.equal([EXIT_AUDIT_INCOMPLETE, DRIFT_EXIT_STATUS]);
  });

  it('is refused without --check, naming the fix', () => {
    expect(() => parseCommonOptions(['--detect-drift'])).to.throw(UsageError, '--detect-drift reports pending changes of a dry run: use it with --check');
  });
});
