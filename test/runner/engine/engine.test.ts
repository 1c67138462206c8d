/**
 * The engine in-process, on scripted hosts (test/support/scripted-connection.ts): playbook policy
 * (handlers, ignoreErrors, fail-fast, --keep-going, serial, maxFailPercentage, outputs between plays,
 * forks, tags) and every branch of runTask (check mode, readOnly, interpret, a failure after changing
 * commands ran, fact caching and invalidation, diagnosis, unreachable hosts). Each case asserts what the
 * hosts received and the order of the run's events, not only the final status.
 *
 * The same engine against real hosts is covered by test/cli/playbook.lab.test.ts.
 */
import { expect } from 'chai';
import { waitFor } from '../../../modules/wait-for.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { startRun } from '../../../runner/cli/run-context.ts';
import { sh } from '../../../runner/command.ts';
import { HostSession, type HostTarget } from '../../../runner/engine/host-session.ts';
import { pendingHandlersFact, pendingHandlersKey } from '../../../runner/engine/pending-handlers-file.ts';
import { runPlaybook } from '../../../runner/engine/run-playbook.ts';
import { RunState } from '../../../runner/engine/run-state.ts';
import { SessionPool } from '../../../runner/engine/session-pool.ts';
import { EventBus, type RunEvent } from '../../../runner/events.ts';
import { FactError, type Fact } from '../../../runner/facts.ts';
import { ModuleError } from '../../../runner/module-error.ts';
import { defineModule, noChange, type Interpretation } from '../../../runner/module.ts';
import { definePlaybook, s, type Playbook } from '../../../runner/playbook.ts';
import type { TaskResult } from '../../../runner/result.ts';
import { Redactor } from '../../../runner/secret.ts';
import { Gate, ScriptedConnections, type ScriptRule, scriptedOsFact, scriptedTarget } from '../../support/scripted-connection.ts';

// --- Modules made for these tests: each exercises one path of the engine and nothing else. ---

/** A setting read through a cached fact: unchanged when the host already has the value. */
const settingFact = (name: string): Fact<string> => ({
  key: `setting:${name}`,
  script: sh`read-setting ${name}`,
  parse: (output) => {
    if (output.exitCode !== 0) throw new FactError(`setting:${name}`, `read-setting exited with ${output.exitCode}`);
    return output.stdout.trim();
  },
});

const stableFact: Fact<string> = { key: 'kernel', stable: true, script: sh`read-kernel`, parse: (output) => output.stdout.trim() };

const setting = defineModule({
  name: 'setting',
  summary: 'test: a setting behind a cached fact',
  params: s.object({ name: s.string({ pattern: /^[a-z]+$/ }), value: s.string() }),
  async plan(params, host) {
    const current = await host.fact(settingFact(params.name));
    if (current === params.value) return noChange(`${params.name} is already ${params.value}`);
    return {
      changes: [
        {
          summary: `set ${params.name} ${current} → ${params.value}`,
          diff: { kind: 'value', name: params.name, before: current, after: params.value },
          commands: [{ run: sh`write-setting ${params.name} ${params.value}` }],
        },
      ],
    };
  },
});

/** Runs the steps it is given, one command each: the plan is the parameters. */
const steps = defineModule({
  name: 'steps',
  summary: 'test: a plan made of the given steps',
  params: s.object({
    steps: s.array(s.string(), { nonEmpty: true }),
    readOnly: s.boolean().default(false),
    uncertain: s.boolean().default(false),
    /** Steps whose command is read-only even in a changing plan. */
    probes: s.array(s.string()).default([]),
    okExitCodes: s.array(s.int()).optional(),
    diagnose: s.boolean().default(false),
    verdict: s.enum(['none', 'unchanged', 'failed']).default('none'),
    askKernel: s.boolean().default(false),
  }),
  async plan(params, host) {
    if (params.askKernel) await host.fact(stableFact);
    const seen: string[] = [];
    return {
      readOnly: params.readOnly,
      uncertain: params.uncertain,
      changes: params.steps.map((step) => ({
        summary: `step ${step}`,
        commands: [
          {
            run: sh`step ${step}`,
            readOnly: params.readOnly || params.probes.includes(step) || undefined,
            okExitCodes: params.okExitCodes,
            diagnose: params.diagnose ? sh`why ${step}` : undefined,
          },
        ],
      })),
      interpret:
        params.verdict === 'none'
          ? undefined
          : (outcomes): Interpretation => {
              seen.push(...outcomes.map((outcome) => outcome.stdout.trim()));
              return params.verdict === 'unchanged' ? { changed: false } : { failed: `verdict on ${seen.join(',')}` };
            },
    };
  },
});

/** A planner that throws the kind of error it is told to. */
const broken = defineModule({
  name: 'broken',
  summary: 'test: a planner that throws',
  params: s.object({ kind: s.enum(['module', 'fact', 'bug']) }),
  async plan(params) {
    if (params.kind === 'module') throw new ModuleError('dest must be absolute', 'give an absolute path');
    if (params.kind === 'fact') throw new FactError('thing', 'unparseable output');
    throw new TypeError('cannot read properties of undefined');
  },
});

// --- The harness: real HostSession, SessionPool, RunState and EventBus over the scripted connector. ---

const target = (name: string, groups: string[] = ['web']): HostTarget => scriptedTarget(name, groups);
const osFact = scriptedOsFact;

interface Harness {
  hosts: ScriptedConnections;
  events: RunEvent[];
  state: RunState;
  results: TaskResult[];
  /** The run as one line per event: `play-start P [a b] 1/2`, `a: T changed`, `stopping fail-fast`… */
  timeline: string[];
  /** The pauses between retry attempts, in ms, in order (the harness does not wait). */
  sleeps: number[];
}

async function runScripted(playbook: Playbook<any>, hostNames: string[], rules: ScriptRule[], options: { check?: boolean; keepGoing?: boolean; forks?: number; only?: string[]; unreachable?: string[] } = {}): Promise<Harness> {
  // A play with handlers first reads the host's pending-handlers file (none here; test/runner/engine/handlers.test.ts has them).
  const hosts = new ScriptedConnections([...rules, { match: readPending, reply: { stdout: 'absent\n' } }], { unreachable: options.unreachable });
  const targets = hostNames.map((name) => target(name));
  const redactor = new Redactor();
  const state = new RunState();
  const events: RunEvent[] = [];
  const bus = new EventBus('engine-test', [{ handle: (event) => events.push(event) }]);
  const sessions = new SessionPool((host) => new HostSession(host, hosts.connector, redactor, { defaultTimeoutMs: 60_000 }));
  const select = (pattern: string) => targets.filter((host) => pattern === 'all' || host.name === pattern || host.groups.includes(pattern));
  const sleeps: number[] = [];
  await runPlaybook(playbook, new Map(targets.map((host) => [host.name, {}])), {
    check: options.check ?? false,
    keepGoing: options.keepGoing ?? false,
    forks: options.forks ?? 10,
    tags: { only: options.only ?? [], skip: [] },
    selectHosts: select,
    inventoryHosts: select,
    sessions,
    bus,
    state,
    redactor,
    clock: () => 0,
    modules: { setting, steps },
    osFact,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  await sessions.closeAll();
  const results = events.flatMap((event) => (event.kind === 'task-result' ? [event.result] : []));
  return { hosts, events, state, results, timeline: events.map(describeEvent), sleeps };
}

function describeEvent(event: RunEvent): string {
  switch (event.kind) {
    case 'play-start':
      return `play-start ${event.play} [${event.hosts.join(' ')}] ${event.batch}/${event.batches}`;
    case 'play-end':
      return `play-end ${event.play}`;
    case 'task-start':
      return `${event.host}: start ${event.task}`;
    case 'task-result':
      return `${event.result.host}: ${event.handler ? 'handler ' : ''}${event.result.task} ${event.result.status}`;
    case 'stopping':
      return `stopping ${event.reason}`;
    case 'task-retry':
      return `${event.host}: retry ${event.task} ${event.attempt}/${event.attempts} ${event.status}`;
    case 'host-unreachable':
      return `unreachable ${event.host}`;
    case 'warning':
      return `warning ${event.message}`;
    default:
      return event.kind;
  }
}

const book = definePlaybook({ name: 'engine test' });
/** The probe of the pending-handlers state file a play with handlers sends first on each host. */
const readPending = pendingHandlersFact(pendingHandlersKey('engine test')).script.text;
const ok: ScriptRule = { match: /^step ok/, reply: { stdout: 'ok-out\n' } };
const fail: ScriptRule = { match: /^step fail/, reply: { exitCode: 3, stderr: 'it broke\n' } };

describe('engine: runTask on a scripted host', () => {
  it("reports ok with the planner's reason and sends only the probe when nothing is to do", async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(setting, 'mode', { name: 'mode', value: 'fast' }) });
    const run = await runOn(play, ['a'], [{ match: 'read-setting mode', reply: { stdout: 'fast\n' } }]);
    expect(run.hosts.commands('a')).to.deep.equal(['read-setting mode']);
    expect(run.results).to.have.length(1);
    expect(run.results[0]).to.include({ status: 'ok', changed: false, msg: 'mode is already fast' });
    expect(run.timeline).to.deep.equal(['play-start p [a] 1/1', 'a: start mode', 'a: mode ok', 'play-end p']);
  });

  it("runs the plan's commands after the probe and reports changed with the diff", async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(setting, 'mode', { name: 'mode', value: 'fast' }) });
    const run = await runOn(
      play,
      ['a'],
      [
        { match: 'read-setting mode', reply: { stdout: 'slow\n' } },
        { match: 'write-setting', reply: {} },
      ],
    );
    expect(run.hosts.commands('a')).to.deep.equal(['read-setting mode', 'write-setting mode fast']);
    expect(run.results[0]).to.include({ status: 'changed', changed: true, msg: 'set mode slow → fast', rc: 0 });
    expect(run.results[0]!.diffs).to.deep.equal([{ kind: 'value', name: 'mode', before: 'slow', after: 'fast' }]);
    expect(run.results[0]!.commands.map((command) => command.executed)).to.deep.equal([true]);
  });

  it('in check mode reports the plan as changed and sends no changing command', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(setting, 'mode', { name: 'mode', value: 'fast' }) });
    const run = await runOn(play, ['a'], [{ match: 'read-setting mode', reply: { stdout: 'slow\n' } }], { check: true });
    expect(run.hosts.commands('a')).to.deep.equal(['read-setting mode']);
    expect(run.results[0]).to.include({ status: 'changed', changed: true, checkMode: true });
    expect(run.results[0]!.commands).to.have.length(1);
    expect(run.results[0]!.commands[0]).to.include({ executed: false, display: 'write-setting mode fast', exitCode: null });
  });

  it('in check mode an uncertain plan says "would run"', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'maybe', { steps: ['ok1'], uncertain: true }) });
    const run = await runOn(play, ['a'], [], { check: true });
    expect(run.hosts.commands()).to.deep.equal([]);
    expect(run.results[0]).to.include({ status: 'changed', uncertain: true, msg: 'would run: step ok1' });
  });

  it('runs a readOnly plan in check mode too and reports ok, not changed', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'look', { steps: ['ok1', 'ok2'], readOnly: true }) });
    const run = await runOn(play, ['a'], [ok], { check: true });
    expect(run.hosts.commands('a')).to.deep.equal(['step ok1', 'step ok2']);
    expect(run.results[0]).to.include({ status: 'ok', changed: false, stdout: 'ok-out\n', rc: 0 });
    expect(run.results[0]!.commands.map((command) => command.executed)).to.deep.equal([true, true]);
  });

  it('in check mode a read-only command that fails after a predicted change on any host "would run"; before any, it fails', async () => {
    // b waits for a: its readiness check reads what a's earlier task would have started.
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t, host) => {
        if (host.name === 'a') await t.run(setting, 'start the server', { name: 'mode', value: 'fast' });
        else await new Promise((resolve) => setTimeout(resolve, 20));
        await t.run(steps, 'server ready', { steps: ['down'], readOnly: true }, { retry: { attempts: 5, delaySeconds: 1 } });
      },
    });
    const refused: ScriptRule = { match: /^step down/, reply: { exitCode: 7, stderr: 'connection refused\n' } };
    const dry = await runOn(play, ['a', 'b'], [{ match: 'read-setting mode', reply: { stdout: 'slow\n' } }, refused], { check: true });
    const ready = dry.results.filter((result) => result.task === 'server ready');
    expect(ready.map((result) => [result.host, result.status, result.uncertain])).to.deep.equal([
      ['a', 'changed', true],
      ['b', 'changed', true],
    ]);
    expect(ready.find((result) => result.host === 'b')!.msg).to.match(/^would run \(cannot know: depends on "start the server" on a, which would change what this read may find first\): command exited with 7/);
    expect(ready.find((result) => result.host === 'a')!.msg).to.match(/^would run \(cannot know: depends on "start the server", which/);
    // Not retried: a prediction is not an attempt.
    expect(dry.sleeps).to.deep.equal([]);
    expect(dry.state.failedHosts.size).to.equal(0);

    // Nothing predicted before it (the setting already as asked): the read's failure is the apply's, and stands.
    const quiet = await runOn(play, ['a'], [{ match: 'read-setting mode', reply: { stdout: 'fast\n' } }, refused], { check: true });
    expect(quiet.results.find((result) => result.task === 'server ready')).to.include({ status: 'failed' });
  });

  it('in check mode a wait after a predicted change does not wait: it "would run", naming the change', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(setting, 'start the server', { name: 'mode', value: 'fast' });
        await t.run(waitFor, 'server port', { port: 6443, timeout: 300 });
      },
    });
    const dry = await runOn(play, ['a'], [{ match: 'read-setting mode', reply: { stdout: 'slow\n' } }], { check: true });
    const wait = dry.results.find((result) => result.task === 'server port')!;
    expect(wait).to.include({ status: 'changed', uncertain: true });
    expect(wait.msg).to.equal('would run (cannot know: depends on "start the server", which would change what this waits for first): wait for TCP port 6443 on 127.0.0.1 to be open');
    // The wait's loop was never sent: only the setting was read.
    expect(dry.hosts.commands('a')).to.deep.equal(['read-setting mode']);
  });

  it('lets interpret turn a run into "unchanged", seeing every outcome in order', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'cmd', { steps: ['ok1', 'ok2'], verdict: 'unchanged' }) });
    const run = await runOn(play, ['a'], [ok]);
    expect(run.hosts.commands('a')).to.deep.equal(['step ok1', 'step ok2']);
    expect(run.results[0]).to.include({ status: 'ok', changed: false });
    expect(run.results[0]!.changes).to.deep.equal([]);
  });

  it('lets interpret fail the task after its commands ran, with the verdict as the message', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'cmd', { steps: ['ok1', 'ok2'], verdict: 'failed' }) });
    const run = await runOn(
      play,
      ['a'],
      [
        { match: 'step ok1', reply: { stdout: 'one\n' } },
        { match: 'step ok2', reply: { stdout: 'two\n' } },
      ],
    );
    expect(run.results[0]).to.include({ status: 'failed', changed: true, msg: 'verdict on one,two', stdout: 'two\n' });
    expect(run.results[0]!.failure?.kind).to.equal('command-failed');
    expect(run.state.exitCode()).to.equal(2);
  });

  it('a failure after a changing command ran: changed, later commands not sent, the rest of the plan listed', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'three', { steps: ['ok1', 'fail2', 'ok3'] }) });
    const run = await runOn(play, ['a'], [ok, fail]);
    expect(run.hosts.commands('a')).to.deep.equal(['step ok1', 'step fail2']);
    const result = run.results[0]!;
    expect(result).to.include({ status: 'failed', changed: true, rc: 3, stderr: 'it broke\n' });
    expect(result.msg).to.equal('command exited with 3: step fail2\nstderr:\nit broke');
    expect(result.changes).to.deep.equal(['step ok1', 'step fail2', 'step ok3']);
    expect(result.commands.map((command) => command.exitCode)).to.deep.equal([0, 3]);
  });

  it('a failure of the first command is not a change', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'two', { steps: ['fail1', 'ok2'] }) });
    const run = await runOn(play, ['a'], [ok, fail]);
    expect(run.hosts.commands('a')).to.deep.equal(['step fail1']);
    expect(run.results[0]).to.include({ status: 'failed', changed: false, rc: 3 });
  });

  it('accepts the exit codes a command declares as success', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'grep-like', { steps: ['fail1', 'ok2'], okExitCodes: [0, 3] }) });
    const run = await runOn(play, ['a'], [ok, fail]);
    expect(run.hosts.commands('a')).to.deep.equal(['step fail1', 'step ok2']);
    expect(run.results[0]).to.include({ status: 'changed', rc: 0 });
  });

  it("adds the diagnosis command's output to a failure, and runs it right after the failed command", async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'start', { steps: ['fail1'], diagnose: true }) });
    const run = await runOn(play, ['a'], [fail, { match: 'why fail1', reply: { stdout: 'journal: unit crashed\n' } }]);
    expect(run.hosts.commands('a')).to.deep.equal(['step fail1', 'why fail1']);
    expect(run.results[0]!.msg).to.equal('command exited with 3: step fail1\nstderr:\nit broke\ndiagnosis:\njournal: unit crashed');
  });

  it('probes a fact once per host and reuses it until a change may have made it stale', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(setting, 'first', { name: 'mode', value: 'slow' });
        await t.run(setting, 'second', { name: 'mode', value: 'slow' });
        await t.run(setting, 'change', { name: 'mode', value: 'fast' });
        await t.run(setting, 'after', { name: 'mode', value: 'fast' });
      },
    });
    let value = 'slow';
    const run = await runOn(
      play,
      ['a'],
      [
        { match: 'read-setting mode', reply: () => ({ stdout: `${value}\n` }) },
        {
          match: 'write-setting mode fast',
          reply: () => {
            value = 'fast';
            return {};
          },
        },
      ],
    );
    expect(run.hosts.commands('a')).to.deep.equal(['read-setting mode', 'write-setting mode fast', 'read-setting mode']);
    expect(run.results.map((result) => `${result.task} ${result.status}`)).to.deep.equal(['first ok', 'second ok', 'change changed', 'after ok']);
  });

  it('keeps stable facts after a change and drops the others, also when the change failed midway', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'k1', { steps: ['ok1'], askKernel: true });
        await t.run(setting, 's1', { name: 'mode', value: 'x' });
        await t.run(steps, 'half', { steps: ['ok2', 'fail3'], askKernel: true }, { ignoreErrors: true });
        await t.run(setting, 's2', { name: 'mode', value: 'x' });
        await t.run(steps, 'k2', { steps: ['ok4'], askKernel: true });
      },
    });
    const run = await runOn(play, ['a'], [ok, fail, { match: 'read-kernel', reply: { stdout: '6.1\n' } }, { match: 'read-setting', reply: { stdout: 'x\n' } }]);
    expect(run.hosts.commands('a')).to.deep.equal(['read-kernel', 'step ok1', 'read-setting mode', 'step ok2', 'step fail3', 'read-setting mode', 'step ok4']);
  });

  it('keeps facts when only a read-only command of the plan ran before it failed', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(setting, 's1', { name: 'mode', value: 'x' });
        await t.run(steps, 'probe fails', { steps: ['fail1'], probes: ['fail1'] }, { ignoreErrors: true });
        await t.run(setting, 's2', { name: 'mode', value: 'x' });
      },
    });
    const run = await runOn(play, ['a'], [fail, { match: 'read-setting', reply: { stdout: 'x\n' } }]);
    expect(run.hosts.commands('a')).to.deep.equal(['read-setting mode', 'step fail1']);
    expect(run.results.map((result) => `${result.task} ${result.status} ${result.changed}`)).to.deep.equal(['s1 ok false', 'probe fails failed false', 's2 ok false']);
  });

  it('refuses invalid parameters before touching the host', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(setting, 'bad', { name: 'NOT OK', value: 'x' }) });
    const run = await runOn(play, ['a'], []);
    // The login before the play (fail-fast covers reachability) is all that reaches the host.
    expect(run.hosts.log.map((entry) => entry.event)).to.deep.equal(['connect', 'close']);
    expect(run.results[0]).to.include({ status: 'failed' });
    expect(run.results[0]!.msg).to.match(/^invalid parameter for setting: name: /);
    expect(run.results[0]!.failure?.kind).to.equal('invalid-input');
  });

  it('classifies planner errors: ModuleError is invalid input, FactError a probe failure, anything else a bug', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        for (const kind of ['module', 'fact', 'bug'] as const) await t.run(broken, kind, { kind }, { ignoreErrors: true });
      },
    });
    const run = await runOn(play, ['a'], []);
    expect(run.results.map((result) => [result.task, result.failure?.kind, result.msg])).to.deep.equal([
      ['module', 'invalid-input', 'dest must be absolute'],
      ['fact', 'probe-failed', 'fact thing: unparseable output'],
      ['bug', 'internal', "unexpected error while reading the host's state: cannot read properties of undefined"],
    ]);
    expect(run.state.exitCode()).to.equal(0);
  });

  it('a timed-out probe fails the task as a probe failure, without running the plan', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(setting, 'slow probe', { name: 'mode', value: 'x' }) });
    const run = await runOn(play, ['a'], [{ match: 'read-setting', reply: { timedOut: true } }]);
    expect(run.hosts.commands('a')).to.deep.equal(['read-setting mode']);
    expect(run.results[0]).to.include({ status: 'failed' });
    expect(run.results[0]!.failure?.kind).to.equal('probe-failed');
  });

  it('a connection lost during a command makes the host unreachable (exit 4), not failed', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'drop', { steps: ['ok1', 'drop2', 'ok3'] });
        await t.run(steps, 'never', { steps: ['ok9'] });
      },
    });
    const run = await runOn(play, ['a'], [ok, { match: 'step drop2', reply: { connectionLost: true } }]);
    expect(run.hosts.commands('a')).to.deep.equal(['step ok1', 'step drop2']);
    expect(run.results.map((result) => `${result.task} ${result.status}`)).to.deep.equal(['drop unreachable']);
    expectInOrder(run.timeline, ['a: drop unreachable', 'unreachable a', 'stopping fail-fast']);
    expect(run.state.exitCode()).to.equal(4);
  });
});

describe('engine: playbook policy on scripted hosts', () => {
  it('runs notified handlers once, at the end of the play, in the order they are defined', async () => {
    const play = book.play<void, 'reload' | 'restart' | 'unused'>({
      name: 'p',
      hosts: 'all',
      handlers: {
        restart: async (t) => {
          await t.run(steps, 'restart', { steps: ['ok-restart'] });
        },
        reload: async (t) => {
          await t.run(steps, 'reload', { steps: ['ok-reload'] });
        },
        unused: async (t) => {
          await t.run(steps, 'unused', { steps: ['ok-unused'] });
        },
      },
      tasks: async (t) => {
        await t.run(steps, 'one', { steps: ['ok1'] }, { notify: 'reload' });
        await t.run(steps, 'two', { steps: ['ok2'] }, { notify: ['restart', 'reload'] });
        await t.run(steps, 'three', { steps: ['ok3'], verdict: 'unchanged' }, { notify: 'unused' });
      },
    });
    const run = await runOn(play, ['a'], [ok]);
    expect(run.hosts.commands('a')).to.deep.equal([readPending, 'step ok1', 'step ok2', 'step ok3', 'step ok-restart', 'step ok-reload']);
    expect(run.timeline.filter((line) => line.includes(' changed') || line.includes(' ok'))).to.deep.equal(['a: one changed', 'a: two changed', 'a: three ok', 'a: handler restart changed', 'a: handler reload changed']);
  });

  it("does not run the handlers of a host that failed (they are remembered on it); the other hosts' handlers run (--keep-going)", async () => {
    const play = book.play<void, 'reload'>({
      name: 'p',
      hosts: 'all',
      handlers: {
        reload: async (t) => {
          await t.run(steps, 'reload', { steps: ['ok-reload'] });
        },
      },
      tasks: async (t, host) => {
        await t.run(steps, 'change', { steps: ['ok1'] }, { notify: 'reload' });
        if (host.name === 'a') await t.run(steps, 'break', { steps: ['fail2'] });
      },
    });
    const run = await runOn(play, ['a', 'b'], [ok, fail, { match: 'mv -f --', reply: {} }], { forks: 1, keepGoing: true });
    const sent = run.hosts.commands().filter((command) => !command.endsWith(readPending));
    expect(sent.map((command) => (command.includes('mv -f --') ? `${command.slice(0, 3)}write pending-handlers` : command))).to.deep.equal(['a: step ok1', 'a: step fail2', 'a: write pending-handlers', 'b: step ok1', 'b: step ok-reload']);
    expect(run.timeline.slice(-2)).to.deep.equal(['b: handler reload changed', 'play-end p']);
  });

  it("once another host's failure stops the run, a healthy host still runs its notified handlers (force_handlers)", async () => {
    const bChanged = new Gate();
    const aFailed = new Gate();
    const play = book.play<void, 'reload'>({
      name: 'p',
      hosts: 'all',
      handlers: {
        reload: async (t) => {
          await t.run(steps, 'reload', { steps: ['ok-reload'] });
        },
      },
      tasks: async (t, host) => {
        if (host.name === 'a') {
          await bChanged.opened;
          await t.run(steps, 'break', { steps: ['fail1'] });
        } else {
          await t.run(steps, 'change', { steps: ['slow1'] }, { notify: 'reload' });
        }
      },
    });
    const run = await runOn(
      play,
      ['a', 'b'],
      [
        {
          match: 'step slow1',
          reply: async () => {
            bChanged.open();
            await aFailed.opened;
            return {};
          },
        },
        {
          match: 'step fail1',
          reply: () => {
            setImmediate(aFailed.open);
            return { exitCode: 1 };
          },
        },
        ok,
      ],
    );
    expect(run.hosts.commands().filter((command) => !command.endsWith(readPending))).to.deep.equal(['b: step slow1', 'a: step fail1', 'b: step ok-reload']);
    expect(run.timeline).to.deep.equal([
      'play-start p [a b] 1/1',
      'b: start change',
      'a: start break',
      'a: break failed',
      'stopping fail-fast',
      'b: change changed',
      'b: start reload',
      'b: handler reload changed',
      'warning the run is stopping (fail-fast); b ran its notified handlers first',
      'play-end p',
    ]);
    // b finished its tasks and its handlers: nothing of it was left undone.
    expect(run.state.recap().map((line) => [line.host, line.notRun])).to.deep.equal([
      ['a', false],
      ['b', false],
    ]);
  });

  it('ignoreErrors returns the failed result to the play, which goes on; it counts as ignored, and the host as not failed', async () => {
    const seen: string[] = [];
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        const result = await t.run(steps, 'may fail', { steps: ['fail1'] }, { ignoreErrors: true });
        seen.push(`${result.status} rc=${result.rc}`);
        await t.run(steps, 'next', { steps: ['ok2'] });
      },
    });
    const run = await runOn(play, ['a'], [ok, fail]);
    expect(seen).to.deep.equal(['failed rc=3']);
    expect(run.hosts.commands('a')).to.deep.equal(['step fail1', 'step ok2']);
    expect(run.state.recap()[0]).to.include({ failed: 0, ignored: 1, changed: 1 });
    expect(run.events.filter((event) => event.kind === 'task-result').map((event) => event.kind === 'task-result' && event.ignored === true)).to.deep.equal([true, false]);
    expect(run.state.exitCode()).to.equal(0);
    expect(run.timeline).to.not.include('stopping fail-fast');
  });

  it('fail-fast: a failure stops new tasks everywhere; a task in flight finishes; later plays do not start', async () => {
    const bInFlight = new Gate();
    const aFailed = new Gate();
    const first = book.play({
      name: 'first',
      hosts: 'all',
      tasks: async (t, host) => {
        if (host.name === 'a') {
          await bInFlight.opened;
          await t.run(steps, 'break', { steps: ['fail1'] });
        } else {
          await t.run(steps, 'long', { steps: ['slow1'] });
          await t.run(steps, 'after', { steps: ['ok2'] });
        }
      },
    });
    const second = book.play({ name: 'second', hosts: 'all', tasks: async (t) => t.run(steps, 'late', { steps: ['ok3'] }) });
    const run = await runOn(
      book.playbook([first, second]),
      ['a', 'b'],
      [
        {
          match: 'step slow1',
          reply: async () => {
            bInFlight.open();
            await aFailed.opened;
            return {};
          },
        },
        {
          match: 'step fail1',
          reply: () => {
            setImmediate(aFailed.open);
            return { exitCode: 1 };
          },
        },
        ok,
      ],
    );
    expect(run.hosts.commands()).to.deep.equal(['b: step slow1', 'a: step fail1']);
    expect(run.timeline).to.deep.equal(['play-start first [a b] 1/1', 'b: start long', 'a: start break', 'a: break failed', 'stopping fail-fast', 'b: long changed', 'play-end first']);
    expect(run.state.recap().map((line) => [line.host, line.notRun])).to.deep.equal([
      ['a', false],
      ['b', true],
    ]);
    expect(run.state.exitCode()).to.equal(2);
  });

  it('--keep-going: other hosts go on; the failed host gets no further task even if the play catches the error, nor later plays', async () => {
    const first = book.play({
      name: 'first',
      hosts: 'all',
      tasks: async (t, host) => {
        try {
          await t.run(steps, 'maybe', { steps: [host.name === 'a' ? 'fail1' : 'ok1'] });
        } catch {
          // the play swallows the failure: the engine must still stop this host
        }
        await t.run(steps, 'next', { steps: ['ok2'] });
      },
    });
    const second = book.play({ name: 'second', hosts: 'all', tasks: async (t) => t.run(steps, 'late', { steps: ['ok3'] }) });
    const run = await runOn(book.playbook([first, second]), ['a', 'b'], [ok, fail], { keepGoing: true, forks: 1 });
    expect(run.hosts.commands()).to.deep.equal(['a: step fail1', 'b: step ok1', 'b: step ok2', 'b: step ok3']);
    expectInOrder(run.timeline, ['play-end first', 'play-start second [b] 1/1', 'b: late changed', 'play-end second']);
    expect(run.state.exitCode()).to.equal(2);
  });

  it('serial: batches run one after the other, each with its own play-start', async () => {
    const play = book.play({ name: 'rolling', hosts: 'all', serial: 2, tasks: async (t) => t.run(steps, 'upgrade', { steps: ['ok1'] }) });
    const run = await runOn(play, ['a', 'b', 'c', 'd', 'e'], [ok]);
    const starts = run.timeline.filter((line) => line.startsWith('play-start'));
    expect(starts).to.deep.equal(['play-start rolling [a b] 1/3', 'play-start rolling [c d] 2/3', 'play-start rolling [e] 3/3']);
    const order = run.timeline.filter((line) => line.startsWith('play-') || line.endsWith('changed'));
    expect(order.indexOf('play-end rolling')).to.be.greaterThan(order.indexOf('b: upgrade changed'));
    expect(order.indexOf('c: upgrade changed')).to.be.greaterThan(order.indexOf('play-start rolling [c d] 2/3'));
  });

  it('maxFailPercentage: a batch over the limit stops the run; later batches never start', async () => {
    const play = book.play({ name: 'rolling', hosts: 'all', serial: 2, maxFailPercentage: 40, tasks: async (t, host) => t.run(steps, 'upgrade', { steps: [host.name === 'c' ? 'fail1' : 'ok1'] }) });
    const run = await runOn(play, ['a', 'b', 'c', 'd', 'e'], [ok, fail], { keepGoing: true, forks: 1 });
    expect(run.hosts.commands()).to.deep.equal(['a: step ok1', 'b: step ok1', 'c: step fail1', 'd: step ok1']);
    expect(run.timeline.slice(-3)).to.deep.equal(['d: upgrade changed', 'stopping max-fail-percentage', 'play-end rolling']);
    expect(run.events.find((event) => event.kind === 'stopping')).to.deep.include({ message: 'play "rolling": 1 of 2 hosts failed, over maxFailPercentage 40%' });
  });

  it('maxFailPercentage: a batch at the limit goes on', async () => {
    const play = book.play({ name: 'rolling', hosts: 'all', serial: 2, maxFailPercentage: 50, tasks: async (t, host) => t.run(steps, 'upgrade', { steps: [host.name === 'a' ? 'fail1' : 'ok1'] }) });
    const run = await runOn(play, ['a', 'b', 'c'], [ok, fail], { keepGoing: true });
    expect(run.hosts.commands().sort()).to.deep.equal(['a: step fail1', 'b: step ok1', 'c: step ok1']);
    expect(run.timeline).to.not.include('stopping max-fail-percentage');
  });

  it("hands a play's return values to later plays, per host, without the hosts that failed", async () => {
    const seen: string[] = [];
    const collect = book.play({
      name: 'collect',
      hosts: 'all',
      tasks: async (t, host) => {
        const result = await t.run(steps, 'read', { steps: [host.name === 'b' ? 'fail1' : 'ok1'], readOnly: true });
        return `${host.name}:${result.stdout.trim()}`;
      },
    });
    const use = book.play({
      name: 'use',
      hosts: 'all',
      tasks: async (_t, host, ctx) => {
        seen.push(`${host.name} sees ${[...ctx.outputs(collect).entries()].map(([name, value]) => `${name}=${value}`).join(',')}`);
      },
    });
    const run = await runOn(book.playbook([collect, use]), ['a', 'b', 'c'], [ok, fail], { keepGoing: true, forks: 1 });
    expect(seen).to.deep.equal(['a sees a=a:ok-out,c=c:ok-out', 'c sees a=a:ok-out,c=c:ok-out']);
    expect(run.timeline).to.include('play-start use [a c] 1/1');
  });

  it('warns and moves on when no host is left for a play', async () => {
    const first = book.play({ name: 'first', hosts: 'all', tasks: async (t) => t.run(steps, 'break', { steps: ['fail1'] }) });
    const second = book.play({ name: 'second', hosts: 'all', tasks: async (t) => t.run(steps, 'late', { steps: ['ok1'] }) });
    const third = book.play({ name: 'third', hosts: 'a', tasks: async (t) => t.run(steps, 'late', { steps: ['ok1'] }) });
    const run = await runOn(book.playbook([first, second, third]), ['a'], [ok, fail], { keepGoing: true });
    expect(run.timeline.slice(-2)).to.deep.equal([
      'warning play "second": no hosts left to run on (pattern all: every host it selects failed or was unreachable earlier in the run)',
      'warning play "third": no hosts left to run on (pattern a: every host it selects failed or was unreachable earlier in the run)',
    ]);
    // A pattern that selects nothing at all says so: usually a group's name mistyped.
    const typo = book.play({ name: 'typo', hosts: 'wrokers', tasks: async (t) => t.run(steps, 'never', { steps: ['ok1'] }) });
    const optional = await runOn(book.playbook([typo]), ['a'], [ok]);
    expect(optional.timeline).to.include('warning play "typo": its hosts pattern wrokers selects no host (no such group or host in the inventory, or --limit or --shard left none of them)');
  });

  it('--forks bounds how many hosts work at once', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'x', { steps: ['ok1'] });
        await t.run(steps, 'y', { steps: ['ok2'] });
      },
    });
    const yieldThenOk: ScriptRule = {
      match: /^step ok/,
      reply: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return {};
      },
    };
    const two = await runOn(play, ['a', 'b', 'c', 'd', 'e'], [yieldThenOk], { forks: 2 });
    expect(two.hosts.maxInFlight).to.equal(2);
    expect(two.results).to.have.length(10);
    const one = await runOn(play, ['a', 'b', 'c'], [yieldThenOk], { forks: 1 });
    expect(one.hosts.commands()).to.deep.equal(['a: step ok1', 'a: step ok2', 'b: step ok1', 'b: step ok2', 'c: step ok1', 'c: step ok2']);
  });

  it('skips tasks not selected by --tags without sending anything', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tags: ['base'],
      tasks: async (t) => {
        await t.run(steps, 'tagged', { steps: ['ok1'] }, { tags: ['net'] });
        await t.run(steps, 'other', { steps: ['ok2'] }, { tags: ['disk'] });
      },
    });
    const run = await runOn(play, ['a'], [ok], { only: ['net'] });
    expect(run.hosts.commands('a')).to.deep.equal(['step ok1']);
    expect(run.results.map((result) => `${result.task} ${result.status}`)).to.deep.equal(['tagged changed', 'other skipped']);
    expect(run.results[1]!.msg).to.equal('skipped by tags (task tags: base, disk)');
  });

  it("an exception in the play's own code fails the host with the location, and fail-fast applies", async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'first', { steps: ['ok1'] });
        throw new Error('no such node');
      },
    });
    const run = await runOn(play, ['a'], [ok]);
    expect(run.timeline).to.deep.equal(['play-start p [a] 1/1', 'a: start first', 'a: first changed', 'a: (playbook code in p) failed', 'stopping fail-fast', 'play-end p']);
    expect(run.results[1]!.msg).to.match(/^the playbook's code threw at .*engine\.test\.ts:\d+:\d+: no such node$/);
  });

  it('an unreachable host stops only itself under --keep-going (exit 4); host.os() is probed once per host', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t, host) => {
        await t.run(steps, 'first', { steps: ['ok1'] });
        const os = await host.os();
        await t.run(steps, `on ${os.id}`, { steps: ['ok2'] });
        await host.os();
      },
    });
    const run = await runOn(play, ['a', 'b'], [ok, { match: 'read-os', reply: { stdout: 'debian\n' } }], { keepGoing: true, unreachable: ['a'], forks: 1 });
    expect(run.hosts.log.map((entry) => `${entry.host} ${entry.event} ${entry.body}`.trim())).to.deep.equal(['a connect', 'b connect', 'b exec step ok1', 'b exec read-os', 'b exec step ok2', 'b close']);
    expect(run.timeline).to.deep.equal(['play-start p [a b] 1/1', 'a: (log in for play "p") unreachable', 'unreachable a', 'b: start first', 'b: first changed', 'b: start on debian', 'b: on debian changed', 'play-end p']);
    expect(run.results[0]!.msg).to.equal('cannot connect to a: scripted as unreachable');
    expect(run.state.exitCode()).to.equal(4);
  });

  it('every host logs in before any starts the play: an unreachable host stops the run before a reachable one changes anything', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'first', { steps: ['ok1'] }) });
    // b is first and fast; a cannot be reached. Before, b had run its play by the time a's login failed.
    const run = await runOn(play, ['b', 'a'], [ok], { unreachable: ['a'] });
    expect(run.hosts.log.map((entry) => `${entry.host} ${entry.event}`.trim())).to.deep.equal(['b connect', 'a connect', 'b close']);
    expect(run.timeline).to.deep.equal(['play-start p [b a] 1/1', 'a: (log in for play "p") unreachable', 'unreachable a', 'stopping fail-fast', 'play-end p']);
    expect(run.state.exitCode()).to.equal(4);
  });

  it('a dry run reports an unreachable host even when its tasks would only run commands (which it does not send)', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.run(steps, 'first', { steps: ['ok1'] }) });
    const run = await runOn(play, ['a'], [ok], { check: true, unreachable: ['a'] });
    expect(run.results.map((result) => `${result.host} ${result.task} ${result.status}`)).to.deep.equal(['a (log in for play "p") unreachable']);
    expect(run.state.exitCode()).to.equal(4);
  });

  it("a host that cannot be reached when the play's own code asks host.os() is unreachable (exit 4), not a playbook bug", async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t, host) => {
        const os = await host.os();
        await t.run(steps, `on ${os.id}`, { steps: ['ok1'] });
      },
    });
    const run = await runOn(play, ['a', 'b'], [ok, { match: 'read-os', reply: { stdout: 'debian\n' } }], { keepGoing: true, unreachable: ['a'], forks: 1 });
    expect(run.timeline).to.deep.equal(['play-start p [a b] 1/1', 'a: (log in for play "p") unreachable', 'unreachable a', 'b: start on debian', 'b: on debian changed', 'play-end p']);
    expect(run.results[0]!).to.deep.include({ status: 'unreachable', msg: 'cannot connect to a: scripted as unreachable' });
    expect(run.state.exitCode()).to.equal(4);
  });
});

describe('engine: the run context seam (startRun with a connector)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-engine-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a playbook through startRun on scripted hosts: JSON events, audit log, closed connections, exit status', async () => {
    const hosts = new ScriptedConnections([ok, fail]);
    const targets = [target('a'), target('b')];
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const context = await startRun({
      options: { check: false, diff: false, json: true, verbose: false, forks: 1, keepGoing: true, tags: [], skipTags: [], auditLog: join(dir, 'audit.jsonl'), timeoutSeconds: 60, hostKeyPolicy: 'strict', askBecomePass: false, help: false },
      info: { runKind: 'playbook', inventory: null, mode: 'apply', diff: false, tags: [], skipTags: [] },
      hosts: targets,
      connector: hosts.connector,
      stdout,
    });
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t, host) => t.run(steps, 'go', { steps: [host.name === 'a' ? 'fail1' : 'ok1'] }) });
    await runPlaybook(
      book.playbook([play]),
      new Map([
        ['a', {}],
        ['b', {}],
      ]),
      {
        check: false,
        keepGoing: true,
        forks: 1,
        tags: { only: [], skip: [] },
        selectHosts: () => targets,
        inventoryHosts: () => targets,
        sessions: context.sessions,
        bus: context.bus,
        state: context.state,
        redactor: context.redactor,
        clock: context.clock,
        modules: {},
        osFact,
      },
    );
    const exitCode = await context.finish();
    expect(exitCode).to.equal(2);
    // Every host logs in before any starts the play.
    expect(hosts.log.map((entry) => `${entry.host} ${entry.event}`)).to.deep.equal(['a connect', 'b connect', 'a exec', 'b exec', 'a close', 'b close']);
    const kinds = Buffer.concat(chunks)
      .toString()
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { kind: string }).kind);
    expect(kinds).to.deep.equal(['run-start', 'play-start', 'task-start', 'task-result', 'task-start', 'task-result', 'play-end', 'run-end']);
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind?: string; host?: string; status?: string; exitCode?: number });
    expect(audit.map((record) => [record.kind, record.host, record.status])).to.deep.equal([
      ['run-start', undefined, undefined],
      ['play-start', undefined, undefined],
      ['task', 'a', 'failed'],
      ['task', 'b', 'changed'],
      ['play-end', undefined, undefined],
      ['run-end', undefined, undefined],
    ]);
    expect(audit.at(-1)?.exitCode).to.equal(2);
  });

  it('-vv tells every probe with its answer as a trace event (not audited); -v does not', async () => {
    const traced = async (verbosity: number): Promise<{ json: Array<{ kind: string; level?: number; message?: string; detail?: string }>; audit: string }> => {
      const hosts = new ScriptedConnections([
        { match: /^read-setting mode/, reply: { stdout: 'off\n' } },
        { match: /^write-setting/, reply: {} },
      ]);
      const targets = [target('a')];
      const stdout = new PassThrough();
      const chunks: Buffer[] = [];
      stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      const auditLog = join(dir, `audit-v${verbosity}.jsonl`);
      const context = await startRun({
        options: { check: false, diff: false, json: true, verbose: verbosity > 0, verbosity, forks: 1, keepGoing: false, tags: [], skipTags: [], auditLog, timeoutSeconds: 60, hostKeyPolicy: 'strict', askBecomePass: false, help: false },
        info: { runKind: 'playbook', inventory: null, mode: 'apply', diff: false, tags: [], skipTags: [] },
        hosts: targets,
        connector: hosts.connector,
        stdout,
      });
      const play = book.play({
        name: 'p',
        hosts: 'all',
        tasks: async (t) => {
          await t.run(setting, 'mode', { name: 'mode', value: 'on' });
        },
      });
      await runPlaybook(book.playbook([play]), new Map([['a', {}]]), {
        check: false,
        keepGoing: false,
        forks: 1,
        tags: { only: [], skip: [] },
        selectHosts: () => targets,
        inventoryHosts: () => targets,
        sessions: context.sessions,
        bus: context.bus,
        state: context.state,
        redactor: context.redactor,
        clock: context.clock,
        modules: {},
        osFact,
      });
      await context.finish();
      return {
        json: Buffer.concat(chunks)
          .toString()
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line)),
        audit: readFileSync(auditLog, 'utf8'),
      };
    };
    const vv = await traced(2);
    expect(vv.json.map((event) => event.kind)).to.deep.equal(['run-start', 'play-start', 'task-start', 'trace', 'task-result', 'play-end', 'run-end']);
    expect(vv.json[3]).to.include({ level: 2, message: 'probe → 0: read-setting mode', detail: 'off' });
    expect(vv.audit).to.not.include('"trace"');
    const v = await traced(1);
    expect(v.json.map((event) => event.kind)).to.not.include('trace');
  });
});

/** Fails unless `expected` appears in `actual` in this order (other entries may come between). */
function expectInOrder(actual: string[], expected: string[]): void {
  let from = 0;
  for (const item of expected) {
    const at = actual.indexOf(item, from);
    expect(at, `${JSON.stringify(item)} after position ${from} in\n${actual.join('\n')}`).to.be.at.least(0);
    from = at + 1;
  }
}

/** Runs a play (as a one-play playbook) or a playbook on scripted hosts. */
function runOn(playbookOrPlay: Playbook<any> | ReturnType<typeof book.play>, hosts: string[], rules: ScriptRule[], options?: Parameters<typeof runScripted>[3]): Promise<Harness> {
  const playbook = 'plays' in playbookOrPlay ? playbookOrPlay : book.playbook([playbookOrPlay]);
  return runScripted(playbook, hosts, rules, options);
}

describe('engine: the language — retry, changedWhen/failedWhen on any module, checkMode per task', () => {
  /** Answers the n-th `step poll` with what `answers[n]` says (exit code and output), in order. */
  const polls = (answers: Array<{ exitCode?: number; stdout?: string }>): ScriptRule[] => answers.map((answer) => ({ match: /^step poll/, reply: answer, times: 1 }));

  it('retry: failed attempts are retried after the delay, each told as task-retry, until one succeeds', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'wait', { steps: ['poll'] }, { retry: { attempts: 5, delaySeconds: 2 } });
        await t.run(steps, 'after', { steps: ['ok1'] });
      },
    });
    const run = await runOn(play, ['a'], [...polls([{ exitCode: 1 }, { exitCode: 1 }, { stdout: 'up\n' }]), ok]);
    expect(run.hosts.commands('a')).to.deep.equal(['step poll', 'step poll', 'step poll', 'step ok1']);
    expect(run.timeline).to.deep.equal(['play-start p [a] 1/1', 'a: start wait', 'a: retry wait 1/5 failed', 'a: retry wait 2/5 failed', 'a: wait changed', 'a: start after', 'a: after changed', 'play-end p']);
    expect(run.sleeps).to.deep.equal([2000, 2000]);
    expect(run.results[0]).to.include({ attempts: 3, status: 'changed', stdout: 'up\n' });
  });

  it('retry: attempts 0 or a negative delay fails the task as invalid input, naming the option, and sends nothing', async () => {
    for (const retry of [{ attempts: 0 }, { attempts: 3, delaySeconds: -5 }]) {
      const play = book.play({
        name: 'p',
        hosts: 'all',
        tasks: async (t) => {
          await t.run(steps, 'wait', { steps: ['poll'] }, { retry });
        },
      });
      const run = await runOn(play, ['a'], polls([{ stdout: 'up\n' }]));
      expect(run.hosts.commands('a')).to.deep.equal([]);
      expect(run.results[0]).to.include({ status: 'failed' });
      expect(run.results[0]!.msg).to.match(retry.attempts === 0 ? /^task "wait": retry\.attempts: 0 is below the minimum 1$/ : /^task "wait": retry\.delaySeconds: -5 is below the minimum 0$/);
      expect(run.results[0]!.failure).to.include({ kind: 'invalid-input' });
      expect(run.sleeps).to.deep.equal([]);
    }
  });

  it('retry: the last failure is the one reported, and the host fails after the last attempt', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'wait', { steps: ['poll'] }, { retry: { attempts: 2 } });
      },
    });
    const run = await runOn(
      play,
      ['a'],
      polls([
        { exitCode: 1, stdout: 'first' },
        { exitCode: 7, stdout: 'second' },
      ]),
    );
    expect(run.hosts.commands('a')).to.deep.equal(['step poll', 'step poll']);
    expect(run.timeline).to.deep.equal(['play-start p [a] 1/1', 'a: start wait', 'a: retry wait 1/2 failed', 'a: wait failed', 'stopping fail-fast', 'play-end p']);
    expect(run.results[0]).to.include({ attempts: 2, rc: 7, stdout: 'second' });
    expect(run.state.exitCode()).to.equal(2);
  });

  it('retry until: runs until the condition holds on the output; false on the last attempt fails the task saying so', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'ready', { steps: ['poll'] }, { retry: { attempts: 3, until: (r) => r.stdout.includes('ready') } });
        await t.run(steps, 'never', { steps: ['poll'] }, { retry: { attempts: 2, until: (r) => r.stdout.includes('ready') } });
      },
    });
    const run = await runOn(play, ['a'], polls([{ stdout: 'starting' }, { stdout: 'ready' }, { stdout: 'no' }, { stdout: 'still no' }]));
    expect(run.hosts.commands('a')).to.deep.equal(['step poll', 'step poll', 'step poll', 'step poll']);
    expect(run.timeline).to.deep.equal(['play-start p [a] 1/1', 'a: start ready', 'a: retry ready 1/3 changed', 'a: ready changed', 'a: start never', 'a: retry never 1/2 changed', 'a: never failed', 'stopping fail-fast', 'play-end p']);
    expect(run.results[1]!.msg).to.match(/^until was still false after 2 attempt\(s\); the last attempt was changed/);
    expect(run.results[1]!.stdout).to.equal('still no');
  });

  it('retry in check mode: a task that would change did not run, so it is not retried', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'wait', { steps: ['poll'] }, { retry: { attempts: 5, until: () => false } });
      },
    });
    const run = await runOn(play, ['a'], [], { check: true });
    expect(run.hosts.commands('a')).to.deep.equal([]);
    expect(run.timeline).to.deep.equal(['play-start p [a] 1/1', 'a: start wait', 'a: wait changed', 'play-end p']);
    expect(run.results[0]).to.include({ checkMode: true, attempts: 1 });
  });

  it("changedWhen and failedWhen judge any module's result; failedWhen false accepts a failed command, not bad input", async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'never changes', { steps: ['ok1'] }, { changedWhen: false });
        await t.run(steps, 'by output', { steps: ['ok2'] }, { changedWhen: (r) => r.stdout.includes('nothing') });
        await t.run(setting, 'setting', { name: 'mode', value: 'on' }, { changedWhen: () => true });
        await t.run(steps, 'exit 3 is fine', { steps: ['fail3'] }, { failedWhen: (r) => r.rc !== 3 });
        await t.run(steps, 'bad input', { steps: [] }, { failedWhen: false, ignoreErrors: true });
        await t.run(steps, 'fails on output', { steps: ['ok4'] }, { failedWhen: (r) => r.stdout.includes('ok-out') });
      },
    });
    const run = await runOn(play, ['a'], [ok, fail, { match: /^read-setting mode/, reply: { stdout: 'on\n' } }]);
    expect(run.hosts.commands('a')).to.deep.equal(['step ok1', 'step ok2', 'read-setting mode', 'step fail3', 'step ok4']);
    expect(run.results.map((r) => `${r.task}: ${r.status}`)).to.deep.equal(['never changes: ok', 'by output: ok', 'setting: changed', 'exit 3 is fine: ok', 'bad input: failed', 'fails on output: failed']);
    expect(run.results[3]!.condition).to.match(/^failedWhen accepted: command exited with 3/);
    expect(run.results[4]!.failure?.kind).to.equal('invalid-input');
    expect(run.results[5]!.msg).to.match(/^failedWhen matched \(exit code 0\)/);
    expect(run.state.exitCode()).to.equal(2);
  });

  it('retry: no further attempt once the run is stopping (another host failed); the last attempt is reported', async () => {
    const aTried = new Gate();
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t, host) => {
        if (host.name === 'a') await t.run(steps, 'wait', { steps: ['poll'] }, { retry: { attempts: 10 } });
        else {
          await aTried.opened;
          await t.run(steps, 'break', { steps: ['fail1'] });
        }
      },
    });
    const hosts: ScriptRule[] = [
      {
        match: /^step poll/,
        reply: () => {
          aTried.open();
          return { exitCode: 1 };
        },
        times: 1,
      },
      {
        match: /^step poll/,
        reply: async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return { exitCode: 1 };
        },
      },
      fail,
    ];
    const run = await runOn(play, ['a', 'b'], hosts, { keepGoing: false });
    const attempts = run.hosts.commands('a').length;
    expect(attempts).to.be.below(10);
    expect(run.results.find((r) => r.host === 'a')).to.include({ status: 'failed', attempts });
    expectInOrder(run.timeline, ['b: break failed', 'stopping fail-fast', 'a: wait failed']);
    expect(run.timeline.filter((line) => line.startsWith('a: retry'))).to.have.length(attempts - 1);
  });

  it('checkMode always-run runs for real under --check (marked); always-check only predicts in a real run and notifies nothing', async () => {
    const checked = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.run(steps, 'read for real', { steps: ['ok1'] }, { checkMode: 'always-run', changedWhen: false });
        await t.run(steps, 'predicted', { steps: ['ok2'] });
      },
    });
    const dry = await runOn(checked, ['a'], [ok], { check: true });
    expect(dry.hosts.commands('a')).to.deep.equal(['step ok1']);
    expect(dry.results.map((r) => [r.task, r.status, r.checkMode, r.checkModeOverride])).to.deep.equal([
      ['read for real', 'ok', false, 'always-run'],
      ['predicted', 'changed', true, undefined],
    ]);

    const real = book.play<void, 'restart'>({
      name: 'p',
      hosts: 'all',
      handlers: {
        restart: async (t) => {
          await t.run(steps, 'restart', { steps: ['ok-restart'] });
        },
      },
      tasks: async (t) => {
        await t.run(steps, 'only predicted', { steps: ['ok1'] }, { checkMode: 'always-check', notify: 'restart' });
        await t.run(steps, 'runs', { steps: ['ok2'] });
      },
    });
    const applied = await runOn(real, ['a'], [ok]);
    expect(applied.hosts.commands('a')).to.deep.equal([readPending, 'step ok2']);
    expect(applied.timeline).to.deep.equal(['play-start p [a] 1/1', 'a: start only predicted', 'a: only predicted changed', 'a: start runs', 'a: runs changed', 'play-end p']);
    expect(applied.results[0]).to.include({ checkMode: true, checkModeOverride: 'always-check' });
  });
});
