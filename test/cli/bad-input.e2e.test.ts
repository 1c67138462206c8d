/**
 * Command-line input that is wrong in ways a new user hits: each is one line naming the input and what to
 * do, exit 1, never a stack trace, and nothing runs. No host is contacted (the inventory's one host is
 * 192.0.2.1, TEST-NET-1, and every case fails before connecting).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli } from '../support/run-cli.ts';

describe('bad command-line input: one clear line, nothing run', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'drover-bad-input-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const inventory = join(dir, 'inventory.yaml');
  writeFileSync(inventory, 'all:\n  hosts:\n    web1:\n      ansible_host: 192.0.2.1\n');

  it('--ssh-config naming a missing file or a directory; a host pattern too long for a regular expression', async () => {
    const cases: Array<{ args: string[]; says: string }> = [
      { args: ['exec', 'all', '-i', inventory, '--ssh-config', join(dir, 'nope'), '--', 'true'], says: `--ssh-config ${join(dir, 'nope')} does not exist: name an OpenSSH client config file` },
      { args: ['exec', 'all', '-i', inventory, '--ssh-config', dir, '--', 'true'], says: `--ssh-config ${dir} is a directory` },
      { args: ['exec', 'x'.repeat(40_000), '-i', inventory, '--', 'true'], says: 'is not a valid regular expression' },
      { args: ['exec', 'all', '-i', inventory, '-i', inventory, '--', 'true'], says: '--inventory was given 2 times' },
      { args: [join(ROOT, 'test/fixtures/playbooks/needs-var.ts'), '-i', inventory, '--tags', ''], says: '--tags is empty' },
    ];
    for (const { args, says } of cases) {
      // The audit log's option goes before `--`: after it, it would be part of exec's command.
      const run = await runCli([args[0]!, '--audit-log', join(dir, `${Math.random()}.jsonl`), ...args.slice(1)]);
      const shown = args.join(' ').slice(0, 120);
      expect(run.code, `${shown}\n${run.stderr}`).to.equal(1);
      expect(run.stderr, shown)
        .to.include(says)
        .and.not.include('internal error')
        .and.not.match(/^\s+at /m);
      expect(run.stderr.trim().split('\n'), shown).to.have.length(1);
    }
  });
});
