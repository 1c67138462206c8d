/**
 * `audit report` through the CLI (it starts drover several times, so it runs in the second stage): the page
 * written with the chain's and the signature's verdicts (a log signed by ssh-keygen -Y sign), exit statuses
 * as `audit verify`, and refusals that write nothing. The report itself is tested from fixture logs in
 * test/runner/report/audit-report.test.ts.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetLog } from '../support/audit-log-fixture.ts';
import { runCli } from '../support/run-cli.ts';

describe('audit report (CLI)', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'drover-report-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the page with the chain verdict and signature status, exiting as audit verify does', async () => {
    const logPath = join(dir, 'fleet.jsonl');
    writeFileSync(logPath, fleetLog());
    const out = join(dir, 'report.html');
    const run = await runCli(['audit', 'report', logPath, '-o', out]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const page = readFileSync(out, 'utf8');
    expect(page).to.include('chain intact').and.include('<span class="badge muted">unsigned</span>').and.include('node[01:18]');

    const tampered = join(dir, 'tampered.jsonl');
    writeFileSync(tampered, readFileSync(logPath, 'utf8').replace('set net.ipv4.ip_forward 2 → 1', 'set net.ipv4.ip_forward 1 → 1'));
    const broken = await runCli(['audit', 'report', tampered, '--format', 'markdown']);
    expect(broken.code).to.equal(1);
    expect(broken.stdout).to.include('chain **broken**').and.include('BROKEN at record');
  });

  it('never writes over a file: -o naming the log itself leaves the log intact; a path it cannot write is one line', async () => {
    const logPath = join(dir, 'self.jsonl');
    writeFileSync(logPath, fleetLog());
    const before = readFileSync(logPath);
    const self = await runCli(['audit', 'report', logPath, '-o', logPath]);
    expect(self.code).to.equal(1);
    expect(self.stderr).to.include(`audit report: cannot write ${logPath} (EEXIST); a report never replaces a file`);
    expect(readFileSync(logPath).equals(before)).to.equal(true);
    expect((await runCli(['audit', 'verify', logPath])).code).to.equal(0);
    for (const [output, code] of [
      [join(dir, 'no-such-dir', 'r.html'), 'ENOENT'],
      [dir, 'EEXIST'],
    ] as const) {
      const run = await runCli(['audit', 'report', logPath, '-o', output]);
      expect([run.code, run.stderr.trim().split('\n').length], run.stderr).to.deep.equal([1, 1]);
      expect(run.stderr).to.include(`cannot write ${output} (${code})`).and.not.include('internal error');
    }
  });

  it('verifies a signature made by ssh-keygen -Y sign, and names the signer with --allowed-signers', async () => {
    const key = join(dir, 'alice');
    expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]).status).to.equal(0);
    const logPath = join(dir, 'signed.jsonl');
    writeFileSync(logPath, fleetLog());
    const signed = spawnSync('ssh-keygen', ['-Y', 'sign', '-f', key, '-n', 'drover-audit', logPath], { encoding: 'utf8' });
    expect(signed.status, signed.stderr).to.equal(0);
    const signers = join(dir, 'allowed_signers');
    writeFileSync(signers, `alice@example.com namespaces="drover-audit" ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);

    const unchecked = await runCli(['audit', 'report', logPath, '--format', 'markdown']);
    expect(unchecked.code, unchecked.stderr).to.equal(0);
    expect(unchecked.stdout).to.include('signature matches, by').and.include('```diff');
    const trusted = await runCli(['audit', 'report', '--allowed-signers', signers, logPath, '-o', join(dir, 'signed.html')]);
    expect(trusted.code, trusted.stderr).to.equal(0);
    expect(readFileSync(join(dir, 'signed.html'), 'utf8'))
      .to.include('<span class="badge good">signed by an allowed key</span>')
      .and.include('signed by alice@example.com');

    // The same signature beside a changed log: the chain and the signature both say so, exit 1.
    const forged = join(dir, 'forged.jsonl');
    writeFileSync(forged, readFileSync(logPath, 'utf8').replace('alice', 'mallory'));
    copyFileSync(`${logPath}.sig`, `${forged}.sig`);
    const bad = await runCli(['audit', 'report', forged, '--format', 'markdown']);
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.include('**SIGNATURE BAD');
    // An unsigned log where policy requires a signature: exit 4, as audit verify.
    const required = await runCli(['audit', 'report', '--allowed-signers', signers, '--require-signature', join(dir, 'fleet.jsonl'), '--format', 'markdown']);
    expect(required.code).to.equal(4);
    expect(required.stdout).to.include('UNSIGNED');
  });

  it('refuses an unknown format and a missing log, writing nothing', async () => {
    const out = join(dir, 'never.html');
    const format = await runCli(['audit', 'report', join(dir, 'fleet.jsonl'), '--format', 'pdf', '-o', out]);
    expect([format.code, format.stderr]).to.satisfy(([code, stderr]: [number, string]) => code === 1 && stderr.includes('--format takes html or markdown'));
    const missing = await runCli(['audit', 'report', join(dir, 'absent.jsonl'), '-o', out]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('cannot read the audit log').and.include('ENOENT');
    expect(existsSync(out)).to.equal(false);
  });
});
