import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PassThrough } from 'node:stream';
import type { RunEvent, StampedEvent } from '../../../runner/events.ts';
import { TerminalReporter, terminalWidth } from '../../../runner/report/terminal.ts';
import type { TaskResult } from '../../../runner/result.ts';
import { Redactor } from '../../../runner/secret.ts';

const FIXTURE = resolve(import.meta.dirname, '../../fixtures/report/terminal-width.ts');

async function drive(columns: number): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', FIXTURE, String(columns)], { timeout: 20_000, cwd: join(import.meta.dirname, '../../..') });
  return stdout;
}

describe('report/terminal on a terminal', function () {
  this.timeout(30_000);

  it('prints results and finishes on a terminal that reports no width (no spinner: it would loop forever)', async () => {
    const output = await drive(0);
    expect(output).to.include('node1').and.include('a long task');
    expect(output).not.to.include('working:');
  });

  it('shows the spinner with the hosts still working on a terminal with a width', async () => {
    const output = await drive(100);
    expect(output).to.include('working:').and.include('node2');
    expect(output).to.include('a long task');
  });

  it('reads the width only from a stream that has one', () => {
    expect(terminalWidth(process.stdout)).to.be.a('number');
    expect(terminalWidth({ columns: 0 } as unknown as NodeJS.WriteStream)).to.equal(0);
    expect(terminalWidth({ columns: 132 } as unknown as NodeJS.WriteStream)).to.equal(132);
    expect(terminalWidth({} as unknown as NodeJS.WriteStream)).to.equal(0);
  });
});

describe('report/terminal: verbosity and the task language', () => {
  const result = (fields: Partial<TaskResult>): TaskResult => ({
    host: 'node1',
    task: 'poll',
    module: 'command',
    status: 'changed',
    changed: true,
    checkMode: false,
    uncertain: false,
    msg: 'ran',
    changes: ['ran'],
    diffs: [],
    commands: [{ display: 'curl -f http://x', line: 'curl -f http://x', executed: true, exitCode: 0, stdout: 'up\n', stderr: '', durationMs: 1, timedOut: false }],
    rc: 0,
    stdout: 'up\n',
    stderr: '',
    durationMs: 1,
    ...fields,
  });
  const render = (verbosity: number, events: RunEvent[]): string => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const reporter = new TerminalReporter({ stream, interactive: false, showDiff: false, verbose: verbosity > 0, verbosity, redactor: new Redactor() });
    for (const event of events) reporter.handle({ ...event, runId: 'r', time: 't' } as StampedEvent);
    return text;
  };

  it('-v shows commands, -vv also their output; traces print with their level', () => {
    const event: RunEvent = { kind: 'task-result', result: result({}), params: {}, handler: false };
    expect(render(0, [event])).to.not.include('curl');
    expect(render(1, [event]))
      .to.include('$ curl -f http://x → 0')
      .and.not.match(/^ {8}up$/m);
    expect(render(2, [event])).to.match(/^ {8}up$/m);
    expect(render(3, [{ kind: 'trace', host: 'node1', level: 3, message: 'keepalive sent' }])).to.equal('  vvv node1: keepalive sent\n');
  });

  it('a dry-run task drover cannot predict names the earlier task it depends on', () => {
    const cannotKnow = 'would run (cannot know: depends on "base packages", which may change /etc/containerd/config.toml)';
    const text = render(0, [
      {
        kind: 'task-result',
        result: result({ task: 'config', checkMode: true, uncertain: true, msg: `${cannotKnow}: create /etc/containerd/config.toml`, changes: ['create /etc/containerd/config.toml'] }),
        params: {},
        handler: false,
      },
      {
        kind: 'task-result',
        result: result({ task: 'dir', checkMode: true, uncertain: true, msg: `${cannotKnow}: /etc/x is a file`, changes: [] }),
        params: {},
        handler: false,
      },
    ]);
    expect(text).to.include('would run    node1  config [command]\n      cannot know: depends on "base packages", which may change /etc/containerd/config.toml\n      would create');
    expect(text).to.include('      cannot know: depends on "base packages", which may change /etc/containerd/config.toml: /etc/x is a file\n');
  });

  it('shows each retry, the attempts of the final result, and a checkMode override', () => {
    const text = render(0, [
      { kind: 'task-retry', host: 'node1', task: 'poll', module: 'command', attempt: 1, attempts: 3, delaySeconds: 5, status: 'failed', msg: 'refused' },
      { kind: 'task-result', result: result({ attempts: 2 }), params: {}, handler: false },
      { kind: 'task-result', result: result({ task: 'read', status: 'ok', changed: false, checkModeOverride: 'always-run' }), params: {}, handler: false },
    ]);
    expect(text.split('\n')[0]).to.match(/^ {2}retry +node1 {2}poll \[command\] attempt 1\/3 failed; again in 5 s$/);
    expect(text).to.include('after 2 attempts').and.include('(ran for real despite --check: checkMode always-run)');
  });
});
