/**
 * Issue 8 item 4: playbook code that throws where no task catches it (a timer callback, a promise nobody
 * awaited) while commands are in flight on lab hosts. It must fail the host and play it came from (or
 * the run, when it belongs to no play), be counted, and close the run like any failure: exit 2, a
 * run-end record, the commands in flight recorded, no stack trace for the operator, no task after it.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeWithLab, labSsh, type Lab } from '../support/lab.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PLAYBOOKS = join(ROOT, 'test/fixtures/playbooks');
const DIR = '/root/drover-throws';

interface Run {
  code: number;
  output: string;
  auditPath: string;
}

function drover(lab: Lab, playbook: string, entry: 'bin' | 'run.ts' = 'bin'): Promise<Run> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'drover-throws-')), 'audit.jsonl');
  const script = entry === 'bin' ? [join(ROOT, 'bin/drover.js')] : ['--import', 'tsx', join(ROOT, 'run.ts')];
  const limit = lab.hosts.map((host) => host.name).join(',');
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [...script, join(PLAYBOOKS, playbook), '-i', lab.inventoryPath, '--limit', limit, '--audit-log', auditPath], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code: code ?? -1, output, auditPath }));
  });
}

function records(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function auditVerify(path: string): Promise<number> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/drover.js'), 'audit', 'verify', path], { cwd: ROOT, stdio: 'ignore' });
    child.on('close', (code) => resolveRun(code ?? -1));
  });
}

describeWithLab('playbook code that throws outside a task (issue 8 item 4)', 3, (lab) => {
  const clean = async () => {
    await Promise.all(lab().hosts.map((host) => labSsh(lab(), host, `rm -rf ${DIR}`)));
  };
  beforeEach(clean);
  after(clean);

  for (const entry of ['bin', 'run.ts'] as const) {
    it(`${entry}: a timer callback and an unawaited promise fail their hosts and play; the run closes with exit 2`, async function () {
      this.timeout(180_000);
      const run = await drover(lab(), 'throws-outside-task.ts', entry);
      expect(run.code, run.output).to.equal(2);
      expect(run.output, 'no raw stack trace').to.not.match(/^\s+at .*:\d+:\d+\)?$/m);
      const log = records(run.auditPath);
      const end = log[log.length - 1]!;
      expect(end, run.output).to.include({ kind: 'run-end', exitCode: 2 });
      const recap = end.recap as Array<{ host: string; failed: number }>;
      const [first, second, third] = lab().hosts.map((host) => host.name);
      expect(recap.find((line) => line.host === first)?.failed, run.output).to.equal(1);
      expect(recap.find((line) => line.host === second)?.failed, run.output).to.equal(1);
      const failure = (host: string) => log.find((record) => record.host === host && record.status === 'failed');
      expect(failure(first!), run.output).to.include({ task: '(playbook code in stray errors)', module: 'playbook' });
      expect(String(failure(first!)!.msg)).to.match(/outside any task.*throws-outside-task\.ts:\d+:\d+: timer callback failed on lab-1/);
      expect(String(failure(second!)!.msg)).to.match(/outside any task.*unawaited promise rejected on lab-2/);
      // The commands in flight when it happened finished and were recorded, on every host.
      for (const host of [first, second, third]) {
        expect(
          log.find((record) => record.host === host && record.task === 'in flight'),
          `${host}\n${run.output}`,
        ).to.include({ status: 'changed' });
      }
      expect(
        log.some((record) => record.task === 'after the failure'),
        'a task started after the failure',
      ).to.equal(false);
      expect(await auditVerify(run.auditPath)).to.equal(0);
      for (const host of lab().hosts) {
        const after = await labSsh(lab(), host, `test -e ${DIR}/after-the-failure && echo AFTER || true`);
        expect(after.stdout, host.name).to.equal('');
      }
    });
  }

  it('an error that belongs to no play fails the run itself: exit 2, run-end, commands in flight recorded', async function () {
    this.timeout(180_000);
    const run = await drover(lab(), 'throws-outside-play.ts');
    expect(run.code, run.output).to.equal(2);
    expect(run.output).to.match(/STOPPING \(fail-fast\): the run failed: an error was thrown outside any host's play at .*throws-outside-play\.ts:\d+:\d+.*module-level timer failed/);
    const log = records(run.auditPath);
    expect(log[log.length - 1], run.output).to.include({ kind: 'run-end', exitCode: 2 });
    for (const host of lab().hosts) {
      expect(
        log.find((record) => record.host === host.name && record.task === 'in flight'),
        `${host.name}\n${run.output}`,
      ).to.include({ status: 'changed' });
    }
    expect(
      log.some((record) => record.task === 'after the failure'),
      'a task started after the failure',
    ).to.equal(false);
    expect(await auditVerify(run.auditPath)).to.equal(0);
  });
});
