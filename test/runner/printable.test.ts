import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { RunEvent, StampedEvent } from '../../runner/events.ts';
import { printable, printableText } from '../../runner/printable.ts';
import { TerminalReporter } from '../../runner/report/terminal.ts';
import { Redactor } from '../../runner/secret.ts';
import { taskResult } from '../support/task-result.ts';

describe('printable: names that cannot forge output', () => {
  it('escapes controls, separators and bidi overrides; leaves other text alone', () => {
    const table: Array<[string, string]> = [
      ['web-1', 'web-1'],
      ['café ✓', 'café ✓'],
      ['a\nb', 'a\\nb'],
      ['a\rb', 'a\\rb'],
      ['\x1b[2J', '\\e[2J'],
      ['\x07\x7f\x9b', '\\x07\\x7f\\x9b'],
      ['a\u2028b\u202ec', 'a\\u2028b\\u202ec'],
    ];
    for (const [input, output] of table) expect(printable(input), JSON.stringify(input)).to.equal(output);
  });

  it('keeps the terminal recap one line per host whatever the host name holds', () => {
    let written = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        written += String(chunk);
        done();
      },
    });
    const reporter = new TerminalReporter({ stream, interactive: false, showDiff: false, verbose: false, redactor: new Redactor() });
    const stamp = { runId: 'r', time: new Date(0).toISOString() };
    const hosts = ['evil\nfake-host : ok=9', 'esc\x1b[2J', 'cr\rover'];
    for (const host of hosts) {
      reporter.handle({
        ...stamp,
        kind: 'task-result',
        handler: false,
        params: {},
        result: { host, task: 'two\nlines', module: 'shell', status: 'ok', changed: false, checkMode: false, uncertain: false, msg: 'fine', changes: [], diffs: [], commands: [], rc: 0, stdout: '', stderr: '', durationMs: 1 },
      });
    }
    reporter.handle({ ...stamp, kind: 'run-end', recap: hosts.map((host) => ({ host, ok: 1, changed: 0, failed: 0, skipped: 0, unreachable: 0, ignored: 0, notRun: false })), exitCode: 0, interrupted: false, durationMs: 1 });
    expect(written).not.to.match(/[\x1b\r]/);
    const lines = written.split('\n');
    expect(lines.filter((line) => line.includes('fake-host'))).to.have.length(2);
    expect(lines).to.include.members(['  evil\\nfake-host : ok=9 : ok=1 changed=0 failed=0 skipped=0 unreachable=0 ignored=0']);
    expect(written).to.include('esc\\e[2J').and.include('cr\\rover').and.include('two\\nlines');
  });

  it('keeps the lines and tabs of text, and escapes every other control', () => {
    const table: Array<[string, string]> = [
      ['two\nlines\tand a tab', 'two\nlines\tand a tab'],
      ['crlf\r\nend', 'crlf\r\nend'],
      ['over\rwrite', 'over\\rwrite'],
      ['hello \x1b]0;pwned\x07 there', 'hello \\e]0;pwned\\x07 there'],
      ['\x1b[31mRED\u202e', '\\e[31mRED\\u202e'],
    ];
    for (const [input, output] of table) expect(printableText(input), JSON.stringify(input)).to.equal(output);
  });

  it('escapes messages, output, changes and diffs in the terminal report, in both views', () => {
    const hostile = 'x\x1b]0;pwned\x07\x1b[2J\ry';
    const events: RunEvent[] = [
      { kind: 'task-result', handler: false, params: {}, result: taskResult('h1', 'say', { module: 'debug', msg: `hello ${hostile}` }) },
      {
        kind: 'task-result',
        handler: false,
        params: {},
        result: taskResult('h1', 'write', {
          status: 'changed',
          changed: true,
          changes: [`write /etc/${hostile}`],
          diffs: [{ kind: 'file', path: '/etc/motd', before: 'old\n', after: `new ${hostile}\n` }],
        }),
      },
      {
        kind: 'task-result',
        handler: false,
        params: {},
        result: taskResult('h1', 'fail', { status: 'failed', changed: false, msg: `failed: ${hostile}`, failure: { kind: 'command-failed', hint: `try ${hostile}` } }),
      },
      { kind: 'host-output', host: 'h1', exitCode: 0, stdout: `out ${hostile}\nline 2\n`, stderr: `err ${hostile}\n` },
      { kind: 'warning', message: `warn ${hostile}` },
      { kind: 'stopping', reason: 'fail-fast', message: `stop ${hostile}` },
      { kind: 'host-unreachable', host: 'h2', message: `gone ${hostile}`, hint: `hint ${hostile}` },
    ];
    for (const hostView of ['per-host', 'grouped'] as const) {
      let written = '';
      const stream = new Writable({
        write(chunk, _encoding, done) {
          written += String(chunk);
          done();
        },
      });
      const reporter = new TerminalReporter({ stream, interactive: false, showDiff: true, verbose: true, verbosity: 2, redactor: new Redactor(), hostView });
      for (const event of events) reporter.handle({ ...event, runId: 'r', time: 't' } as StampedEvent);
      expect(written, hostView).not.to.match(/[\x07\x1b\r]/);
      expect(written, hostView).to.include('x\\e]0;pwned\\x07\\e[2J\\ry');
      expect(written, hostView).to.include('out x\\e]0;pwned\\x07\\e[2J\\ry\n  line 2');
    }
  });
});
