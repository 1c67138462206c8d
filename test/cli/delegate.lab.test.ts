/**
 * delegateTo end to end: the real CLI, three lab hosts; each worker's task runs on the control plane on
 * its behalf (its files read back there over plain SSH), and under --check a read-only task runs on the
 * controller. Fixture: test/fixtures/playbooks/delegate.ts.
 */
import { expect } from 'chai';
import { hostname } from 'node:os';
import { labInventory, runPlaybookCli, taskRecords } from '../support/playbook-cli.ts';
import { describeOnLab, onHost } from '../support/targets.ts';

const PLAYBOOK = 'test/fixtures/playbooks/delegate.ts';
const DIR = '/tmp/drover-delegate';

describeOnLab('delegateTo: a task runs on another host on behalf of this one', 3, (targets) => {
  beforeEach(async () => {
    for (const target of targets()) await onHost(target, `rm -rf ${DIR}`);
  });
  after(async () => {
    for (const target of targets()) await onHost(target, `rm -rf ${DIR}`);
  });

  it("runs each worker's task on the control plane; the result is the worker's, naming both hosts", async function () {
    this.timeout(300_000);
    const [controlPlane, ...workers] = targets();
    const run = await runPlaybookCli(PLAYBOOK, labInventory(targets()));
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const cpHostname = (await onHost(controlPlane!, 'hostname')).stdout;
    for (const worker of workers) {
      // The file is on the control plane, written by a command that ran there.
      expect((await onHost(controlPlane!, `cat ${DIR}/from-${worker.name}`)).stdout, worker.name).to.equal(cpHostname);
      expect((await onHost(worker, `test -e ${DIR}; echo $?`)).stdout.trim(), worker.name).to.equal('1');
      const [record] = taskRecords(run, worker.name, 'note on the control plane');
      expect(record, worker.name).to.include({ status: 'changed', delegatedTo: controlPlane!.name });
      expect(run.stdout).to.match(new RegExp(`changed\\s+${worker.name} → ${controlPlane!.name}\\s+note on the control plane`));
    }
    // The recap counts the task for the workers it ran for; the control plane ran no play.
    expect(run.stdout.slice(run.stdout.indexOf('RECAP'))).to.not.include(`${controlPlane!.name} `);
  });

  it("uses the delegate's become settings from the inventory, not the worker's", async function () {
    this.timeout(300_000);
    const [controlPlane, ...workers] = targets();
    // Only the control plane becomes another user (daemon); the workers log in as root and do not.
    const inventory = labInventory(targets(), { [controlPlane!.name]: '              ansible_become: true\n              ansible_become_user: daemon\n' });
    const run = await runPlaybookCli(PLAYBOOK, inventory);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    for (const worker of workers) {
      expect((await onHost(controlPlane!, `stat -c %U ${DIR}/from-${worker.name}`)).stdout.trim(), worker.name).to.equal('daemon');
    }
  });

  it('--check: a read-only task delegated to local runs on the controller; the delegated change is predicted', async function () {
    this.timeout(300_000);
    const [controlPlane, ...workers] = targets();
    const run = await runPlaybookCli(PLAYBOOK, labInventory(targets()), ['--check']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    for (const worker of workers) {
      expect(taskRecords(run, worker.name, 'controller hostname')[0], worker.name).to.include({ status: 'ok', delegatedTo: 'localhost' });
      expect(taskRecords(run, worker.name, 'controller')[0]!.msg).to.equal(`controller is ${hostname()}`);
      expect(taskRecords(run, worker.name, 'note on the control plane')[0], worker.name).to.include({ status: 'changed', checkMode: true, delegatedTo: controlPlane!.name });
    }
    expect((await onHost(controlPlane!, `test -e ${DIR}; echo $?`)).stdout.trim()).to.equal('1');
  });
});
