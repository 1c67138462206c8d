import { expect } from 'chai';
import { Writable } from 'node:stream';
import { printable } from '../../runner/printable.ts';
import { TerminalReporter } from '../../runner/report/terminal.ts';
import { Redactor } from '../../runner/secret.ts';

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
});
