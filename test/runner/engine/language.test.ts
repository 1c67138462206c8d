/**
 * The playbook language's engine cases on scripted hosts (test/support/scripted-connection.ts), where a
 * lab run could not make them happen on purpose: a chosen run-once host that never reaches the call, a
 * named host outside the play, every fork waiting, a loop calling the same run-once twice; nested blocks,
 * a rescue that fails, a block stopped by another host's failure; a delegate that is not in the inventory.
 * The same features on real hosts: test/cli/{run-once,delegate,block,cluster-language}.lab.test.ts.
 */
import { expect } from 'chai';
import { sh } from '../../../runner/command.ts';
import { HostSession } from '../../../runner/engine/host-session.ts';
import { runPlaybook } from '../../../runner/engine/run-playbook.ts';
import { RunState } from '../../../runner/engine/run-state.ts';
import { SessionPool } from '../../../runner/engine/session-pool.ts';
import { PassThrough } from 'node:stream';
import { EventBus, type RunEvent, type StampedEvent } from '../../../runner/events.ts';
import { defineModule } from '../../../runner/module.ts';
import { definePlaybook, s, type Play } from '../../../runner/playbook.ts';
import { TerminalReporter } from '../../../runner/report/terminal.ts';
import type { TaskResult } from '../../../runner/result.ts';
import { Redactor } from '../../../runner/secret.ts';
import { Gate, ScriptedConnections, scriptedOsFact, scriptedTarget, type ScriptRule } from '../../support/scripted-connection.ts';

/** Runs `step NAME` on the host: the plan is the parameter. */
const step = defineModule({
  name: 'step',
  summary: 'test: one command',
  params: s.object({ name: s.string() }),
  async plan(params) {
    return { changes: [{ summary: `step ${params.name}`, commands: [{ run: sh`step ${params.name}` }] }] };
  },
});

const book = definePlaybook({ name: 'language engine test' });
const ok: ScriptRule = { match: /^step (?!fail)/, reply: { stdout: 'out\n' } };
const fail: ScriptRule = { match: /^step fail/, reply: { exitCode: 3, stderr: 'it broke\n' } };

interface Run {
  hosts: ScriptedConnections;
  state: RunState;
  results: TaskResult[];
  events: RunEvent[];
}

async function run(play: Play<any, unknown, any, any>, hostNames: string[], rules: ScriptRule[], options: { forks?: number; check?: boolean; keepGoing?: boolean; unreachable?: string[] } = {}): Promise<Run> {
  const hosts = new ScriptedConnections(rules, { unreachable: options.unreachable });
  const targets = hostNames.map((name) => scriptedTarget(name, ['web']));
  const redactor = new Redactor();
  const state = new RunState();
  const events: RunEvent[] = [];
  const select = (pattern: string) => targets.filter((host) => pattern === 'all' || host.name === pattern || host.groups.includes(pattern));
  const sessions = new SessionPool((host) => new HostSession(host, hosts.connector, redactor, { defaultTimeoutMs: 60_000 }));
  await runPlaybook(book.playbook([play]), new Map(targets.map((host) => [host.name, {}])), {
    check: options.check ?? false,
    keepGoing: options.keepGoing ?? false,
    forks: options.forks ?? 10,
    tags: { only: [], skip: [] },
    selectHosts: select,
    inventoryHosts: select,
    sessions,
    bus: new EventBus('language-test', [{ handle: (event) => events.push(event) }]),
    state,
    redactor,
    clock: () => 0,
    modules: { step },
    osFact: scriptedOsFact,
  });
  await sessions.closeAll();
  return { hosts, state, events, results: events.flatMap((event) => (event.kind === 'task-result' ? [event.result] : [])) };
}

const resultOf = (r: Run, host: string, task: string) => r.results.find((result) => result.host === host && result.task === task);

describe('engine: t.runOnce', () => {
  it('runs once on the first host, after its earlier task, and every host gets the same object', async () => {
    const seen = new Map<string, unknown>();
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t, host) => {
        if (host.name === 'a') await t.run(step, 'slow first', { name: 'slow' });
        const shared = await t.runOnce('make', async () => (await t.run(step, 'make', { name: 'make' })).stdout.trim());
        seen.set(host.name, shared);
      },
    });
    // The chosen host's earlier task is slow: the others reach the call first and must wait.
    const r = await run(
      play,
      ['a', 'b', 'c'],
      [
        {
          match: /^step slow/,
          reply: async () => {
            await new Promise((done) => setTimeout(done, 100));
            return { stdout: '' };
          },
        },
        ok,
      ],
    );
    expect(r.hosts.commands()).to.deep.equal(['a: step slow', 'a: step make']);
    expect(new Set(seen.values()).size).to.equal(1);
    expect(seen.get('c')).to.deep.include({ name: 'make', host: 'a', known: true, value: 'out' });
    expect(r.state.exitCode()).to.equal(0);
  });

  it('under --keep-going, a run-once chosen for a host that could not be reached fails its waiters instead of hanging them', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.runOnce('make', async () => (await t.run(step, 'make', { name: 'make' })).stdout.trim());
      },
    });
    const r = await run(play, ['a', 'b'], [ok], { keepGoing: true, unreachable: ['a'] });
    expect(r.hosts.commands()).to.deep.equal([]);
    expect(resultOf(r, 'a', '(log in for play "p")')).to.include({ status: 'unreachable' });
    const waiter = r.results.find((result) => result.host === 'b');
    expect(waiter?.status).to.equal('failed');
    expect(waiter?.msg).to.include('a could not be reached before its play started');
  });

  it('with serial, a later batch gets the result the first batch made, without running it again', async () => {
    const values: unknown[] = [];
    const play = book.play({
      name: 'p',
      hosts: 'all',
      serial: 1,
      tasks: async (t) => {
        values.push((await t.runOnce('make', async () => (await t.run(step, 'make', { name: 'make' })).stdout.trim())).value);
      },
    });
    const r = await run(play, ['a', 'b', 'c'], [ok]);
    expect(r.hosts.commands()).to.deep.equal(['a: step make']);
    expect(values).to.deep.equal(['out', 'out', 'out']);
    expect(r.state.exitCode()).to.equal(0);
  });

  it('a name runs once per play, even when a loop calls it again on the chosen host', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        for (let i = 0; i < 3; i++) await t.runOnce('make', async () => t.run(step, 'make', { name: 'make' }));
      },
    });
    const r = await run(play, ['a', 'b'], [ok]);
    expect(r.hosts.commands()).to.deep.equal(['a: step make']);
  });

  it('fails the waiting hosts, without hanging, when the chosen host ends its play without reaching the call', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t, host) => {
        if (host.name === 'a') return;
        await t.runOnce('make', async () => t.run(step, 'make', { name: 'make' }));
      },
    });
    const r = await run(play, ['a', 'b'], [ok]);
    expect(resultOf(r, 'b', 'make')?.msg).to.include('runOnce "make" was to run on a: a finished play "p" without reaching it');
    expect(r.state.exitCode()).to.equal(2);
    expect(r.hosts.commands()).to.deep.equal([]);
  });

  it("refuses a host outside the play, naming the play's hosts", async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.runOnce('make', async () => 1, { host: 'zz' }) });
    const r = await run(play, ['a', 'b'], [ok]);
    expect(resultOf(r, 'a', 'make')).to.include({ status: 'failed' });
    expect(resultOf(r, 'a', 'make')?.msg).to.include('names host zz, which is not one of play "p"\'s hosts (a, b)');
  });

  it('fails instead of waiting for ever when every fork would wait for a host that has not started', async () => {
    const play = book.play({ name: 'p', hosts: 'all', tasks: async (t) => t.runOnce('make', async () => t.run(step, 'make', { name: 'make' }), { host: 'c' }) });
    const r = await run(play, ['a', 'b', 'c'], [ok], { forks: 1 });
    expect(resultOf(r, 'a', 'make')?.msg).to.include('every one of the 1 fork(s) would be waiting for it');
  });

  it('--check: a task using a result the dry run cannot know is "would run", its change an imperative (it read "would would run with")', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        const token = await t.runOnce('make', async () => (await t.run(step, 'make', { name: 'make' })).stdout.trim());
        await t.run(step, 'use it', { name: 'use' }, { uses: token });
      },
    });
    const r = await run(play, ['a', 'b'], [ok], { check: true });
    for (const host of ['a', 'b']) expect(resultOf(r, host, 'use it'), host).to.deep.include({ status: 'changed', uncertain: true, changes: ['run with "make" (unknown in check mode)'] });
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const terminal = new TerminalReporter({ stream: output, interactive: false, showDiff: false, verbose: false, redactor: new Redactor() });
    for (const event of r.events) terminal.handle({ ...event, runId: 'language-test', time: new Date(0).toISOString() } as StampedEvent);
    await terminal.close?.();
    expect(text).to.include('      would run with "make" (unknown in check mode)').and.not.include('would would');
  });
});

describe('engine: t.block', () => {
  it('an inner block without recovered inside a recovered one: the outer rescue decides, and the host recovers', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) => {
        await t.block('outer', () => t.block('inner', () => t.run(step, 'x', { name: 'fail' }), { rescue: async () => t.run(step, 'inner cleanup', { name: 'inner' }) }), {
          rescue: async () => t.run(step, 'outer cleanup', { name: 'outer' }),
          recovered: true,
        });
        await t.run(step, 'after', { name: 'after' });
      },
    });
    const r = await run(play, ['a'], [fail, ok]);
    expect(r.hosts.commands()).to.deep.equal(['a: step fail', 'a: step inner', 'a: step outer', 'a: step after']);
    expect(r.state.exitCode()).to.equal(0);
    expect(r.events.some((event) => event.kind === 'stopping')).to.equal(false);
    expect(r.state.recap()[0]).to.include({ failed: 0, rescued: 1 });
  });

  it("rescues an exception of the playbook's own code, with its message", async () => {
    let given = '';
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t) =>
        t.block(
          'b',
          async () => {
            throw new Error('no address');
          },
          {
            rescue: async (failure) => {
              given = failure.msg;
            },
            recovered: true,
          },
        ),
    });
    const r = await run(play, ['a'], [ok]);
    expect(given).to.include('no address');
    expect(r.state.exitCode()).to.equal(0);
  });

  it('a rescue that fails leaves the host failed even with recovered: true, and fail-fast stops the others', async () => {
    const gate = new Gate();
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t, host) => {
        if (host.name === 'b') {
          await t.run(step, 'slow', { name: 'slow' });
          await t.run(step, 'next', { name: 'next' });
          return;
        }
        await t.block('b', () => t.run(step, 'x', { name: 'fail' }), { rescue: async () => t.run(step, 'cleanup', { name: 'fail-again' }), always: async () => void gate.open(), recovered: true });
      },
    });
    const r = await run(
      play,
      ['a', 'b'],
      [
        {
          match: /^step slow/,
          reply: async () => {
            await gate.opened;
            return { stdout: '' };
          },
        },
        fail,
        ok,
      ],
    );
    expect(r.state.exitCode()).to.equal(2);
    expect(r.hosts.commands('b')).to.deep.equal(['step slow']);
    expect(resultOf(r, 'a', 'b')?.msg).to.include('the cleanup failed too, at "cleanup"');
  });

  it("a block stopped by another host's failure runs neither rescue nor always", async () => {
    const gate = new Gate();
    const play = book.play({
      name: 'p',
      hosts: 'all',
      tasks: async (t, host) => {
        if (host.name === 'a') {
          await gate.opened;
          await t.run(step, 'x', { name: 'fail' });
          return;
        }
        await t.block(
          'b',
          async () => {
            await t.run(step, 'slow', { name: 'slow' });
            await t.run(step, 'next', { name: 'next' });
          },
          { rescue: async () => t.run(step, 'cleanup', { name: 'cleanup' }), always: async () => void (await t.run(step, 'always', { name: 'always' })) },
        );
      },
    });
    const r = await run(
      play,
      ['a', 'b'],
      [
        {
          match: /^step slow/,
          reply: async () => {
            gate.open();
            await new Promise((done) => setTimeout(done, 50));
            return { stdout: '' };
          },
        },
        fail,
        ok,
      ],
    );
    expect(r.hosts.commands('b')).to.deep.equal(['step slow']);
    expect(r.state.recap().find((line) => line.host === 'b')).to.include({ notRun: true, failed: 0 });
  });
});

describe('engine: delegateTo', () => {
  it('runs on the delegate, reports for this host, and refuses a name that is not one inventory host', async () => {
    const play = book.play({
      name: 'p',
      hosts: 'a',
      tasks: async (t) => {
        await t.run(step, 'on b', { name: 'there' }, { delegateTo: 'b' });
        await t.run(step, 'nowhere', { name: 'x' }, { delegateTo: 'web' });
      },
    });
    const r = await run(play, ['a', 'b'], [ok]);
    expect(r.hosts.commands()).to.deep.equal(['b: step there']);
    expect(resultOf(r, 'a', 'on b')).to.include({ status: 'changed', delegatedTo: 'b' });
    expect(resultOf(r, 'a', 'nowhere')).to.include({ status: 'failed' });
    expect(resultOf(r, 'a', 'nowhere')?.msg).to.equal(`delegateTo "web" is not a host of the inventory: give one inventory host by name, or 'local' for the controller`);
  });
});
