/**
 * Files a command writes for the operator (a saved plan, a merged log, a report) are whole or absent:
 * a directory that cannot take the file stops the run before it starts; a disk that fills up at the end
 * leaves no partial or temporary file, prints no stack trace, and says so in the exit status and the
 * audit log. Runs the CLI on a full tmpfs in a mount namespace of its own (root only; skipped otherwise).
 * The hosts are of the local connection (every host logs in before a play) and run only a `debug` task,
 * in dry runs: nothing is sent to them.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fullDiskUsable, runCliOnFullDisk } from '../support/full-disk.ts';
import { ROOT, runCli } from '../support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'drover-output-files-'));
const inventory = join(dir, 'inv.yaml');
const playbook = join(dir, 'dbg.ts');

describe('output files of the CLI', function () {
  this.timeout(300_000);

  before(() => {
    writeFileSync(inventory, 'all:\n  vars:\n    ansible_connection: local\n  hosts:\n    h1:\n    h2:\n');
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    writeFileSync(
      playbook,
      `import { definePlaybook } from '${join(ROOT, 'runner/playbook.ts')}';\n` +
        `const book = definePlaybook({ name: 'dbg' });\n` +
        `export default book.playbook([book.play({ name: 'dbg', hosts: 'all', tasks: async (t) => { await t.debug('say', { msg: 'hello' }); } })]);\n`,
    );
  });

  it('--save-plan into a directory that cannot take a file stops before the run', async () => {
    const audit = join(dir, 'unwritable.jsonl');
    const run = await runCli([playbook, '-i', inventory, '--check', '--no-typecheck', '--audit-log', audit, '--save-plan', '/sys/p.json']);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr).to.equal('drover: --save-plan /sys/p.json: a file cannot be created in /sys (EACCES); nothing was run. Choose a path in a directory you can write to\n');
    expect(run.stdout).to.not.include('PLAY');
  });

  it('--save-plan on a disk that fills up: no stack trace, no file left, the run failed and its log says why', function () {
    if (!fullDiskUsable) this.skip();
    const full = join(dir, 'full-plan');
    mkdirSync(full);
    const audit = join(dir, 'full-plan.jsonl');
    const run = runCliOnFullDisk(full, [playbook, '-i', inventory, '--check', '--no-typecheck', '--audit-log', audit, '--save-plan', join(full, 'p.json')]);
    expect(run.stderr).to.not.match(/internal error| {4}at /);
    expect(run.stderr).to.include(`drover: cannot write the plan ${join(full, 'p.json')} (ENOSPC): the file system is full`);
    expect(run.listing.split('\n').filter(Boolean)).to.deep.equal(['fill']);
    expect(run.code, run.stdout + run.stderr).to.equal(2);
    const records = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; message?: string; exitCode?: number });
    expect(records.find((record) => record.kind === 'warning')?.message).to.match(/^the plan was not saved: cannot write the plan .*\(ENOSPC\)/);
    expect(records.at(-1)).to.include({ kind: 'run-end', exitCode: 2 });
  });

  describe('audit merge -o and audit report -o on a disk that fills up', () => {
    const parts = [join(dir, 'shard1.jsonl'), join(dir, 'shard2.jsonl')];

    before(async function () {
      if (!fullDiskUsable) this.skip();
      // Port 1 on localhost refuses at once: every host unreachable, each shard's log whole (exit 4).
      const hosts = join(dir, 'hosts.yaml');
      writeFileSync(hosts, 'all:\n  hosts:\n    u[1:12]:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n');
      for (const [index, part] of parts.entries()) {
        const run = await runCli(['exec', 'all', '-i', hosts, '--shard', `${index + 1}/2`, '--audit-log', part, '--', 'true']);
        expect(run.code, run.stdout + run.stderr).to.equal(4);
      }
    });

    it('merge leaves no partial merged log and no temporary file', () => {
      const full = join(dir, 'full-merge');
      mkdirSync(full);
      const run = runCliOnFullDisk(full, ['audit', 'merge', ...parts, '-o', join(full, 'merged.jsonl')]);
      expect(run.listing.split('\n').filter(Boolean)).to.deep.equal(['fill']);
      expect(run.code, run.stdout + run.stderr).to.equal(1);
      expect(run.stderr).to.equal(`drover: audit merge: cannot write ${join(full, 'merged.jsonl')} (ENOSPC); free space on that file system or choose a path for -o on another; nothing was written\n`);
    });

    it('report leaves no empty page and no temporary file', () => {
      const full = join(dir, 'full-report');
      mkdirSync(full);
      const run = runCliOnFullDisk(full, ['audit', 'report', ...parts, '-o', join(full, 'r.html')]);
      expect(run.listing.split('\n').filter(Boolean)).to.deep.equal(['fill']);
      expect(run.code, run.stdout + run.stderr).to.equal(1);
      expect(run.stderr).to.equal(`drover: audit report: cannot write ${join(full, 'r.html')} (ENOSPC); free space on that file system or choose a path for -o on another; no report was written\n`);
    });
  });
});
