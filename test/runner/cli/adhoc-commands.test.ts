/**
 * `exec`'s command line, checked before any inventory is read: no command, an empty one and one of blanks
 * alike are usage errors (exit 1), not a task that fails on every host. The inventory named does not exist,
 * so a check that came too late would fail on that instead, and nothing could run.
 */
import { expect } from 'chai';
import { execCommand } from '../../../runner/cli/adhoc-commands.ts';
import { UsageError } from '../../../runner/cli/options.ts';

describe('exec: the command after --', () => {
  it('refuses no command, an empty one and one of blanks as usage errors, before the inventory is read', async () => {
    const cases: Array<[string[], string]> = [
      [[], 'no command given: put it after `--`'],
      [[''], 'the command after `--` is empty (an unset shell variable?): give the command to run, e.g. `exec workers -i inv.yaml -- uptime`'],
      [['  '], 'the command after `--` is only blanks'],
      [['', '\t', ''], 'the command after `--` is only blanks'],
    ];
    for (const [words, message] of cases) {
      const argv = ['all', '-i', '/nonexistent/drover-inventory.yaml', '--check', '--', ...words];
      let thrown: unknown;
      try {
        await execCommand(argv);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(words)).to.be.instanceOf(UsageError);
      expect((thrown as Error).message, JSON.stringify(words)).to.include(message);
    }
  });
});
