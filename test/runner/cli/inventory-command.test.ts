/** Which options `inventory --list/--graph` refuses: a run's options, which it would accept and ignore. */
import { expect } from 'chai';
import { runOptionsGiven } from '../../../runner/cli/inventory-command.ts';

describe('cli/inventory-command: options that do not apply', () => {
  it('names a run option, however it is written, and only those', () => {
    expect(runOptionsGiven(['-i', 'inv.yaml', '--list', '--check', '--tags', 'x', '--json'])).to.deep.equal(['--check', '--tags', '--json']);
    expect(runOptionsGiven(['-vv', '--graph', '-i', 'inv.yaml', '--shard=1/2'])).to.deep.equal(['-v', '--shard']);
  });

  it("takes the inventory's and the vault's options in every form parseArgs reads, values included", () => {
    for (const argv of [
      ['-i', 'inv.yaml', '--list'],
      ['-iinv.yaml', '--graph'],
      ['--inventory=inv.yaml', '--list'],
      ['--inventory', '--check-named.yaml', '--list'],
      ['-i', 'inv.yaml', '--graph', '--vault-password-file', '--file', '--vault-id', 'prod@x', '--ask-vault-pass'],
      ['-h'],
    ]) {
      expect(runOptionsGiven(argv), argv.join(' ')).to.deep.equal([]);
    }
  });
});
