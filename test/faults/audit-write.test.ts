/**
 * An audit log whose disk fills up during the run: the run must stop as it would on Ctrl-C (no new task,
 * handlers remembered on the host, not run unrecorded), end its log with its last whole record (so
 * `audit verify` calls it incomplete, not intact nor broken), say so, and exit 5 (audit trail not whole).
 * The "disk" is a 64 KiB tmpfs mounted for the test (CI runs as root); the host is a real lab host.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COUNT_FILE } from '../fixtures/playbooks/audit-filler.ts';
import { runCli, ROOT } from '../support/run-cli.ts';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

describeOnLab('faults: the audit log cannot be written mid-run (a full disk)', 1, (targets) => {
  let dir: string;
  let disk: string;

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'drover-faults-audit-write-'));
    disk = join(dir, 'disk');
    execFileSync('mkdir', [disk]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'drover-audit-test', disk]);
  });
  after(() => {
    if (!disk) return;
    execFileSync('umount', [disk]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops the run, ends the log with its last whole record, says so, and exits 5', async function () {
    this.timeout(300_000);
    const [target] = targets() as [LabTarget];
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `all:\n  vars:\n    drover_known_hosts_file: ${target.knownHostsPath}\n  hosts:\n    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${target.keyPath}\n`,
    );
    const log = join(disk, 'run.jsonl');
    const run = await runCli([join(ROOT, 'test/fixtures/playbooks/audit-filler.ts'), '-i', inventory, '--audit-log', log], { timeoutMs: 240_000 });

    expect(run.code, run.stdout + run.stderr).to.equal(5);
    expect(run.stdout).to.match(/audit log \S+run\.jsonl: cannot be written \(ENOSPC\): no new task starts/);
    expect(run.stderr).to.match(/the audit log \S+run\.jsonl ends after record \d+ .*: it is incomplete/);
    const records = Number(/ends after record (\d+)/.exec(run.stderr)?.[1]);

    // The log holds whole records only, and the verifier calls it incomplete (exit 3), not broken (1).
    const written = readFileSync(log, 'utf8');
    expect(written.endsWith('\n')).to.equal(true);
    expect(written.split('\n').filter(Boolean)).to.have.length(records);
    const verify = await runCli(['audit', 'verify', log]);
    expect(verify.code, verify.stdout + verify.stderr).to.equal(3);
    expect(statSync(log).size).to.be.lessThan(64 * 1024);

    // The run stopped soon after: of 300 tasks, at most the one in flight ran beyond what was recorded.
    const ran = Number((await onHost(target, `wc -l < ${COUNT_FILE}`)).stdout.trim());
    expect(ran).to.be.greaterThan(0).and.lessThan(300);
    expect(ran).to.be.at.most(records);
    // The handler did not run unrecorded: it is remembered on the host for its next run.
    expect((await onHost(target, `test -e ${COUNT_FILE}.handler && echo ran || echo not`)).stdout.trim()).to.equal('not');
    const pending = await onHost(target, 'cat /var/lib/drover/pending-handlers/*.json 2>/dev/null');
    expect(pending.stdout).to.include('after the output');
    await onHost(target, `rm -f ${COUNT_FILE} ${COUNT_FILE}.handler /var/lib/drover/pending-handlers/*.json`);
  });
});
