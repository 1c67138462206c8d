/**
 * t.block end to end: the real CLI, three lab hosts; an injected failure of "init" on the second host, a
 * rescue that resets it there, an always. Fixture: test/fixtures/playbooks/block.ts. The other hosts'
 * init is slow, so fail-fast has them in flight when the failure comes.
 */
import { expect } from 'chai';
import { labInventory, runPlaybookCli, taskRecords } from '../support/playbook-cli.ts';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

const PLAYBOOK = 'test/fixtures/playbooks/block.ts';
const DIR = '/tmp/drover-block';

async function files(target: LabTarget): Promise<Record<string, string>> {
  const out = (await onHost(target, `cd ${DIR} 2>/dev/null && for f in *; do [ -e "$f" ] || continue; printf '%s=%s\\n' "$f" "$(cat "$f")"; done`)).stdout;
  return Object.fromEntries(
    out
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describeOnLab('t.block: cleanup on the failed host (block/rescue/always)', 3, (targets) => {
  beforeEach(async () => {
    for (const target of targets()) await onHost(target, `rm -rf ${DIR}`);
  });
  after(async () => {
    for (const target of targets()) await onHost(target, `rm -rf ${DIR}`);
  });

  it('runs the rescue and always on the failed host despite fail-fast; the host stays failed; the others stop', async function () {
    this.timeout(300_000);
    const [first, failing, third] = targets();
    const run = await runPlaybookCli(PLAYBOOK, labInventory(targets()), ['-e', `fail_on=${failing!.name}`]);
    expect(run.code, run.stdout + run.stderr).to.equal(2);
    // The cleanup ran on the failed host: init undone, the rescue saw which task failed, always ran; nothing after.
    expect(await files(failing!)).to.deep.equal({ always: 'always', reset: 'init' });
    // Fail-fast: the others finished their slow init if it was in flight, and started nothing new, always included.
    for (const target of [first!, third!]) expect(Object.keys(await files(target)), target.name).to.not.include.any.members(['after', 'always', 'reset']);
    expect(run.stdout).to.match(new RegExp(`${first!.name}\\s+: .*\\(stopped before finishing\\)`));

    const [record] = taskRecords(run, failing!.name, 'init or reset');
    expect(record).to.include({ module: 'block', status: 'failed' });
    expect(record!.msg).to.include(`the cleanup ran; ${failing!.name} stays failed`);
    const recap = run.stdout.slice(run.stdout.indexOf('RECAP'));
    expect(recap).to.match(new RegExp(`${failing!.name}\\s+: ok=\\d+ changed=3 failed=1 `));
    expect(recap).to.not.include('rescued=');
  });

  it('recovered: true: the host goes on with the rescue value, the run is not stopped, exit 0, recap rescued=1', async function () {
    this.timeout(300_000);
    const [first, failing, third] = targets();
    const run = await runPlaybookCli(PLAYBOOK, labInventory(targets()), ['-e', `fail_on=${failing!.name}`, '-e', 'mode=recovered']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(await files(failing!)).to.deep.equal({ after: 'reset', always: 'always', reset: 'init' });
    for (const target of [first!, third!]) expect(await files(target), target.name).to.deep.equal({ after: 'initialised', always: 'always', init: 'started' });
    expect(taskRecords(run, failing!.name, 'init or reset')[0]).to.include({ module: 'block', status: 'ok' });
    expect(run.records.some((r) => r.kind === 'stopping')).to.equal(false);
    const recap = run.stdout.slice(run.stdout.indexOf('RECAP'));
    expect(recap).to.match(new RegExp(`${failing!.name}\\s+: ok=\\d+ changed=\\d+ failed=0 .* rescued=1`));
  });
});
