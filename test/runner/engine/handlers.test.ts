/**
 * Handlers are never lost, `flushHandlers` and `listen`: the engine in-process on scripted hosts
 * (test/support/scripted-connection.ts). Each host keeps its pending-handlers state file in memory here
 * (`HostFiles`), written and removed by the very commands the engine sends, so a second run reads what
 * the first left. Each case asserts what the hosts received, in order, and the run's events in order.
 *
 * The same on real hosts over SSH, through the CLI (Ctrl-C included): test/cli/handlers.lab.test.ts.
 */
import { expect } from 'chai';
import { sh } from '../../../runner/command.ts';
import { HostSession, type HostTarget } from '../../../runner/engine/host-session.ts';
import { pendingHandlersKey, renderPendingFile } from '../../../runner/engine/pending-handlers-file.ts';
import { runPlaybook } from '../../../runner/engine/run-playbook.ts';
import { RunState } from '../../../runner/engine/run-state.ts';
import { SessionPool } from '../../../runner/engine/session-pool.ts';
import { EventBus, type RunEvent } from '../../../runner/events.ts';
import { defineModule } from '../../../runner/module.ts';
import { definePlaybook, s, type Playbook } from '../../../runner/playbook.ts';
import { Redactor } from '../../../runner/secret.ts';
import { Gate, ScriptedConnections, type ScriptRule, scriptedOsFact, scriptedTarget } from '../../support/scripted-connection.ts';

/** Runs the steps it is given, one command each (`step NAME`): always a change unless `unchanged`. */
const steps = defineModule({
  name: 'steps',
  summary: 'test: a plan made of the given steps',
  params: s.object({ steps: s.array(s.string(), { nonEmpty: true }), unchanged: s.boolean().default(false) }),
  async plan(params) {
    if (params.unchanged) return { changes: [], reason: 'nothing to do' };
    return { changes: params.steps.map((step) => ({ summary: `step ${step}`, commands: [{ run: sh`step ${step}` }] })) };
  },
});

const PLAYBOOK = 'handlers test';
const FILE = `${pendingHandlersKey(PLAYBOOK)}.json`;

/** The hosts' pending-handlers files, kept across runs as a host keeps its disk. */
class HostFiles {
  readonly files = new Map<string, string>();

  /** Answers the engine's read, write and remove of the state file from `files`. */
  rules(): ScriptRule[] {
    return [
      {
        match: 'echo present; cat --',
        reply: (_body, host) => {
          const text = this.files.get(host);
          return { stdout: text === undefined ? 'absent\n' : `present\n${text}` };
        },
      },
      {
        match: /^if \[ "\$\(id -u\)" = 0 \][\s\S]*mv -f --/,
        reply: (body, host) => {
          expect(body).to.include(FILE);
          // printf '%s' '<content>' > "$t": the content is one JSON line without single quotes.
          const content = /printf '%s' '([^']*)' > "\$t"/.exec(body);
          if (!content) throw new Error(`unexpected write: ${body}`);
          this.files.set(host, content[1]!);
          return {};
        },
      },
      {
        match: /^if \[ "\$\(id -u\)" = 0 \][\s\S]*rm -f --/,
        reply: (body, host) => {
          expect(body).to.include(FILE);
          this.files.delete(host);
          return {};
        },
      },
    ];
  }
}

const target = (name: string): HostTarget => scriptedTarget(name, ['web']);
const osFact = scriptedOsFact;

interface Run {
  hosts: ScriptedConnections;
  state: RunState;
  /** One line per event: `a: handler restart changed`, `stopping fail-fast`, `warning a: …`. */
  timeline: string[];
  /** What each host received, state-file commands shortened to `read state`, `write state`, `remove state`. */
  sent: (host?: string) => string[];
}

async function run(playbook: Playbook<any>, hostNames: string[], rules: ScriptRule[], files: HostFiles, options: { check?: boolean; keepGoing?: boolean; state?: RunState } = {}): Promise<Run> {
  const hosts = new ScriptedConnections([...rules, ...files.rules()]);
  const targets = hostNames.map(target);
  const redactor = new Redactor();
  const state = options.state ?? new RunState();
  const events: RunEvent[] = [];
  const bus = new EventBus('handlers-test', [{ handle: (event) => events.push(event) }]);
  const sessions = new SessionPool((host) => new HostSession(host, hosts.connector, redactor, { defaultTimeoutMs: 60_000 }));
  const select = (pattern: string) => targets.filter((host) => pattern === 'all' || host.name === pattern || host.groups.includes(pattern));
  await runPlaybook(playbook, new Map(targets.map((host) => [host.name, {}])), {
    check: options.check ?? false,
    keepGoing: options.keepGoing ?? false,
    forks: 10,
    tags: { only: [], skip: [] },
    selectHosts: select,
    inventoryHosts: select,
    sessions,
    bus,
    state,
    redactor,
    clock: () => 0,
    modules: { steps },
    osFact,
  });
  await sessions.closeAll();
  const shorten = (body: string) => (body.includes('echo present; cat --') ? 'read state' : body.includes('mv -f --') ? 'write state' : body.includes('rm -f --') ? 'remove state' : body);
  return {
    hosts,
    state,
    timeline: events.filter((event) => event.kind !== 'task-start').map(describeEvent),
    sent: (host) => hosts.log.filter((entry) => entry.event === 'exec' && (host === undefined || entry.host === host)).map((entry) => (host === undefined ? `${entry.host}: ` : '') + shorten(entry.body)),
  };
}

function describeEvent(event: RunEvent): string {
  switch (event.kind) {
    case 'play-start':
      return `play-start ${event.play}`;
    case 'play-end':
      return `play-end ${event.play}`;
    case 'task-result':
      return `${event.result.host}: ${event.handler ? 'handler ' : ''}${event.result.task} ${event.result.status}${event.result.checkMode ? ' (check)' : ''}`;
    case 'stopping':
      return `stopping ${event.reason}`;
    case 'warning':
      return `warning ${event.host ?? '-'}: ${event.message}`;
    default:
      return event.kind;
  }
}

const ok: ScriptRule = { match: /^step /, reply: {} };
const fail: ScriptRule = { match: /^step fail/, reply: { exitCode: 1, stderr: 'broke\n' } };
const book = definePlaybook({ name: PLAYBOOK });

/** Writes the config (a change) and notifies `restart app`; then `a` breaks while `b` is in a slow task. */
function configurePlay(alreadyWritten = false) {
  return book.play({
    name: 'configure',
    hosts: 'all',
    handlers: {
      'restart app': async (t) => {
        await t.run(steps, 'restart app', { steps: ['restart-app'] });
      },
    },
    tasks: async (t, host) => {
      await t.run(steps, 'write config', { steps: [`write-${host.name}`], unchanged: alreadyWritten }, { notify: 'restart app' });
      if (host.name === 'a') await t.run(steps, 'break', { steps: ['fail-a'] });
      else {
        await t.run(steps, 'slow', { steps: ['slow-b'] });
        await t.run(steps, 'after', { steps: ['after-b'] });
      }
    },
  });
}

describe('handlers are never lost', () => {
  it("a healthy host runs its notified handler when another host's failure stops the run; the failed host's is remembered on it", async () => {
    const files = new HostFiles();
    const bSlow = new Gate();
    const aFailed = new Gate();
    const rules: ScriptRule[] = [
      // b's slow task is in flight when a fails, and ends after the run began stopping.
      {
        match: 'step slow-b',
        reply: async () => {
          bSlow.open();
          await aFailed.opened;
          return {};
        },
      },
      {
        match: 'step fail-a',
        reply: async () => {
          await bSlow.opened;
          setImmediate(aFailed.open);
          return { exitCode: 1, stderr: 'broke\n' };
        },
      },
      ok,
    ];
    const first = await run(book.playbook([configurePlay()]), ['a', 'b'], rules, files);
    expect(first.sent('b')).to.deep.equal(['read state', 'step write-b', 'step slow-b', 'step restart-app']);
    expect(first.sent('a')).to.deep.equal(['read state', 'step write-a', 'step fail-a', 'read state', 'write state']);
    expect(first.timeline).to.deep.equal([
      'play-start configure',
      'a: write config changed',
      'b: write config changed',
      'a: break failed',
      'stopping fail-fast',
      'warning a: handler "restart app" notified but not run (a failed): remembered on the host, to run at the end of this play in the next run of this playbook',
      'a: handler remember pending handlers: restart app changed',
      'b: slow changed',
      'b: handler restart app changed',
      'warning b: the run is stopping (fail-fast); b ran its notified handlers first',
      'play-end configure',
    ]);
    expect(first.state.exitCode()).to.equal(2);
    // b's last task did not start: recapped as not run, though its handler ran.
    expect(first.state.recap().map((line) => [line.host, line.notRun])).to.deep.equal([
      ['a', false],
      ['b', true],
    ]);
    expect([...files.files]).to.deep.equal([['a', renderPendingFile(PLAYBOOK, { configure: ['restart app'] })]]);

    // The re-run finds a's config already written: only the remembered handler still has work, and runs.
    const second = await run(book.playbook([configurePlay(true)]), ['a'], [ok], files);
    expect(second.sent('a')).to.deep.equal(['read state', 'step fail-a', 'step restart-app', 'read state', 'remove state']);
    expect(second.timeline).to.deep.equal([
      'play-start configure',
      'warning a: handler "restart app" pending from an interrupted run (play "configure"): runs at the end of the play',
      'a: write config ok',
      'a: break changed',
      'a: handler restart app changed',
      'a: handler forget pending handlers (they ran) changed',
      'play-end configure',
    ]);
    expect(files.files.size).to.equal(0);
  });

  it('on Ctrl-C (a stop request) a notified handler does not start: it is remembered, and the next run runs it even though nothing changes, then clears the file', async () => {
    const files = new HostFiles();
    const state = new RunState();
    const play = (changed: boolean) =>
      book.play<void, 'restart app'>({
        name: 'configure',
        hosts: 'all',
        handlers: {
          'restart app': async (t) => {
            await t.run(steps, 'restart app', { steps: ['restart-app'] });
          },
        },
        tasks: async (t) => {
          await t.run(steps, 'write config', { steps: ['write'], unchanged: !changed }, { notify: 'restart app' });
          await t.run(steps, 'slow task', { steps: ['sleep'] });
          await t.run(steps, 'after', { steps: ['after'] });
        },
      });
    // Ctrl-C while `sleep` runs: the command in flight finishes, nothing new starts.
    const interrupted = await run(
      book.playbook([play(true)]),
      ['b'],
      [
        {
          match: 'step sleep',
          reply: () => {
            state.stop('interrupted');
            return {};
          },
        },
        ok,
      ],
      files,
      { state },
    );
    expect(interrupted.sent('b')).to.deep.equal(['read state', 'step write', 'step sleep', 'read state', 'write state']);
    expect(interrupted.timeline).to.deep.equal([
      'play-start configure',
      'b: write config changed',
      'b: slow task changed',
      'warning b: handler "restart app" notified but not run (the run was interrupted): remembered on the host, to run at the end of this play in the next run of this playbook',
      'b: handler remember pending handlers: restart app changed',
      'play-end configure',
    ]);
    expect(interrupted.state.recap()[0]).to.include({ notRun: true });
    expect(files.files.get('b')).to.equal(renderPendingFile(PLAYBOOK, { configure: ['restart app'] }));

    const next = await run(book.playbook([play(false)]), ['b'], [ok], files);
    expect(next.sent('b')).to.deep.equal(['read state', 'step sleep', 'step after', 'step restart-app', 'read state', 'remove state']);
    expect(next.timeline).to.deep.equal([
      'play-start configure',
      'warning b: handler "restart app" pending from an interrupted run (play "configure"): runs at the end of the play',
      'b: write config ok',
      'b: slow task changed',
      'b: after changed',
      'b: handler restart app changed',
      'b: handler forget pending handlers (they ran) changed',
      'play-end configure',
    ]);
    expect(files.files.size).to.equal(0);

    // And the run after that has nothing pending: no handler, no write.
    const third = await run(book.playbook([play(false)]), ['b'], [ok], files);
    expect(third.sent('b')).to.deep.equal(['read state', 'step sleep', 'step after']);
  });

  it('a handler that fails while the run stops stays pending with those after it', async () => {
    const files = new HostFiles();
    const play = book.play<void, 'first' | 'second'>({
      name: 'configure',
      hosts: 'all',
      handlers: {
        first: async (t) => {
          await t.run(steps, 'first', { steps: ['fail-first'] });
        },
        second: async (t) => {
          await t.run(steps, 'second', { steps: ['second'] });
        },
      },
      tasks: async (t) => {
        await t.run(steps, 'change', { steps: ['change'] }, { notify: ['second', 'first'] });
      },
    });
    const result = await run(book.playbook([play]), ['a'], [fail, ok], files);
    expect(result.sent('a')).to.deep.equal(['read state', 'step change', 'step fail-first', 'read state', 'write state']);
    expect(files.files.get('a')).to.equal(renderPendingFile(PLAYBOOK, { configure: ['first', 'second'] }));
  });
});

describe('pending handlers the playbook no longer has', () => {
  it('are reported and dropped, and the file is cleared once the play with handlers ended', async () => {
    const files = new HostFiles();
    files.files.set('a', renderPendingFile(PLAYBOOK, { 'old play': ['restart old'], p: ['gone', 'restart'] }));
    const play = book.play<void, 'restart'>({
      name: 'p',
      hosts: 'all',
      handlers: {
        restart: async (t) => {
          await t.run(steps, 'restart', { steps: ['restart'] });
        },
      },
      tasks: async (t) => {
        await t.run(steps, 'nothing', { steps: ['x'], unchanged: true }, { notify: 'restart' });
      },
    });
    const result = await run(book.playbook([play]), ['a'], [ok], files);
    expect(result.sent('a')).to.deep.equal(['read state', 'step restart', 'read state', 'remove state']);
    expect(result.timeline).to.deep.equal([
      'play-start p',
      'warning a: handler "restart old" pending from an interrupted run of play "old play", which the playbook no longer has: dropped',
      'warning a: handler "gone" pending from an interrupted run (play "p") is no longer defined by the play: dropped',
      'warning a: handler "restart" pending from an interrupted run (play "p"): runs at the end of the play',
      'a: nothing ok',
      'a: handler restart changed',
      'a: handler forget pending handlers (they ran) changed',
      'play-end p',
    ]);
    expect(files.files.size).to.equal(0);
  });
});

describe('flushHandlers', () => {
  it('runs the handlers notified so far, in definition order, then the play goes on; they run again at the end only if notified again', async () => {
    const files = new HostFiles();
    const play = book.play<void, 'reload' | 'restart'>({
      name: 'p',
      hosts: 'all',
      handlers: {
        restart: async (t) => {
          await t.run(steps, 'restart', { steps: ['restart'] });
        },
        reload: async (t) => {
          await t.run(steps, 'reload', { steps: ['reload'] });
        },
      },
      tasks: async (t) => {
        await t.run(steps, 'one', { steps: ['one'] }, { notify: ['reload', 'restart'] });
        await t.flushHandlers();
        await t.run(steps, 'two', { steps: ['two'] }, { notify: 'reload' });
        await t.flushHandlers();
        await t.flushHandlers();
        await t.run(steps, 'three', { steps: ['three'] }, { notify: 'restart' });
      },
    });
    const result = await run(book.playbook([play]), ['a'], [ok], files);
    expect(result.sent('a')).to.deep.equal(['read state', 'step one', 'step restart', 'step reload', 'step two', 'step reload', 'step three', 'step restart']);
    expect(result.timeline.filter((line) => line.includes(' changed'))).to.deep.equal([
      'a: one changed',
      'a: handler restart changed',
      'a: handler reload changed',
      'a: two changed',
      'a: handler reload changed',
      'a: three changed',
      'a: handler restart changed',
    ]);
  });

  it('a handler that fails in a flush fails the host: the play stops there and the handler is remembered', async () => {
    const files = new HostFiles();
    const play = book.play<void, 'restart'>({
      name: 'p',
      hosts: 'all',
      handlers: {
        restart: async (t) => {
          await t.run(steps, 'restart', { steps: ['fail-restart'] });
        },
      },
      tasks: async (t) => {
        await t.run(steps, 'one', { steps: ['one'] }, { notify: 'restart' });
        await t.flushHandlers();
        await t.run(steps, 'two', { steps: ['two'] });
      },
    });
    const result = await run(book.playbook([play]), ['a'], [fail, ok], files);
    expect(result.sent('a')).to.deep.equal(['read state', 'step one', 'step fail-restart', 'read state', 'write state']);
    expect(result.state.exitCode()).to.equal(2);
    expect(files.files.get('a')).to.equal(renderPendingFile(PLAYBOOK, { p: ['restart'] }));
  });
});

describe('listen', () => {
  it('one notification runs every handler listening to it, each once, in definition order, beside handlers notified by name', async () => {
    const files = new HostFiles();
    const play = book.play({
      name: 'p',
      hosts: 'all',
      handlers: {
        'restart proxy': { listen: 'restart web stack', run: async (t) => t.run(steps, 'restart proxy', { steps: ['proxy'] }) },
        'restart app': { listen: ['restart web stack', 'app changed'], run: async (t) => t.run(steps, 'restart app', { steps: ['app'] }) },
        'reload cache': async (t) => t.run(steps, 'reload cache', { steps: ['cache'] }),
      },
      tasks: async (t) => {
        await t.run(steps, 'app config', { steps: ['conf'] }, { notify: ['app changed', 'restart app'] });
        await t.run(steps, 'stack config', { steps: ['stack'] }, { notify: 'restart web stack' });
        // @ts-expect-error a topic no handler listens to is a compile error
        await t.run(steps, 'nothing', { steps: ['none'], unchanged: true }, { notify: 'restart the world' });
      },
    });
    const result = await run(book.playbook([play]), ['a'], [ok], files);
    expect(result.sent('a')).to.deep.equal(['read state', 'step conf', 'step stack', 'step proxy', 'step app']);
    expect(result.timeline.filter((line) => line.includes('handler'))).to.deep.equal(['a: handler restart proxy changed', 'a: handler restart app changed']);
  });
});

describe('handlers in check mode', () => {
  it('writes nothing; a handler pending on the host is reported as "would run" and predicted', async () => {
    const files = new HostFiles();
    files.files.set('a', renderPendingFile(PLAYBOOK, { configure: ['restart app'] }));
    const play = book.play<void, 'restart app'>({
      name: 'configure',
      hosts: 'all',
      handlers: {
        'restart app': async (t) => {
          await t.run(steps, 'restart app', { steps: ['restart-app'] });
        },
      },
      tasks: async (t) => {
        await t.run(steps, 'write config', { steps: ['write'], unchanged: true }, { notify: 'restart app' });
      },
    });
    const dry = await run(book.playbook([play]), ['a'], [ok], files, { check: true });
    expect(dry.sent('a')).to.deep.equal(['read state']);
    expect(dry.timeline).to.deep.equal([
      'play-start configure',
      'warning a: handler "restart app" pending from an interrupted run (play "configure"): would run at the end of the play',
      'a: write config ok (check)',
      'a: handler restart app changed (check)',
      'play-end configure',
    ]);
    expect(files.files.get('a')).to.equal(renderPendingFile(PLAYBOOK, { configure: ['restart app'] }));
  });

  it('an interrupted dry run remembers nothing', async () => {
    const files = new HostFiles();
    const state = new RunState();
    const play = book.play<void, 'restart'>({
      name: 'p',
      hosts: 'all',
      handlers: {
        restart: async (t) => {
          await t.run(steps, 'restart', { steps: ['restart'] });
        },
      },
      tasks: async (t) => {
        await t.run(steps, 'change', { steps: ['change'] }, { notify: 'restart' });
        state.stop('interrupted');
        await t.run(steps, 'after', { steps: ['after'] });
      },
    });
    const dry = await run(book.playbook([play]), ['a'], [ok], files, { check: true, state });
    expect(dry.sent('a')).to.deep.equal(['read state']);
    expect(dry.timeline).to.deep.equal(['play-start p', 'a: change changed (check)', 'play-end p']);
    expect(files.files.size).to.equal(0);
  });
});
