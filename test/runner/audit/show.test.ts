/**
 * `audit show`, the log for people: a command is shown from its first line, so a reviewer sees what it
 * does (a write, not the tail of its wrapper), and a long one says how much more the record holds.
 */
import { expect } from 'chai';
import { showAuditLog } from '../../../runner/audit/show.ts';
import { renderCommand, sh } from '../../../runner/command.ts';
import { chainedLog, end, start, task } from '../../support/audit-log-fixture.ts';

describe('audit show', () => {
  it('shows each command from its first line, indented, cut after 12 lines with the count of the rest', () => {
    const short = renderCommand({ run: sh`echo DANGEROUS-FIRST-LINE\necho harmless` }).line;
    const long = Array.from({ length: 30 }, (_, index) => `echo line${index + 1}`).join('\n');
    const text = chainedLog([
      start(['web1']),
      task('web1', 'two lines', 'changed', { commands: [{ line: short, executed: true, exitCode: 0 }] }),
      task('web1', 'long', 'changed', { commands: [{ line: long, executed: false, exitCode: null }] }),
      end(['web1'], 0),
    ]);
    const shown = showAuditLog(text);
    expect(shown).to.include("    rc=0\n      $ /bin/sh -c 'set -eu\n");
    expect(shown).to.include("        echo DANGEROUS-FIRST-LINE\n        echo harmless'\n");
    expect(shown).to.include('    not run\n      $ echo line1\n        echo line2\n');
    expect(shown).to.include('        echo line12\n        … 18 more line(s), in the record\n');
    expect(shown).not.to.include('echo line13');
  });

  it('reports lines that are not records as such, and escapes every value from the log', () => {
    const hostile = '\x1b]0;pwned\x07\x1b[31m';
    const log = chainedLog([
      start(['web1']),
      task('web1', 'say', 'ok', { module: 'debug', msg: `hello ${hostile}\nsecond line` }),
      { kind: 'host-output', host: 'web1', exitCode: 0, stdoutTail: `out ${hostile}\nline 2`, stderrTail: `err ${hostile}` },
      end(['web1'], 0),
    ]);
    const text = `${log}null\n[1,2]\n{"kind":{"a":1}}\n{"seq":1}\nplain \x1b[31mRED\x1b]0;pwned\x07\n`;
    const shown = showAuditLog(text);
    expect(shown).not.to.match(/[\x07\x1b\r]/);
    expect(shown).to.include(' · hello \\e]0;pwned\\x07\\e[31m\n');
    expect(shown).to.include('    out \\e]0;pwned\\x07\\e[31m\n    line 2\n    stderr: err \\e]0;pwned\\x07\\e[31m\n');
    const lines = shown.split('\n');
    expect(lines).to.include.members([
      '!! line 5 is JSON but not an audit record: null',
      '!! line 6 is JSON but not an audit record: [1,2]',
      '!! line 7 is JSON but not an audit record: {"kind":{"a":1}}',
      '!! line 8 is JSON but not an audit record: {"seq":1}',
      '!! line 9 is not JSON: plain \\e[31mRED\\e]0;pwned\\x07',
    ]);
    expect(shown).not.to.match(/undefined|\[object Object\]/i);
    expect(showAuditLog('null\n')).to.match(/^!! line 1 is JSON but not an audit record: null\nchain: BROKEN/);
    expect(showAuditLog('{"kind":"run-start"}\n')).to.match(/^#\? \? RUN \? by \? on \?/);
  });
});
