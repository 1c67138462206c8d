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
});
