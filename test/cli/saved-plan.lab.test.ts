/**
 * Saved plans end to end on three lab hosts over real SSH: `--check --save-plan` writes the plan and
 * changes nothing; `apply` runs it when nothing changed since review, stops a host that drifted (with the
 * difference, nothing of the task run, the others stopped by fail-fast), and refuses a changed playbook,
 * a changed inventory and a plan that is too old. The hosts' state is read back with plain ssh.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SavedPlan } from '../../runner/cli/saved-plan.ts';
import { shardOf } from '../../runner/cli/shard.ts';
import { runCli, ROOT, type CliRun } from '../support/run-cli.ts';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

const FIXTURE = join(ROOT, 'test/fixtures/playbooks/saved-plan.ts');
const STATE_DIR = '/tmp/drover-plan-test';
const TIMEOUT_MS = 300_000;

function inventory(targets: LabTarget[], dir: string): string {
  const host = (target: LabTarget) => `    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${target.keyPath}\n`;
  const path = join(dir, 'inventory.yaml');
  writeFileSync(path, `all:\n  vars:\n    drover_known_hosts_file: ${targets[0]!.knownHostsPath}\n  hosts:\n${targets.map(host).join('')}`);
  return path;
}

/** A copy of the fixture the test may edit, at the fixture's depth below the root (its imports resolve the same). */
function playbookCopy(): string {
  const dir = join(ROOT, 'test-output', 'saved-plan');
  mkdirSync(dir, { recursive: true });
  const path = join(mkdtempSync(join(dir, 'book-')), 'saved-plan.ts');
  copyFileSync(FIXTURE, path);
  return path;
}

/** Each host's managed files as `cat` shows them ("-" when absent), and whether the cache directory exists. */
async function hostState(targets: LabTarget[]): Promise<Array<{ motd: string; settings: string; cache: boolean }>> {
  return Promise.all(
    targets.map(async (target) => {
      const read = async (file: string) => {
        const output = await onHost(target, `cat ${STATE_DIR}/${file} 2>/dev/null || echo -`);
        return output.stdout;
      };
      const cache = await onHost(target, `test -d ${STATE_DIR}/cache`);
      return { motd: await read('motd'), settings: await read('settings.conf'), cache: cache.exitCode === 0 };
    }),
  );
}

function describeRun(run: CliRun): string {
  return `exit ${run.code}${run.timedOut ? ' (timed out)' : ''}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

describeOnLab('saved plans against lab hosts', 3, (lab) => {
  const targets = () => lab().slice(0, 3);
  let work: string;
  let inventoryPath: string;

  beforeEach(async function () {
    this.timeout(TIMEOUT_MS);
    work = mkdtempSync(join(tmpdir(), 'drover-plan-'));
    inventoryPath = inventory(targets(), work);
    // The directory exists before review: no task of the fixture depends on what an earlier task would make.
    await Promise.all(targets().map((target) => onHost(target, `rm -rf ${STATE_DIR} && mkdir -p ${STATE_DIR}`)));
  });
  after(async () => {
    await Promise.all(targets().map((target) => onHost(target, `rm -rf ${STATE_DIR}`)));
  });

  async function savePlan(playbook = FIXTURE, ...more: string[]): Promise<{ path: string; run: CliRun }> {
    const path = join(work, 'plan.json');
    const run = await runCli([playbook, '-i', inventoryPath, '--check', '--save-plan', path, '--audit-log', join(work, 'check.jsonl'), ...more], {
      timeoutMs: TIMEOUT_MS,
    });
    expect(run.code, describeRun(run)).to.equal(0);
    return { path, run };
  }

  function apply(planPath: string, ...more: string[]): Promise<CliRun> {
    return runCli(['apply', planPath, '-i', inventoryPath, '--audit-log', join(work, 'apply.jsonl'), ...more], { timeoutMs: TIMEOUT_MS });
  }

  it('saves the plan of a dry run and applies it unchanged: every task runs, and the log names the plan', async function () {
    this.timeout(TIMEOUT_MS);
    const { path, run } = await savePlan();
    expect(run.stderr).to.match(/plan saved: .*plan\.json \(sha256 [0-9a-f]{64}\)/);
    const plan = JSON.parse(readFileSync(path, 'utf8')) as SavedPlan;
    expect(plan.complete).to.equal(true);
    expect(plan.playbook.sha256).to.equal(createHash('sha256').update(readFileSync(FIXTURE)).digest('hex'));
    expect(plan.inventory?.sha256).to.equal(createHash('sha256').update(readFileSync(inventoryPath)).digest('hex'));
    expect(Object.keys(plan.hosts).sort()).to.deep.equal(
      targets()
        .map((target) => target.name)
        .sort(),
    );
    for (const target of targets()) {
      const tasks = plan.hosts[target.name]!;
      expect(tasks.map((task) => task.key)).to.deep.equal(['1.1 motd', '1.2 limit line', '2.1 cache directory']);
      expect(tasks.map((task) => task.status)).to.deep.equal(['changed', 'changed', 'changed']);
      expect(tasks[0]!.diffs).to.deep.equal([{ kind: 'file', path: `${STATE_DIR}/motd`, before: null, after: `reviewed on Sunday on ${target.name}\n` }]);
      // The first task plans from the host as it is; a later one that reads what an earlier one would leave
      // is planned from predicted state (runner/predicted-state.ts) and says so in its fingerprint.
      expect(tasks[0]!.fingerprint).to.match(/^[0-9a-f]{64}$/);
      for (const task of tasks) expect(task.fingerprint).to.match(/^(predicted:)?[0-9a-f]{64}$/);
    }
    // The dry run changed nothing.
    expect(await hostState(targets())).to.deep.equal(targets().map(() => ({ motd: '-\n', settings: '-\n', cache: false })));

    // A second plan to the same file is refused, and the reviewed one is left as it was.
    const before = readFileSync(path);
    const again = await runCli([FIXTURE, '-i', inventoryPath, '--check', '--save-plan', path, '--audit-log', join(work, 'again.jsonl')], { timeoutMs: TIMEOUT_MS });
    expect(again.code, describeRun(again)).to.equal(1);
    expect(again.stderr).to.include('a saved plan is never overwritten');
    expect(readFileSync(path).equals(before)).to.equal(true);

    const applied = await apply(path);
    expect(applied.code, describeRun(applied)).to.equal(0);
    expect(await hostState(targets())).to.deep.equal(targets().map((target) => ({ motd: `reviewed on Sunday on ${target.name}\n`, settings: 'max_connections=10\n', cache: true })));
    const records = readFileSync(join(work, 'apply.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const planSha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(records[0]!.plan).to.include({ sha256: planSha256, runId: plan.runId });
    expect(
      records
        .filter((record) => record.kind === 'task')
        .map((record) => `${String(record.host)} ${String(record.key)} ${String(record.status)}`)
        .sort(),
    ).to.deep.equal(
      targets()
        .flatMap((target) => ['1.1 motd', '1.2 limit line', '2.1 cache directory'].map((key) => `${target.name} ${key} changed`))
        .sort(),
    );

    const shown = await runCli(['audit', 'show', '--plan', path, join(work, 'apply.jsonl')], { timeoutMs: TIMEOUT_MS });
    expect(shown.code, describeRun(shown)).to.equal(0);
    expect(shown.stdout).to.include('names this plan (sha256 matches)');
    expect(shown.stdout).to.match(/1\.1 motd\s+reviewed changed: create \/tmp\/drover-plan-test\/motd \(\d+ bytes\)\s+\| applied changed: create/);
    // The dry run's own log is not an apply of the plan.
    const notApply = await runCli(['audit', 'show', '--plan', path, join(work, 'check.jsonl')], { timeoutMs: TIMEOUT_MS });
    expect(notApply.code).to.equal(1);
    expect(notApply.stdout).to.include('names no plan');
  });

  it('stops a host changed after review with the difference, runs nothing of that task, and fail-fast stops the rest', async function () {
    this.timeout(TIMEOUT_MS);
    const { path } = await savePlan();
    const drifted = targets()[1]!;
    await onHost(drifted, `echo hand-edited > ${STATE_DIR}/settings.conf`);

    const applied = await apply(path);
    expect(applied.code, describeRun(applied)).to.equal(2);
    expect(applied.stdout).to.include(`${drifted.name} drifted since review: task "1.2 limit line" (lineinfile)`);
    // The diff as reviewed (a file created) next to the diff now (the hand edit kept, the line added).
    expect(applied.stdout).to.match(/reviewed:\n\s+--- \/dev\/null/);
    expect(applied.stdout).to.match(/now:\n\s+--- \/tmp\/drover-plan-test\/settings\.conf \(before\)[\s\S]*hand-edited\n\s+\+max_connections=10/);
    expect(applied.stdout).to.include('STOPPING (fail-fast)');

    const state = await hostState(targets());
    // The drifted host's file is as the operator left it: nothing of the refused task ran.
    expect(state[1]).to.deep.equal({ motd: `reviewed on Sunday on ${drifted.name}\n`, settings: 'hand-edited\n', cache: false });
    // Fail-fast: no host started the second play.
    expect(state.map((host) => host.cache)).to.deep.equal([false, false, false]);
  });

  it('lets the other hosts finish a drifted apply under --keep-going, the drifted host still stopped', async function () {
    this.timeout(TIMEOUT_MS);
    const { path } = await savePlan();
    const drifted = targets()[2]!;
    await onHost(drifted, `echo 'somebody else was here' > ${STATE_DIR}/motd`);

    const applied = await apply(path, '--keep-going');
    expect(applied.code, describeRun(applied)).to.equal(2);
    expect(applied.stdout).to.include(`${drifted.name} drifted since review: task "1.1 motd" (copy)`);
    const state = await hostState(targets());
    expect(state[2]).to.deep.equal({ motd: 'somebody else was here\n', settings: '-\n', cache: false });
    expect(state.slice(0, 2).map((host) => host.cache)).to.deep.equal([true, true]);
  });

  it('refuses a plan whose playbook or inventory changed since review, before any host is touched', async function () {
    this.timeout(TIMEOUT_MS);
    const playbook = playbookCopy();
    const { path } = await savePlan(playbook);

    appendFileSync(playbook, '// an edit after review\n');
    const changedPlaybook = await apply(path);
    expect(changedPlaybook.code, describeRun(changedPlaybook)).to.equal(1);
    expect(changedPlaybook.stderr).to.include(`the playbook ${playbook} changed`);
    expect(changedPlaybook.stderr).to.include('nothing was run');
    expect(existsSync(join(work, 'apply.jsonl'))).to.equal(false);

    copyFileSync(FIXTURE, playbook);
    appendFileSync(inventoryPath, '# an edit after review\n');
    const changedInventory = await apply(path);
    expect(changedInventory.code, describeRun(changedInventory)).to.equal(1);
    expect(changedInventory.stderr).to.include('the inventory is not the reviewed one');
    // No -i at all: what to pass, not "the inventory changed".
    const noInventory = await runCli(['apply', path, '--audit-log', join(work, 'apply-no-inventory.jsonl')], { timeoutMs: TIMEOUT_MS });
    expect(noInventory.code, describeRun(noInventory)).to.equal(1);
    expect(noInventory.stderr).to.include(`no inventory was given: the plan ${path} was reviewed with -i `);

    expect(await hostState(targets())).to.deep.equal(targets().map(() => ({ motd: '-\n', settings: '-\n', cache: false })));
  });

  it('applies a plan whose probes read a clock, timestamps and live counters (apt, iptables)', async function () {
    this.timeout(TIMEOUT_MS);
    const rule = '-A INPUT -p udp -m udp --dport 9 -m comment --comment drover-test-plan10 -j DROP';
    const dropRule = () => Promise.all(targets().map((target) => onHost(target, `iptables -D ${rule.slice(3)} 2>/dev/null; true`)));
    await dropRule();
    try {
      const { path } = await savePlan(join(ROOT, 'test/fixtures/playbooks/saved-plan-volatile.ts'));
      // apt's probe reads the host's clock in seconds: the apply's reading is another.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const applied = await apply(path);
      expect(applied.code, describeRun(applied)).to.equal(0);
      for (const target of targets()) {
        const rules = await onHost(target, 'iptables -S INPUT');
        expect(rules.stdout.split('\n')).to.include(rule);
      }
    } finally {
      await dropRule();
    }
  });

  it("applies a sharded dry run's plan to that part only (it ran every host, and those outside the part failed)", async function () {
    this.timeout(TIMEOUT_MS);
    // A part that holds some of the three hosts but not all (parts follow the names' hashes: shard.ts).
    const names = targets().map((target) => target.name);
    const count = [2, 3, 4, 5, 6].find((n) => new Set(names.map((name) => shardOf(name, n))).size > 1)!;
    const index = shardOf(names[0]!, count);
    const { path } = await savePlan(FIXTURE, '--shard', `${index}/${count}`);
    const plan = JSON.parse(readFileSync(path, 'utf8')) as SavedPlan;
    expect(plan.shard).to.equal(`${index}/${count}`);
    const inPart = new Set(Object.keys(plan.hosts));
    expect([...inPart].sort()).to.deep.equal(names.filter((name) => shardOf(name, count) === index).sort());
    expect(inPart.size).to.be.greaterThan(0).and.lessThan(targets().length);
    const refused = await apply(path, '--shard', '2/2');
    expect(refused.code, describeRun(refused)).to.equal(1);
    expect(refused.stderr).to.include('--limit, --shard, --tags and --skip-tags come from the plan');
    const applied = await apply(path);
    expect(applied.code, describeRun(applied)).to.equal(0);
    const states = await hostState(targets());
    expect(states.map((state) => state.cache)).to.deep.equal(names.map((name) => inPart.has(name)));
  });

  it('refuses a plan older than --max-plan-age, before any host is touched', async function () {
    this.timeout(TIMEOUT_MS);
    const { path } = await savePlan();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const old = await apply(path, '--max-plan-age', '2s');
    expect(old.code, describeRun(old)).to.equal(1);
    expect(old.stderr).to.match(/the plan .*plan\.json was made at .* longer than --max-plan-age 2s allows: nothing was run/);
    expect(await hostState(targets())).to.deep.equal(targets().map(() => ({ motd: '-\n', settings: '-\n', cache: false })));
  });
});
