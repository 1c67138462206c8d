/**
 * The playbook language together, end to end through the CLI on three lab hosts (the control plane and two
 * workers), each host's files read back over plain SSH. Fixture: test/fixtures/playbooks/cluster-language.ts:
 * a run-once join token (a secret), workers waiting for the control plane's port and retrying until it is
 * ready, an injected join failure on one worker cleaned up by a rescue (which tells the control plane, by
 * delegation), and the healthy hosts' handler surviving that failure.
 */
import { expect } from 'chai';
import { pendingHandlersKey } from '../../runner/engine/pending-handlers-file.ts';
import { labInventory, runPlaybookCli, taskRecords } from '../support/playbook-cli.ts';
import { describeOnLab, onHost } from '../support/targets.ts';

const PLAYBOOK = 'test/fixtures/playbooks/cluster-language.ts';
const DIR = '/tmp/drover-together';
const PENDING = `/var/lib/drover/pending-handlers/${pendingHandlersKey('cluster language lab fixture')}.json`;

describeOnLab('the playbook language together: a cluster bring-up with a failing worker', 3, (targets) => {
  const clean = async () => {
    // The API stand-in this test started on the control plane: stopped by its recorded pid.
    await onHost(targets()[0]!, `test -f ${DIR}/server.pid && kill "$(cat ${DIR}/server.pid)" 2>/dev/null; true`);
    for (const target of targets()) await onHost(target, `rm -rf ${DIR} ${PENDING}`);
  };
  beforeEach(clean);
  after(clean);

  it('shares the token, waits, retries, cleans up the failed worker, and the healthy hosts still restart', async function () {
    this.timeout(400_000);
    const [controlPlane, healthy, failing] = targets();
    const run = await runPlaybookCli(PLAYBOOK, labInventory(targets()), ['-e', `fail_on=${failing!.name}`], 300_000);
    expect(run.code, run.stdout + run.stderr).to.equal(2);

    // Run once: the token made on the control plane only, the healthy worker joined with it.
    const token = (await onHost(controlPlane!, `cat ${DIR}/token`)).stdout.trim();
    expect(token).to.match(/^[A-Za-z0-9]{16,}$/);
    expect((await onHost(healthy!, `cat ${DIR}/joined; test -e ${DIR}/token; echo $?`)).stdout).to.equal(`${token}\n1\n`);
    for (const target of targets()) expect(taskRecords(run, target.name, 'join token')[0], target.name).to.include({ status: 'ok', sharedFrom: controlPlane!.name });
    // The secret is nowhere in the report or the audit log.
    expect(run.auditText).to.not.include(token);
    expect(run.stdout).to.not.include(token);

    // waitFor from each worker to the other host's port, then retries until "ready".
    for (const worker of [healthy!, failing!]) {
      expect(taskRecords(run, worker.name, 'API port on the control plane')[0], worker.name).to.include({ status: 'ok' });
      const ready = taskRecords(run, worker.name, 'control plane ready')[0]!;
      expect(ready.status, worker.name).to.equal('ok');
      expect(ready.attempts as number, worker.name).to.be.greaterThan(1);
    }
    expect(run.records.filter((r) => r.kind === 'task-retry' && r.host === healthy!.name).length).to.be.greaterThan(0);

    // The cleanup on the failed worker, and its note delegated to the control plane; it stays failed.
    expect((await onHost(failing!, `cat ${DIR}/reset; test -e ${DIR}/joined; echo $?`)).stdout).to.equal('join the cluster\n1\n');
    expect((await onHost(controlPlane!, `cat ${DIR}/failed-workers`)).stdout).to.equal(`${failing!.name}\n`);
    expect(taskRecords(run, failing!.name, 'tell the control plane')[0]).to.include({ status: 'changed', delegatedTo: controlPlane!.name });
    expect(taskRecords(run, failing!.name, 'join')[0]).to.include({ module: 'block', status: 'failed' });

    // Handlers: the healthy hosts were stopped in their slow task and restarted anyway; the failed worker's is remembered.
    for (const target of [controlPlane!, healthy!]) {
      expect((await onHost(target, `wc -l < ${DIR}/restarted`)).stdout.trim(), target.name).to.equal('1');
      expect(run.stdout).to.include(`the run is stopping (fail-fast); ${target.name} ran its notified handlers first`);
      expect(taskRecords(run, target.name, 'warm the cache')[0], target.name).to.include({ status: 'changed' });
    }
    expect((await onHost(failing!, `test -e ${DIR}/restarted; echo $?`)).stdout.trim()).to.equal('1');
    expect((await onHost(failing!, `cat ${PENDING}`)).stdout).to.include('"restart agent"');
    const recap = run.stdout.slice(run.stdout.indexOf('RECAP'));
    expect(recap).to.match(new RegExp(`${failing!.name}\\s+: ok=\\d+ changed=\\d+ failed=1 `));
    expect(recap).to.match(new RegExp(`${healthy!.name}\\s+: ok=\\d+ changed=\\d+ failed=0 `));
  });
});
