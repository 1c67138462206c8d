/**
 * t.runOnce end to end: the real CLI, three lab hosts over real SSH, the hosts' files read back with the
 * plain OpenSSH client. Fixture: test/fixtures/playbooks/run-once.ts.
 */
import { expect } from 'chai';
import { labInventory, runPlaybookCli, taskRecords } from '../support/playbook-cli.ts';
import { describeOnLab, onHost } from '../support/targets.ts';

const PLAYBOOK = 'test/fixtures/playbooks/run-once.ts';
const DIR = '/tmp/drover-run-once';

describeOnLab('t.runOnce: one host runs it, every host gets the result', 3, (targets) => {
  beforeEach(async () => {
    for (const target of targets()) await onHost(target, `rm -rf ${DIR}`);
  });
  after(async () => {
    for (const target of targets()) await onHost(target, `rm -rf ${DIR}`);
  });

  it('runs on the first host only, after its earlier tasks; the others wait and write the same token', async function () {
    this.timeout(300_000);
    const [first, ...others] = targets();
    const run = await runPlaybookCli(PLAYBOOK, labInventory(targets()));
    expect(run.code, run.stdout + run.stderr).to.equal(0);

    expect((await onHost(first!, `cat ${DIR}/runs`)).stdout).to.equal(`${first!.name}\n`);
    const made = (await onHost(first!, `cat ${DIR}/made`)).stdout.trim();
    expect(made).to.match(/^[A-Za-z0-9]{16,}$/);
    for (const target of targets()) expect((await onHost(target, `cat ${DIR}/token`)).stdout, target.name).to.equal(`${made}\n`);
    for (const target of others) expect((await onHost(target, `test -e ${DIR}/runs; echo $?`)).stdout.trim(), target.name).to.equal('1');

    // Recorded like a task on every host, naming where it ran; the token itself never in the log.
    expect(taskRecords(run, first!.name, 'make a token')[0]).to.include({ module: 'runOnce', status: 'ok', sharedFrom: first!.name });
    for (const target of others) {
      const [record] = taskRecords(run, target.name, 'make a token');
      expect(record, target.name).to.include({ module: 'runOnce', status: 'ok', sharedFrom: first!.name });
      expect(record!.msg).to.equal(`shared from ${first!.name} (ran once there)`);
      expect(taskRecords(run, target.name, 'token'), target.name).to.have.length(0);
    }
    expect(run.auditText).to.not.include(made);
  });

  it("fails every host of the play, naming the chosen host's failure, when the run-once code fails there", async function () {
    this.timeout(300_000);
    const [first, ...others] = targets();
    const run = await runPlaybookCli(PLAYBOOK, labInventory(targets()), ['-e', 'mode=fail']);
    expect(run.code, run.stdout + run.stderr).to.equal(2);
    for (const target of targets()) expect((await onHost(target, `test -e ${DIR}/token; echo $?`)).stdout.trim(), target.name).to.equal('1');
    for (const target of others) {
      const [record] = taskRecords(run, target.name, 'make a token');
      expect(record, target.name).to.include({ module: 'runOnce', status: 'failed', sharedFrom: first!.name });
      expect(record!.msg).to.include(`runOnce "make a token" failed on ${first!.name} (task "injected failure" failed: command exited with 3`);
      expect(record!.msg).to.include(`so ${target.name} fails too`);
    }
    const recap = run.stdout.slice(run.stdout.indexOf('RECAP'));
    for (const target of targets()) expect(recap, recap).to.match(new RegExp(`${target.name}\\s+: ok=\\d+ changed=\\d+ failed=1 `));
  });

  it('--check: the token would be made, so it is unknown and the task using it is reported "would run", on every host', async function () {
    this.timeout(300_000);
    const run = await runPlaybookCli(PLAYBOOK, labInventory(targets()), ['--check']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    for (const target of targets()) {
      const [copy] = taskRecords(run, target.name, 'the shared token');
      expect(copy, `${target.name}\n${run.stdout}`).to.include({ status: 'changed', uncertain: true, checkMode: true });
      expect(copy!.msg).to.include('would run: it uses "make a token" from lab-1, unknown in check mode');
      expect(taskRecords(run, target.name, 'make a token')[0]!.msg).to.include('unknown in check mode');
      expect((await onHost(target, `test -e ${DIR}; echo $?`)).stdout.trim(), target.name).to.equal('1');
    }
    expect(run.stdout).to.match(/would run\s+\S+\s+the shared token/);
  });
});
