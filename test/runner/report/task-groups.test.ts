import { expect } from 'chai';
import type { RecapLine } from '../../../runner/events.ts';
import type { TaskResult } from '../../../runner/result.ts';
import { type TaskGroup, TaskGroups } from '../../../runner/report/task-groups.ts';
import { hostRange, mergeRecap, summarizeTask } from '../../../runner/report/task-summary.ts';
import { taskResult } from '../../support/task-result.ts';

const plain = { ignored: false, echoed: false, quiet: false };
const hostsOf = (group: TaskGroup) => group.results.map((entry) => entry.result.host);
const names = (groups: TaskGroup[]) => groups.map((group) => `${group.task}: ${hostsOf(group).join(' ')}`);

describe('report/task-groups: when a task is complete across hosts', () => {
  it('completes a task when every host reported it, not before, and keeps no command output', () => {
    const groups = new TaskGroups(['a', 'b', 'c']);
    for (const host of ['a', 'b', 'c']) expect(groups.start(host, 'T', 'copy')).to.deep.equal([]);
    expect(groups.add(taskResult('a', 'T'), plain)).to.deep.equal([]);
    expect(groups.add(taskResult('c', 'T'), plain)).to.deep.equal([]);
    const done = groups.add(taskResult('b', 'T'), plain);
    expect(names(done)).to.deep.equal(['T: a c b']);
    expect(done[0]!.results[0]!.result.stdout).to.equal('');
    expect(done[0]!.results[0]!.result.commands[0]!.stdout).to.equal('');
    expect(groups.flush()).to.deep.equal([]);
  });

  it('counts a host that moved on to a later task (its code skipped this one) as done with it', () => {
    const groups = new TaskGroups(['a', 'b']);
    groups.start('a', 'T1', 'copy');
    expect(groups.add(taskResult('a', 'T1'), plain)).to.deep.equal([]);
    groups.start('a', 'T2', 'copy');
    // b never runs T1: starting T2 settles it.
    expect(names(groups.start('b', 'T2', 'copy'))).to.deep.equal(['T1: a']);
    groups.add(taskResult('a', 'T2'), plain);
    expect(names(groups.add(taskResult('b', 'T2'), plain))).to.deep.equal(['T2: a b']);
  });

  it('counts a failed or unreachable host as done with every later task, but not a host whose failure is ignored', () => {
    const groups = new TaskGroups(['a', 'b', 'c']);
    groups.add(taskResult('a', 'T1', { status: 'failed', msg: 'boom' }), plain);
    groups.add(taskResult('b', 'T1', { status: 'unreachable', msg: 'gone' }), plain);
    expect(names(groups.add(taskResult('c', 'T1', { status: 'failed', msg: 'tolerated' }), { ...plain, ignored: true }))).to.deep.equal(['T1: a b c']);
    expect(names(groups.add(taskResult('c', 'T2'), plain))).to.deep.equal(['T2: c']);
  });

  it('keeps a task name run twice on a host as two tasks, each joined by every host', () => {
    const groups = new TaskGroups(['a', 'b']);
    groups.add(taskResult('a', 'loop'), plain);
    groups.add(taskResult('a', 'loop', { msg: 'second' }), plain);
    expect(names(groups.add(taskResult('b', 'loop'), plain))).to.deep.equal(['loop: a b']);
    const second = groups.add(taskResult('b', 'loop', { msg: 'second' }), plain);
    expect(names(second)).to.deep.equal(['loop: a b']);
    expect(second[0]!.results.map((entry) => entry.result.msg)).to.deep.equal(['second', 'second']);
  });

  it('gives a result for a task already printed a group of its own, so nothing is lost or counted twice', () => {
    const groups = new TaskGroups(['a', 'b']);
    groups.add(taskResult('a', 'X'), plain);
    // b ran Y first (its order differs): b has moved past X, which completes without it.
    expect(names(groups.add(taskResult('b', 'Y'), plain))).to.deep.equal(['X: a']);
    expect(names(groups.add(taskResult('a', 'Y'), plain))).to.deep.equal(['Y: b a']);
    groups.add(taskResult('b', 'X'), plain);
    expect(names(groups.flush())).to.deep.equal(['X: b']);
  });

  it('completes what is open when the batch ends, and starts the next batch afresh', () => {
    const groups = new TaskGroups(['a', 'b']);
    groups.add(taskResult('a', 'T'), plain);
    expect(names(groups.expect(['c']))).to.deep.equal(['T: a']);
    expect(names(groups.add(taskResult('c', 'T'), plain))).to.deep.equal(['T: c']);
  });

  it('reports progress: hosts that settled the first unfinished task, of the batch, and how many tasks are open', () => {
    const groups = new TaskGroups(['a', 'b', 'c', 'd']);
    expect(groups.progress()).to.equal(undefined);
    for (const host of ['a', 'b', 'c', 'd']) groups.start(host, 'T1', 'copy');
    groups.add(taskResult('a', 'T1'), plain);
    expect(groups.progress()).to.deep.equal({ task: 'T1', module: 'copy', settled: 1, total: 4, open: 1 });
    groups.start('a', 'T2', 'apt');
    groups.add(taskResult('b', 'T1', { status: 'failed' }), plain);
    expect(groups.progress()).to.deep.equal({ task: 'T1', module: 'copy', settled: 2, total: 4, open: 2 });
  });
});

describe('report/task-summary: one task across hosts', () => {
  const group = (results: Array<[TaskResult, Partial<typeof plain>?]>): TaskGroup => ({
    task: 'write config',
    module: 'copy',
    handler: false,
    retried: [],
    results: results.map(([result, flags]) => ({ ...plain, ...flags, result })),
  });
  const block = (result: TaskResult) => result.changes.join('\n');

  it('counts per status, merges identical changes across hosts and keeps different ones apart', () => {
    const changed = (host: string, change: string) => taskResult(host, 'write config', { status: 'changed', changed: true, changes: [change] });
    const summary = summarizeTask(
      group([
        [changed('node01', 'write /etc/app.conf')],
        [changed('node02', 'write /etc/app.conf')],
        [changed('node03', 'write /etc/app.conf (mode 0600)')],
        [changed('node04', 'write /etc/app.conf')],
        [taskResult('node05', 'write config')],
        [taskResult('node06', 'write config', { status: 'failed', msg: 'disk full' })],
        [taskResult('node07', 'write config', { status: 'failed', msg: 'denied' }), { ignored: true }],
        [taskResult('node08', 'write config', { status: 'unreachable', msg: 'no route' })],
        [taskResult('node09', 'write config', { status: 'skipped', msg: 'condition false' })],
        [taskResult('node10', 'write config', { status: 'skipped', msg: 'condition false' })],
        [taskResult('node11', 'write config', { status: 'skipped' }), { quiet: true }],
      ]),
      block,
    )!;
    expect(summary.counts).to.deep.equal([
      { status: 'ok', count: 1 },
      { status: 'changed', count: 4 },
      { status: 'failed', count: 1 },
      { status: 'skipped', count: 2 },
      { status: 'unreachable', count: 1 },
      { status: 'ignored', count: 1 },
    ]);
    expect(summary.changes.map((change) => [hostRange(change.hosts), change.block])).to.deep.equal([
      ['node[01:02,04]', 'write /etc/app.conf'],
      ['node03', 'write /etc/app.conf (mode 0600)'],
    ]);
    expect(summary.failures.map((entry) => [entry.result.host, entry.ignored])).to.deep.equal([
      ['node06', false],
      ['node07', true],
      ['node08', false],
    ]);
    expect(summary.notes).to.deep.equal([{ status: 'skipped', hosts: ['node09', 'node10'], msg: 'condition false' }]);
  });

  it("merges debug's messages by text; does not repeat an echoed failure; says nothing of a task all hosts skipped by tags", () => {
    const debug = (host: string, msg: string) => taskResult(host, 'show', { module: 'debug', msg });
    expect(summarizeTask(group([[debug('a', 'v1')], [debug('b', 'v1')], [debug('c', 'v2')]]), block)!.notes).to.deep.equal([
      { status: 'ok', hosts: ['a', 'b'], msg: 'v1' },
      { status: 'ok', hosts: ['c'], msg: 'v2' },
    ]);
    const echoed = summarizeTask(
      group([
        [taskResult('a', 'exec', { status: 'failed' }), { echoed: true }],
        [taskResult('b', 'exec', { status: 'unreachable' }), { echoed: true }],
      ]),
      block,
    )!;
    expect(echoed.failures.map((entry) => entry.result.host)).to.deep.equal(['b']);
    expect(echoed.counts).to.deep.equal([
      { status: 'failed', count: 1 },
      { status: 'unreachable', count: 1 },
    ]);
    expect(summarizeTask(group([[taskResult('a', 'T', { status: 'skipped' }), { quiet: true }]]), block)).to.equal(undefined);
  });

  it('says the same whatever order the hosts reported in: largest group first, failures by host name', () => {
    const results: Array<[TaskResult, Partial<typeof plain>?]> = [
      [taskResult('node10', 'T', { module: 'debug', msg: 'special' })],
      [taskResult('node9', 'T', { status: 'failed', msg: 'late' })],
      [taskResult('node2', 'T', { module: 'debug', msg: 'standard' })],
      [taskResult('node1', 'T', { status: 'unreachable', msg: 'gone' })],
      [taskResult('node3', 'T', { module: 'debug', msg: 'standard' })],
    ];
    const forward = summarizeTask(group(results), block)!;
    expect(summarizeTask(group([...results].reverse()), block)).to.deep.equal(forward);
    expect(forward.notes.map((note) => note.msg)).to.deep.equal(['standard', 'special']);
    expect(forward.failures.map((entry) => entry.result.host)).to.deep.equal(['node1', 'node9']);
  });

  it('merges recap lines with the same counts, in first-seen order', () => {
    const line = (host: string, fields: Partial<RecapLine> = {}): RecapLine => ({ host, ok: 3, changed: 1, failed: 0, skipped: 0, unreachable: 0, ignored: 0, notRun: false, ...fields });
    const merged = mergeRecap([line('node01'), line('node02', { failed: 1 }), line('node03'), line('node04'), line('node05', { notRun: true })]);
    expect(merged.map((entry) => hostRange(entry.hosts))).to.deep.equal(['node[01,03:04]', 'node02', 'node05']);
  });
});
