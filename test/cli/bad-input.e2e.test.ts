/**
 * Command-line input that is wrong in ways a new user hits: each is one line naming the input and what to
 * do, exit 1, never a stack trace, and nothing runs. No host is contacted (the inventory's one host is
 * 192.0.2.1, TEST-NET-1, and every case fails before connecting).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
      // Swapped: the inventory as the playbook, the playbook as the inventory (read as INI before).
      { args: [inventory, '-i', join(ROOT, 'test/fixtures/playbooks/needs-var.ts')], says: `${inventory} is not a playbook` },
      { args: ['exec', 'all', '-i', join(ROOT, 'test/fixtures/playbooks/needs-var.ts'), '--', 'true'], says: 'is a TypeScript or JavaScript module (a playbook?), not an inventory' },
      { args: ['inventory', '-i', join(ROOT, 'test/fixtures/playbooks/needs-var.ts'), '--graph'], says: 'is a TypeScript or JavaScript module (a playbook?), not an inventory' },
      // A run's options on the inventory command were accepted and did nothing.
      { args: ['inventory', '-i', inventory, '--list', '--check', '--tags', 'x'], says: '--check, --tags do not apply to inventory --list/--graph' },
      // One path for both files was found only after the dry run.
      {
        args: [join(ROOT, 'test/fixtures/playbooks/needs-var.ts'), '-i', inventory, '--check', '--save-plan', join(dir, 'both.json'), '--audit-log', join(dir, 'both.json')],
        says: '--save-plan and --audit-log name the same file',
      },
      { args: [join(ROOT, 'test/fixtures/playbooks/needs-var.ts'), '-i', inventory, '-e', '@'], says: '-e @: no file name after @' },
      { args: [join(ROOT, 'test/fixtures/playbooks/needs-var.ts'), '-i', inventory, '--shard', ' 1/2'], says: '--shard takes I/N' },
      { args: [join(ROOT, 'playbooks/cluster.ts'), '-i', inventory, '--bogus'], says: 'drover: unknown option --bogus (see --help)' },
      { args: ['exec', 'all', '-i', inventory, '--', ''], says: 'the command after `--` is empty' },
      { args: ['exec', 'all', '-i', inventory, '--', ' '], says: 'the command after `--` is only blanks' },
    ];
    for (const { args, says } of cases) {
      // The audit log's option goes before `--`: after it, it would be part of exec's command. Not for the
      // inventory command (it writes no log, and refuses the option), nor where the case gives its own.
      const ownLog = args[0] === 'inventory' || args.includes('--audit-log');
      const run = await runCli(ownLog ? args : [args[0]!, '--audit-log', join(dir, `${Math.random()}.jsonl`), ...args.slice(1)]);
      const shown = args.join(' ').slice(0, 120);
      expect(run.code, `${shown}\n${run.stderr}`).to.equal(1);
      expect(run.stderr, shown)
        .to.include(says)
        .and.not.include('internal error')
        .and.not.match(/^\s+at /m);
      expect(run.stderr.trim().split('\n'), shown).to.have.length(1);
    }
  });

  it('a malformed play (serial 0, a percentage of 0, hosts 123, null, a name alone): refused as the playbook loads, naming the play and the option; nothing runs', async () => {
    const local = join(dir, 'local-malformed.yaml');
    writeFileSync(local, 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n');
    const cases: Array<[string, string]> = [
      ['serial-0', 'play "rolling": serial: expected a whole number from 1 to ∞ or a percentage'],
      ['serial-0%', "0% is not a share of the play's hosts"],
      ['hosts-123', 'play "numbered": hosts: expected a host pattern'],
      ['null', 'book.playbook([…]): play 2 is null, not a play'],
      ['name-only', 'play "x" (play 2 of book.playbook([…])): hosts: is required'],
    ];
    for (const [defect, says] of cases) {
      const log = join(dir, `malformed-${defect}.jsonl`);
      const run = await runCli([join(ROOT, 'test/fixtures/playbooks/malformed-play.ts'), '-i', local, '--check', '--no-typecheck', '--audit-log', log], {
        env: { DROVER_TEST_DEFECT: defect },
      });
      expect(run.code, `${defect}\n${run.stdout}\n${run.stderr}`).to.equal(1);
      expect(run.stderr, defect)
        .to.include(says)
        .and.include('nothing was run')
        .and.not.include('internal error')
        .and.not.match(/^\s+at /m);
      expect(run.stdout, defect).to.equal('');
      expect(existsSync(log), defect).to.equal(false);
    }
  });

  it("a play's host pattern that is not a valid regular expression, and a --limit naming nothing: errors, exit 1, nothing run", async () => {
    const local = join(dir, 'local-patterns.yaml');
    writeFileSync(local, 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n');
    const cases: Array<[string, string[], string]> = [
      ['hosts-regex', [], `play "broken": '~dead(' in host pattern '~dead(' is not a valid regular expression`],
      ['serial-0%', ['--limit', 'localhost,typo'], "--limit: 'typo' in host pattern 'localhost,typo' matches no host and no group"],
      ['serial-0%', ['--limit', '~['], "--limit: '~[' in host pattern '~[' is not a valid regular expression"],
    ];
    for (const [defect, args, says] of cases) {
      const log = join(dir, `pattern-${Math.random()}.jsonl`);
      const playbook = join(ROOT, 'test/fixtures/playbooks/malformed-play.ts');
      // The limit is checked with the inventory, before the playbook is loaded: the 0% play is never reached.
      const run = await runCli([playbook, '-i', local, '--check', '--no-typecheck', '--audit-log', log, ...args], { env: { DROVER_TEST_DEFECT: defect } });
      expect(run.code, `${defect}\n${run.stdout}\n${run.stderr}`).to.equal(1);
      expect(run.stderr, defect).to.include(says).and.not.include('internal error');
      expect(run.stderr.trim().split('\n'), defect).to.have.length(1);
      expect(existsSync(log), defect).to.equal(false);
    }
  });

  it('a saved plan dated in the future: refused before anything else is checked, naming both times and the clocks', async () => {
    // Its inventory's sha256 is not this one: the old code, which let a future date pass, stopped there instead.
    const playbook = join(ROOT, 'test/fixtures/playbooks/needs-var.ts');
    const createdAt = new Date(Date.now() + 365 * 86_400_000).toISOString();
    const plan = join(dir, 'future-plan.json');
    writeFileSync(
      plan,
      JSON.stringify({
        format: 'drover-plan/1',
        createdAt,
        runId: 'RUN',
        operator: 'alice',
        controller: 'ctl',
        playbook: { path: playbook, sha256: createHash('sha256').update(readFileSync(playbook)).digest('hex') },
        inventory: { path: inventory, sha256: '0'.repeat(64) },
        tags: [],
        skipTags: [],
        complete: true,
        problems: [],
        hosts: {},
      }),
    );
    const run = await runCli(['apply', plan, '-i', inventory, '--max-plan-age', '7d', '--audit-log', join(dir, 'future.jsonl')]);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr).to.include(`the plan ${plan} is dated ${createdAt}, 364 days after this controller's clock`);
    expect(run.stderr).to.include('nothing was run. Check both clocks');
    expect(run.stderr.trim().split('\n')).to.have.length(1);
    expect(existsSync(join(dir, 'future.jsonl'))).to.equal(false);
  });

  it('standard output that cannot be written (a full disk): one line on stderr; a run keeps its status and closes its audit log; inventory --list fails', function () {
    if (!existsSync('/dev/full')) this.skip();
    const full = openSync('/dev/full', 'w');
    try {
      const local = join(dir, 'local.yaml');
      writeFileSync(local, 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n');
      const log = join(dir, 'full.jsonl');
      const drover = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/drover.js'), ...args], { cwd: ROOT, stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 120_000 });
      // A dry run of a harmless command on the local connection: it runs nothing.
      const run = drover(['exec', 'all', '-i', local, '--check', '--audit-log', log, '--', 'true']);
      expect([run.status, run.stderr]).to.deep.equal([0, 'drover: standard output cannot be written (ENOSPC): what drover prints there is dropped from here on\n']);
      expect(readFileSync(log, 'utf8')).to.include('"kind":"run-end"');
      const list = drover(['inventory', '-i', local, '--list']);
      expect([list.status, list.stderr]).to.deep.equal([1, 'drover: standard output cannot be written (ENOSPC): what drover prints there is dropped from here on\n']);
    } finally {
      closeSync(full);
    }
  });

  it('no -i for exec, a playbook with no plays, a play throwing a non-Error: each says what it is', async () => {
    const noInventory = await runCli(['exec', 'web', '--check', '--audit-log', join(dir, 'noinv.jsonl'), '--', 'true']);
    expect(noInventory.code).to.equal(1);
    expect(noInventory.stderr).to.include('No inventory was given: pass -i INVENTORY');
    const noPlays = await runCli([join(ROOT, 'test/fixtures/playbooks/no-plays.ts'), '-i', inventory, '--audit-log', join(dir, 'noplays.jsonl')]);
    expect(noPlays.code).to.equal(1);
    expect(noPlays.stderr).to.include('the playbook has no plays');
    // The local connection, in a dry run: the play's code throws before any task, so nothing runs at all.
    const local = join(dir, 'local-throw.yaml');
    writeFileSync(local, 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n');
    const thrown = await runCli([join(ROOT, 'test/fixtures/playbooks/throws-object.ts'), '-i', local, '--check', '--audit-log', join(dir, 'throws.jsonl')]);
    expect(thrown.code).to.equal(2);
    expect(thrown.stdout).to.include("{ code: 'E_WEIRD', detail: 'not an Error' }").and.not.include('[object Object]');
  });

  it('audit ACTION --help prints the audit help, exit 0 (it was "unknown option", and show read a log named --help)', async () => {
    for (const action of ['verify', 'show', 'report', 'merge']) {
      const run = await runCli(['audit', action, '--help']);
      expect(run.code, `${action}: ${run.stderr}`).to.equal(0);
      expect(run.stdout, action).to.match(/^Usage:\n {2}tsx run audit verify/);
    }
  });
});
