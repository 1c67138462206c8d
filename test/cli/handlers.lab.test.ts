/**
 * Handlers are never lost, end to end: the real CLI (`tsx run.ts`), two lab hosts over real SSH, the
 * hosts' state read back with the plain OpenSSH client. Fixture: test/fixtures/playbooks/handlers.ts.
 *
 * - Another host's failure: the control plane fails while the worker's slow task runs, after both hosts
 *   changed their config and notified the handler. The worker's handler runs before the run ends; the
 *   failed control plane's is remembered on it and runs on the next run, whose config finds nothing to do.
 * - Ctrl-C during a slow task after the notify: no handler starts; the state file is written on each host;
 *   the next run runs the handler though nothing changes, and removes the file.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pendingHandlersKey, renderPendingFile } from '../../runner/engine/pending-handlers-file.ts';
import { labInventory } from '../support/playbook-cli.ts';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PLAYBOOK = join(ROOT, 'test/fixtures/playbooks/handlers.ts');
const STATE_FILE = `/var/lib/drover/pending-handlers/${pendingHandlersKey('handlers lab fixture')}.json`;
const PLAY = 'configure the app';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  auditPath: string;
}

/** `tsx run.ts …` with its own audit log; SIGINT (Ctrl-C) when `interruptWhen` resolves. */
function drover(args: string[], interruptWhen?: () => Promise<void>): Promise<CliRun> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'drover-audit-')), 'audit.jsonl');
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'run.ts'), ...args, '--audit-log', auditPath], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    interruptWhen?.().then(
      () => child.kill('SIGINT'),
      (error: unknown) => {
        child.kill('SIGKILL');
        reject(error);
      },
    );
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr, auditPath }));
    child.stdin.end('');
  });
}

function auditRecords(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function read(target: LabTarget, path: string): Promise<string> {
  const out = await onHost(target, `cat ${path} 2>/dev/null || echo '(absent)'`);
  return out.stdout;
}

async function clean(targets: LabTarget[]): Promise<void> {
  await Promise.all(targets.map((target) => onHost(target, `rm -rf /tmp/drover-handlers-test ${STATE_FILE}`)));
}

/** Resolves once `path` exists on the host (polled; bounded so a broken run fails instead of hanging). */
async function whenExists(target: LabTarget, path: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if ((await onHost(target, `test -e ${path}`)).exitCode === 0) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
  throw new Error(`${path} never appeared on ${target.name}`);
}

describeOnLab('handlers are never lost (CLI, lab hosts)', 2, (allTargets) => {
  const targets = () => allTargets().slice(0, 2);
  let inventory: string;
  before(async () => {
    inventory = labInventory(targets());
    await clean(targets());
  });
  afterEach(async () => clean(targets()));

  it("another host's failure: the healthy host's handler runs before the run ends; the failed host's runs on the next run", async function () {
    this.timeout(300_000);
    const [control, worker] = targets() as [LabTarget, LabTarget];
    const failed = await drover([PLAYBOOK, '-i', inventory, '-e', 'mode=fail']);
    expect(failed.code, failed.stdout + failed.stderr).to.equal(2);
    expect(failed.stdout).to.match(/STOPPING \(fail-fast\)/);
    // The worker's slow task was in flight; its next task did not start, but its handler ran.
    expect(await read(worker, '/tmp/drover-handlers-test/restarts')).to.equal(`restarted ${worker.name}\n`);
    expect(await read(worker, '/tmp/drover-handlers-test/after')).to.equal('(absent)\n');
    expect(await read(worker, STATE_FILE)).to.equal('(absent)\n');
    // The control plane failed: its handler is remembered on it, not run.
    expect(await read(control, '/tmp/drover-handlers-test/restarts')).to.equal('(absent)\n');
    expect(await read(control, STATE_FILE)).to.equal(renderPendingFile('handlers lab fixture', { [PLAY]: ['restart app'] }));
    expect(failed.stdout).to.include(`handler "restart app" notified but not run (${control.name} failed): remembered on the host`);
    // Handler records (kind `handler`) hold the state file's write, with its command.
    const remembered = auditRecords(failed.auditPath).filter((record) => record.kind === 'handler' && String(record.task).startsWith('remember pending handlers'));
    expect(remembered.map((record) => [record.host, record.task, record.status])).to.deep.equal([[control.name, 'remember pending handlers: restart app', 'changed']]);

    const next = await drover([PLAYBOOK, '-i', inventory]);
    expect(next.code, next.stdout + next.stderr).to.equal(0);
    expect(next.stdout).to.include('handler "restart app" pending from an interrupted run (play "configure the app"): runs at the end of the play');
    expect(await read(control, '/tmp/drover-handlers-test/restarts')).to.equal(`restarted ${control.name}\n`);
    expect(await read(control, STATE_FILE)).to.equal('(absent)\n');
    // The config was already there: the handler ran only because it was remembered; the worker's did not run again.
    const records = auditRecords(next.auditPath);
    expect(records.filter((record) => record.kind === 'task' && record.task === 'app config').map((record) => record.status)).to.deep.equal(['ok', 'ok']);
    expect(records.filter((record) => record.kind === 'handler' && record.task === 'restart app').map((record) => record.host)).to.deep.equal([control.name]);
    expect(await read(worker, '/tmp/drover-handlers-test/restarts')).to.equal(`restarted ${worker.name}\n`);
  });

  it('Ctrl-C during a slow task after the notify: the handler is remembered on each host, and the next run runs it and clears the file', async function () {
    this.timeout(300_000);
    const [control, worker] = targets() as [LabTarget, LabTarget];
    const interrupted = await drover([PLAYBOOK, '-i', inventory, '-e', 'mode=interrupt'], async () => {
      await whenExists(control, '/tmp/drover-handlers-test/sleeping');
      await whenExists(worker, '/tmp/drover-handlers-test/sleeping');
    });
    expect(interrupted.code, interrupted.stdout + interrupted.stderr).to.equal(130);
    for (const target of [control, worker]) {
      expect(await read(target, '/tmp/drover-handlers-test/restarts'), target.name).to.equal('(absent)\n');
      expect(await read(target, '/tmp/drover-handlers-test/after'), target.name).to.equal('(absent)\n');
      expect(await read(target, STATE_FILE), target.name).to.equal(renderPendingFile('handlers lab fixture', { [PLAY]: ['restart app'] }));
      expect((await onHost(target, `stat -c %a ${STATE_FILE}`)).stdout.trim()).to.equal('600');
    }
    expect(interrupted.stdout).to.include('notified but not run (the run was interrupted): remembered on the host');

    // A dry run sees the pending handler and says it would run; it writes nothing.
    const dry = await drover([PLAYBOOK, '-i', inventory, '--check']);
    expect(dry.code, dry.stdout + dry.stderr).to.equal(0);
    expect(dry.stdout).to.include('pending from an interrupted run (play "configure the app"): would run at the end of the play');
    expect(await read(control, STATE_FILE)).to.equal(renderPendingFile('handlers lab fixture', { [PLAY]: ['restart app'] }));
    expect(await read(control, '/tmp/drover-handlers-test/restarts')).to.equal('(absent)\n');

    const next = await drover([PLAYBOOK, '-i', inventory]);
    expect(next.code, next.stdout + next.stderr).to.equal(0);
    for (const target of [control, worker]) {
      expect(await read(target, '/tmp/drover-handlers-test/restarts'), target.name).to.equal(`restarted ${target.name}\n`);
      expect(await read(target, STATE_FILE), target.name).to.equal('(absent)\n');
    }
    const records = auditRecords(next.auditPath);
    expect(records.filter((record) => record.kind === 'task' && record.task === 'app config').map((record) => record.status)).to.deep.equal(['ok', 'ok']);
    expect(records.filter((record) => record.kind === 'handler' && record.task === 'forget pending handlers (they ran)').map((record) => record.status)).to.deep.equal(['changed', 'changed']);

    // Nothing is pending any more: a third run restarts nothing.
    const third = await drover([PLAYBOOK, '-i', inventory]);
    expect(third.code).to.equal(0);
    expect(await read(control, '/tmp/drover-handlers-test/restarts')).to.equal(`restarted ${control.name}\n`);
  });
});
