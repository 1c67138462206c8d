/**
 * The pure pieces of saved plans as tables: task keys, the probe fingerprint, the comparison of a
 * reviewed task with a fresh one, the plan gate's order and leftovers, the plan file (no overwrite,
 * shape checks), --max-plan-age durations and the age check. Real runs on lab hosts: test/cli/saved-plan.lab.test.ts.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../runner/cli/options.ts';
import { PLAN_CLOCK_SKEW_MS, planAgeProblem } from '../../../runner/cli/plan-age.ts';
import { PlanGate } from '../../../runner/cli/plan-gate.ts';
import { checkPlanPath, parseDuration, PLAN_FORMAT, readSavedPlan, writeSavedPlan, type SavedPlan } from '../../../runner/cli/saved-plan.ts';
import { sh } from '../../../runner/command.ts';
import { ProbeFingerprint, stableText } from '../../../runner/engine/probe-fingerprint.ts';
import { TaskKeys } from '../../../runner/engine/task-keys.ts';
import type { Fact } from '../../../runner/facts.ts';
import type { HostContext, ProbeOutput } from '../../../runner/module.ts';
import type { PlannedTask } from '../../../runner/planned-task.ts';
import { compareTasks } from '../../../runner/report/plan-compare.ts';
import { NOTHING_PREDICTED } from '../../../runner/predicted-state.ts';
import { Secret } from '../../../runner/secret.ts';

function task(fields: Partial<PlannedTask> = {}): PlannedTask {
  return {
    key: '1.1 motd',
    task: 'motd',
    module: 'copy',
    status: 'changed',
    changes: ['create /etc/motd (6 bytes)'],
    uncertain: false,
    commands: ['install -m 0644 /dev/stdin /etc/motd'],
    stdin: ['sha256:aa'],
    diffs: [{ kind: 'file', path: '/etc/motd', before: null, after: 'hello\n' }],
    fingerprint: 'f'.repeat(64),
    ...fields,
  };
}

function plan(hosts: Record<string, PlannedTask[]>): SavedPlan {
  return {
    format: PLAN_FORMAT,
    createdAt: '2026-12-06T23:00:00.000Z',
    runId: 'RUN',
    operator: 'alice',
    controller: 'ctl',
    playbook: { path: '/srv/site.ts', sha256: 'a'.repeat(64) },
    inventory: { path: '/srv/inventory.yaml', sha256: 'b'.repeat(64) },
    tags: [],
    skipTags: [],
    complete: true,
    problems: [],
    hosts,
  };
}

/** A host context whose facts and probes answer from tables (what the planner would read). */
function context(facts: Record<string, unknown>, probes: Record<string, ProbeOutput>): HostContext {
  return {
    name: 'web1',
    vars: {},
    predicted: NOTHING_PREDICTED,
    fact: async <T>(fact: Fact<T>) => facts[fact.key] as T,
    probe: async (script) => probes[script.text] ?? { exitCode: 1, stdout: '', stderr: 'unknown probe' },
  };
}

const fileFact = { key: 'file:/etc/motd', script: sh`stat /etc/motd`, parse: () => undefined } as unknown as Fact<unknown>;

describe('saved plans', () => {
  it('numbers tasks per host and play, handlers apart, so each host has its own sequence', () => {
    const play1 = { id: Symbol('one') };
    const play2 = { id: Symbol('two') };
    const keys = new TaskKeys([play1, play2]);
    const table: Array<[string, { id: symbol }, boolean, string, string]> = [
      ['web1', play1, false, 'motd', '1.1 motd'],
      ['web1', play1, false, 'limits', '1.2 limits'],
      ['web2', play1, false, 'motd', '1.1 motd'],
      ['web1', play1, true, 'restart', '1.h1 restart'],
      ['web1', play2, false, 'motd', '2.1 motd'],
      ['web1', play1, false, 'again', '1.3 again'],
    ];
    for (const [host, play, handler, name, key] of table) expect(keys.next(host, play, handler, name)).to.equal(key);
  });

  it('fingerprints what the planner read: equal for equal state, different for any change, order-independent object keys', async () => {
    const digest = async (facts: Record<string, unknown>, probes: Record<string, ProbeOutput>, reads: (c: HostContext) => Promise<unknown>) => {
      const recorder = new ProbeFingerprint(context(facts, probes));
      await reads(recorder.context);
      return recorder.digest();
    };
    const readBoth = async (c: HostContext) => {
      await c.fact(fileFact);
      await c.probe(sh`cat /etc/motd`);
    };
    const probes = { 'cat /etc/motd': { exitCode: 0, stdout: 'hello\n', stderr: '' } };
    const base = await digest({ 'file:/etc/motd': { mode: 0o644, size: 6 } }, probes, readBoth);
    expect(await digest({ 'file:/etc/motd': { size: 6, mode: 0o644 } }, probes, readBoth)).to.equal(base);
    expect(await digest({ 'file:/etc/motd': { mode: 0o600, size: 6 } }, probes, readBoth)).to.not.equal(base);
    expect(await digest({ 'file:/etc/motd': { mode: 0o644, size: 6 } }, { 'cat /etc/motd': { exitCode: 0, stdout: 'hellO\n', stderr: '' } }, readBoth)).to.not.equal(base);
    // A probe's own fingerprint function leaves out what changes by itself (apt's clock reading).
    const clock = (now: string) => digest({}, { 'date +%s': { exitCode: 0, stdout: `#now ${now}\n`, stderr: '' } }, (c) => c.probe(sh`date +%s`, { fingerprint: (output) => output.stdout.replace(/^#now .*$/m, '#now') }));
    expect(await clock('1')).to.equal(await clock('2'));
  });

  it('fingerprints reads made at once in the order they were asked for, whichever answer comes first', async () => {
    const probes: Record<string, ProbeOutput> = { 'cat /a': { exitCode: 0, stdout: 'a\n', stderr: '' }, 'cat /b': { exitCode: 0, stdout: 'b\n', stderr: '' } };
    // The inner context answers /a after /b, or /b after /a.
    const slowFirst = (first: string): HostContext => {
      const inner = context({}, probes);
      return {
        ...inner,
        probe: async (script) => {
          if (script.text === first) await new Promise((resolve) => setTimeout(resolve, 20));
          return inner.probe(script);
        },
      };
    };
    const digestOf = async (first: string) => {
      const recorder = new ProbeFingerprint(slowFirst(first));
      await Promise.all([recorder.context.probe(sh`cat /a`), recorder.context.probe(sh`cat /b`)]);
      return recorder.digest();
    };
    expect(await digestOf('cat /a')).to.equal(await digestOf('cat /b'));
    // A probe made only to describe a dry run's effects is not what the plan was made from.
    const recorder = new ProbeFingerprint(context({}, probes));
    await recorder.context.probe(sh`cat /a`);
    const before = recorder.digest();
    await recorder.context.probe(sh`cat /b`, { effectsOnly: true });
    expect(recorder.digest()).to.equal(before);
  });

  it('writes values stably: bytes and secrets as hashes, never their text', () => {
    const table: Array<[unknown, string]> = [
      [{ b: 1, a: [true, null] }, '{"a":[true,null],"b":1}'],
      [new Map([['k', 1]]), 'map{"k":1}'],
      [Buffer.from('abc'), 'bytes:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ];
    for (const [value, text] of table) expect(stableText(value)).to.equal(text);
    expect(stableText(new Secret('hunter2-secret')))
      .to.match(/^secret:[0-9a-f]{64}$/)
      .and.not.include('hunter2');
  });

  it('compares a reviewed task with a fresh one field by field', () => {
    expect(compareTasks(task(), task())).to.equal(undefined);
    expect(compareTasks(task(), task({ changes: ['worded otherwise'] }))).to.equal(undefined);
    const table: Array<[Partial<PlannedTask>, RegExp]> = [
      [{ status: 'ok', commands: [], stdin: [], diffs: [] }, /status: reviewed "changed", now "ok"[\s\S]*command 1 is gone/],
      [{ commands: ['install -m 0600 /dev/stdin /etc/motd'] }, /command 1 differs:\n {4}- install -m 0644 \/dev\/stdin \/etc\/motd\n {4}\+ install -m 0600/],
      [{ stdin: ['sha256:bb'] }, /stdin 1 differs/],
      [{ diffs: [{ kind: 'file', path: '/etc/motd', before: 'old\n', after: 'hello\n' }] }, /diff 1 differs:\n {4}reviewed:\n[\s\S]*now:\n[\s\S]*-old/],
      [{ fingerprint: 'e'.repeat(64) }, /probed state: the host read differently than at review \(fingerprint ffffffffffff → eeeeeeeeeeee\)/],
      [{ module: 'template' }, /module: reviewed "copy", now "template"/],
    ];
    for (const [fresh, message] of table) expect(compareTasks(task(), task(fresh))).to.match(message);
  });

  it('holds each host to its reviewed tasks in order, and tells what a host did not reach', () => {
    const gate = new PlanGate(plan({ web1: [task(), task({ key: '1.2 limits', task: 'limits' })] }), '/srv/plan.json');
    expect(gate.review('web1', task())).to.equal(undefined);
    expect(gate.unreached('web1').map((t) => t.key)).to.deep.equal(['1.2 limits']);
    expect(gate.review('web1', task({ key: '1.2 other', task: 'other' }))).to.match(/the reviewed task number 2 on web1 is "1\.2 limits", this run reached "1\.2 other"/);
    expect(gate.review('web1', task({ key: '1.3 extra' }))).to.match(/task "1\.3 extra" was not reviewed \(the plan has 2 task\(s\) on web1/);
    expect(gate.review('web9', task())).to.match(/web9 is not in the plan \/srv\/plan\.json/);
    expect(gate.review('web1', task())).to.not.equal(undefined);
  });

  it('writes a plan file once, never over another, and reads back only a drover plan', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-plan-unit-'));
    const path = join(dir, 'plan.json');
    const saved = plan({ web1: [task()] });
    const written = writeSavedPlan(checkPlanPath(path), saved);
    if (!('sha256' in written)) throw new Error(written.problem);
    const { sha256 } = written;
    const read = readSavedPlan(path);
    expect(read.plan).to.deep.equal(saved);
    expect(read.sha256).to.equal(sha256);
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    expect(() => checkPlanPath(path)).to.throw(UsageError, /never overwritten/);
    expect(writeSavedPlan(path, plan({}))).to.deep.equal({
      problem: `cannot write the plan ${path} (EEXIST): the file appeared during the run and is left as it is; run the dry run again with --save-plan`,
    });
    expect(JSON.parse(readFileSync(path, 'utf8'))).to.deep.equal(saved);
    const bad = join(dir, 'bad.json');
    for (const [text, problem] of [
      ['{', /is not JSON/],
      ['{"format":"other"}', /format "other", expected drover-plan\/1/],
      [JSON.stringify({ ...saved, hosts: { web1: [{ key: 'k' }] } }), /host web1: a task without key, commands, stdin or diffs/],
    ] as const) {
      writeFileSync(bad, text);
      expect(() => readSavedPlan(bad)).to.throw(UsageError, problem);
    }
  });

  it('refuses a corrupt field on load, naming it, where the apply failed later with a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-plan-fields-'));
    const bad = join(dir, 'bad.json');
    const saved = plan({ web1: [task()] });
    const table: Array<[Record<string, unknown>, RegExp]> = [
      [{ extraVars: 'junk' }, /\(extraVars: expected a mapping of names to .*got "junk"\)/],
      [{ extraVars: { foo: 'bar' } }, /\(extraVars\.foo: expected a mapping .*got "bar"\)/],
      [{ extraVars: { foo: { value: 1 } } }, /\(extraVars\.foo\.from: is required/],
      [{ limit: 5 }, /\(limit: expected a string, got 5\)/],
      [{ limit: '' }, /\(limit: must not be empty\)/],
      [{ tags: ['prep', 1] }, /\(tags\[1\]: expected a string, got 1\)/],
      [{ problems: [null] }, /\(problems\[0\]: expected a string, got null\)/],
      [{ runId: 7 }, /\(runId: expected a string, got 7\)/],
      [{ inventory: { sha256: 'b' } }, /\(inventory\.path: is required/],
      [{ hosts: { web1: [task({ status: 'maybe' as never })] } }, /\(hosts\.web1\[0\]\.status: "maybe" is not allowed/],
      [{ hosts: { web1: [task({ diffs: [{ kind: 'file' }] as never })] } }, /\(hosts\.web1\[0\]\.diffs\[0\]: /],
      [{ hosts: { web1: [task({ fingerprint: 5 as never })] } }, /\(hosts\.web1\[0\]\.fingerprint: expected a string, got 5\)/],
      [{ colour: 'blue' }, /\(colour: unknown parameter/],
    ];
    for (const [change, problem] of table) {
      writeFileSync(bad, JSON.stringify({ ...saved, ...change }));
      expect(() => readSavedPlan(bad), JSON.stringify(change))
        .to.throw(UsageError, problem)
        .with.property('message')
        .that.matches(/^the plan .* is not a drover plan \(.*\): make it with --check --save-plan$/);
    }
    // What drover writes is read back whole, extra variables, limit and a plan without an inventory included.
    const full = { ...saved, limit: 'web1', inventory: null, extraVars: { port: { value: 8080, from: '-e port=8080' } } };
    writeFileSync(bad, JSON.stringify(full));
    expect(readSavedPlan(bad).plan).to.deep.equal(full);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses, before the run, a plan path in a directory that cannot take a new file', () => {
    // sysfs refuses new files even to root, as an immutable or read-only directory does.
    expect(() => checkPlanPath('/sys/plan.json')).to.throw(UsageError, /^--save-plan \/sys\/plan\.json: a file cannot be created in \/sys \(EACCES\); nothing was run/);
    const dir = mkdtempSync(join(tmpdir(), 'drover-plan-unit-'));
    expect(() => checkPlanPath(dir)).to.throw(UsageError, /is a directory: give the name of a new file in it/);
    expect(() => checkPlanPath(join(dir, 'no', 'plan.json'))).to.throw(UsageError, /the directory .*\/no does not exist/);
    expect(writeSavedPlan('/sys/plan.json', plan({}))).to.deep.equal({
      problem: 'cannot write the plan /sys/plan.json (EACCES): choose a path in a directory you can write to; run the dry run again with --save-plan',
    });
  });

  it('reads --max-plan-age durations', () => {
    const table: Array<[string, number]> = [
      ['24h', 86_400_000],
      ['30m', 1_800_000],
      ['7d', 604_800_000],
      ['90', 90_000],
    ];
    for (const [text, ms] of table) expect(parseDuration('--max-plan-age', text)).to.equal(ms);
    for (const text of ['0', '1w', '-5m', '', ' 24h', '24 h']) expect(() => parseDuration('--max-plan-age', text)).to.throw(UsageError, /--max-plan-age takes a duration/);
  });

  it('refuses a plan older than --max-plan-age, or dated more than the clock skew after now', () => {
    const now = Date.parse('2026-12-07T12:00:00.000Z');
    const day = parseDuration('--max-plan-age', '24h');
    const at = (ms: number) => new Date(now + ms).toISOString();
    const table: Array<[string, string, RegExp | undefined]> = [
      ['made an hour ago', at(-3_600_000), undefined],
      ['made just now', at(0), undefined],
      ['dated 4 minutes ahead (clocks apart)', at(4 * 60_000), undefined],
      ['dated exactly the skew ahead', at(PLAN_CLOCK_SKEW_MS), undefined],
      ['made 25 hours ago', at(-25 * 3_600_000), /was made at 2026-12-06T11:00:00\.000Z, 25 h ago, longer than --max-plan-age 24h allows: nothing was run/],
      ['dated 6 minutes ahead', at(6 * 60_000), /is dated 2026-12-07T12:06:00\.000Z, 6 min after this controller's clock \(2026-12-07T12:00:00\.000Z\)/],
      ['dated next year', '2027-12-01T00:00:00.000Z', /is dated 2027-12-01T00:00:00\.000Z, 358 days after .*nothing was run\. Check both clocks .*review a fresh plan/],
    ];
    for (const [what, createdAt, problem] of table) {
      const found = planAgeProblem('/srv/plan.json', createdAt, now, day, '24h');
      if (problem) expect(found, what).to.match(problem);
      else expect(found, what).to.equal(undefined);
    }
  });
});
