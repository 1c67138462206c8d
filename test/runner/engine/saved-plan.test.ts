/**
 * Saved plans in the engine, in-process on scripted hosts (test/support/scripted-connection.ts): a dry run
 * records every task and handler under its key; an apply held to that plan runs them; an apply whose
 * fresh plan differs on one host sends nothing of that task there, fails the host, and fail-fast stops the
 * other. The same through the CLI on real hosts: test/cli/saved-plan.lab.test.ts.
 */
import { expect } from 'chai';
import { PlanGate } from '../../../runner/cli/plan-gate.ts';
import { PLAN_FORMAT, PlanRecorder, type SavedPlan } from '../../../runner/cli/saved-plan.ts';
import { sh } from '../../../runner/command.ts';
import { HostSession } from '../../../runner/engine/host-session.ts';
import { runPlaybook } from '../../../runner/engine/run-playbook.ts';
import { RunState } from '../../../runner/engine/run-state.ts';
import { SessionPool } from '../../../runner/engine/session-pool.ts';
import { EventBus, type RunEvent } from '../../../runner/events.ts';
import { defineModule } from '../../../runner/module.ts';
import { definePlaybook, s } from '../../../runner/playbook.ts';
import type { PlanReview } from '../../../runner/planned-task.ts';
import { Redactor } from '../../../runner/secret.ts';
import { ScriptedConnections, type ScriptRule, scriptedOsFact, scriptedTarget } from '../../support/scripted-connection.ts';

/** One command per step; `probe` is read first, and its answer is part of the plan's summary. */
const steps = defineModule({
  name: 'steps',
  summary: 'test: a plan made of the given steps after one probe',
  params: s.object({ steps: s.array(s.string(), { nonEmpty: true }) }),
  async plan(params, host) {
    const seen = await host.probe(sh`probe-state`);
    return { changes: params.steps.map((step) => ({ summary: `step ${step} (state ${seen.stdout.trim()})`, commands: [{ run: sh`step ${step}` }] })) };
  },
});

const book = definePlaybook({ name: 'saved plan engine test', vars: s.object({ flavour: s.string().default('plain') }) });

const play = book.play({
  name: 'configure',
  hosts: 'all',
  handlers: {
    'restart app': async (t) => {
      await t.run(steps, 'restart app', { steps: ['restart'] });
    },
  },
  tasks: async (t, host) => {
    await t.run(steps, 'write config', { steps: [`write-${host.vars.flavour}`] }, { notify: 'restart app' });
    await t.run(steps, 'tune', { steps: ['tune'] });
  },
});

const playbook = book.playbook([play]);

/** The pending-handlers state file is absent and may be written and removed; steps succeed; probes answer per host. */
function rules(state: Record<string, string>): ScriptRule[] {
  return [
    { match: 'echo present; cat --', reply: { stdout: 'absent\n' } },
    { match: /^if \[ "\$\(id -u\)" = 0 \][\s\S]*(mv|rm) -f --/, reply: {} },
    { match: /^probe-state/, reply: (_body, host) => ({ stdout: `${state[host] ?? 'clean'}\n` }) },
    { match: /^step /, reply: {} },
  ];
}

async function run(options: { check: boolean; review: PlanReview; flavour?: Record<string, string>; state?: Record<string, string> }) {
  const hosts = new ScriptedConnections(rules(options.state ?? {}));
  const targets = ['a', 'b'].map((name) => scriptedTarget(name));
  const redactor = new Redactor();
  const state = new RunState();
  const events: RunEvent[] = [];
  const bus = new EventBus('saved-plan-test', [{ handle: (event) => events.push(event) }]);
  const sessions = new SessionPool((host) => new HostSession(host, hosts.connector, redactor, { defaultTimeoutMs: 60_000 }));
  const select = (pattern: string) => targets.filter((host) => pattern === 'all' || host.name === pattern);
  await runPlaybook(playbook, new Map(targets.map((host) => [host.name, { flavour: options.flavour?.[host.name] ?? 'plain' }])), {
    check: options.check,
    keepGoing: false,
    forks: 1,
    tags: { only: [], skip: [] },
    selectHosts: select,
    inventoryHosts: select,
    sessions,
    bus,
    state,
    redactor,
    clock: () => 0,
    modules: { steps },
    osFact: scriptedOsFact,
    review: options.review,
  });
  await sessions.closeAll();
  const results = events.flatMap((event) => (event.kind === 'task-result' ? [`${event.result.host} ${event.key} ${event.result.status}`] : []));
  const stepsSent = (host: string) => hosts.log.filter((entry) => entry.event === 'exec' && entry.host === host && entry.body.startsWith('step ')).map((entry) => entry.body);
  const messages = events.flatMap((event) => (event.kind === 'task-result' && event.result.status === 'failed' ? [event.result.msg] : []));
  return { state, results, stepsSent, messages };
}

async function reviewedPlan(): Promise<SavedPlan> {
  const recorder = new PlanRecorder();
  const dry = await run({ check: true, review: recorder.review });
  expect(dry.stepsSent('a')).to.deep.equal([]);
  return {
    format: PLAN_FORMAT,
    createdAt: new Date(0).toISOString(),
    runId: 'dry',
    operator: 'test',
    controller: 'test',
    playbook: { path: 'book.ts', sha256: '0' },
    inventory: null,
    tags: [],
    skipTags: [],
    complete: true,
    problems: [],
    hosts: Object.fromEntries(recorder.hosts),
  };
}

describe('saved plans in the engine', () => {
  it('records tasks and the handlers they notify under stable keys, and an unchanged apply runs them all', async () => {
    const plan = await reviewedPlan();
    expect(plan.hosts.a!.map((task) => `${task.key} ${task.status} ${task.commands.join(';')}`)).to.deep.equal(['1.1 write config changed step write-plain', '1.2 tune changed step tune', '1.h1 restart app changed step restart']);
    const gate = new PlanGate(plan, 'plan.json');
    const applied = await run({ check: false, review: gate.review });
    expect(applied.state.exitCode()).to.equal(0);
    expect(applied.stepsSent('a')).to.deep.equal(['step write-plain', 'step tune', 'step restart']);
    expect(applied.stepsSent('b')).to.deep.equal(['step write-plain', 'step tune', 'step restart']);
    expect(gate.unreached('a')).to.deep.equal([]);
  });

  it('stops a host whose task plans differently, before sending any of it, and fail-fast stops the other', async () => {
    const plan = await reviewedPlan();
    const applied = await run({ check: false, review: new PlanGate(plan, 'plan.json').review, flavour: { a: 'spicy' } });
    expect(applied.state.exitCode()).to.equal(2);
    expect(applied.stepsSent('a')).to.deep.equal([]);
    expect(applied.messages[0]).to.match(/a drifted since review: task "1\.1 write config" \(steps\)[\s\S]*command 1 differs:\n {4}- step write-plain\n {4}\+ step write-spicy/);
    // forks 1: b runs after a failed, and starts nothing.
    expect(applied.stepsSent('b')).to.deep.equal([]);
  });

  it('stops a host whose probed state changed though its commands did not (the fingerprint)', async () => {
    const plan = await reviewedPlan();
    const applied = await run({ check: false, review: new PlanGate(plan, 'plan.json').review, state: { b: 'edited' } });
    expect(applied.stepsSent('a')).to.deep.equal(['step write-plain', 'step tune', 'step restart']);
    expect(applied.stepsSent('b')).to.deep.equal([]);
    expect(applied.results).to.include('b 1.1 write config failed');
    expect(applied.messages[0]).to.match(/probed state: the host read differently than at review/);
  });
});
