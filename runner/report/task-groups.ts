/**
 * Folds a run's per-host task results into one group per task, for the terminal's grouped view
 * (terminal.ts): at 100 hosts a task is one line with counts, not 100 lines.
 *
 * A play's tasks are code run on each host on its own (runner/engine/run-playbook.ts), not a list the hosts
 * step through together: hosts reach a task at different times, and code may skip a task on some hosts.
 * So a group is complete when every host of the batch has settled it: it reported a result for it, it has
 * moved on to a task first seen later, or it runs nothing more (it failed or is unreachable). Whatever is
 * still open when the batch ends (a host whose code skipped the rest, a run stopping) completes then.
 *
 * A host's Nth run of a task name counts as its Nth occurrence (a loop running one task name twice), so
 * every host's first run of "install" joins one group and every second run another. A result arriving for
 * a group already printed (hosts running tasks in different orders) starts a new group: every result is
 * counted exactly once, at worst in a second line for the same task.
 *
 * @example
 *   const groups = new TaskGroups(['node1', 'node2']);
 *   groups.start('node1', 'write config', 'copy');                  // → []
 *   groups.add(resultOn('node1'), { ignored: false, echoed: false, quiet: false }); // → []
 *   groups.add(resultOn('node2'), …);                                 // → [the group, with both results]
 */
import type { TaskResult } from '../result.ts';

/** How the terminal treats one result: the flags of its task-result event. */
export interface ResultFlags {
  /** A failure the playbook ignores (ignoreErrors). */
  ignored: boolean;
  /** The output was already shown (ad-hoc exec). */
  echoed: boolean;
  /** Not shown at this verbosity (skipped by tags, debug's own verbosity): counted nowhere. */
  quiet: boolean;
}

export interface GroupedResult extends ResultFlags {
  /** The result without command output (never shown in the grouped view; --json and the audit log keep it). */
  result: TaskResult;
}

export interface TaskGroup {
  task: string;
  module: string;
  handler: boolean;
  /** In arrival order. */
  results: GroupedResult[];
  /** Hosts that retried the task (its retry policy) before their result. */
  retried: string[];
}

/** How far the first unfinished task is: hosts that settled it, of the batch's hosts. */
export interface TaskProgress {
  task: string;
  module: string;
  settled: number;
  total: number;
  /** Tasks started and not yet complete, this one included (hosts run at their own pace). */
  open: number;
}

interface OpenGroup extends TaskGroup {
  key: string;
  order: number;
  hosts: Set<string>;
  /** How many of the batch's hosts have settled it, kept as events come: a check per host per event would cost 500² per task at 500 hosts. */
  settled: number;
}

export class TaskGroups {
  #hosts: Set<string>;
  #nextOrder = 0;
  readonly #open = new Map<string, OpenGroup>();
  /** host → the highest order of a group it has started or reported in this batch. */
  readonly #position = new Map<string, number>();
  /** host → `task\0module` → results reported so far in this batch. */
  readonly #occurrences = new Map<string, Map<string, number>>();
  /** Hosts that run nothing more in this batch: failed or unreachable. */
  readonly #stopped = new Set<string>();

  constructor(hosts: string[]) {
    this.#hosts = new Set(hosts);
  }

  /** A new batch of hosts (play-start): what was open completes first. */
  expect(hosts: string[]): TaskGroup[] {
    const done = this.flush();
    this.#hosts = new Set(hosts);
    this.#position.clear();
    this.#occurrences.clear();
    this.#stopped.clear();
    return done;
  }

  /** A host starts a task; returns the groups this completes (the host has moved past them). */
  start(host: string, task: string, module: string): TaskGroup[] {
    const group = this.#groupFor(host, task, module, false);
    this.#update(host, () => this.#reach(host, group.order));
    return this.#complete();
  }

  /** A host's result; returns the groups now complete, in the order they were first seen. */
  add(result: TaskResult, flags: ResultFlags, handler = false): TaskGroup[] {
    const group = this.#groupFor(result.host, result.task, result.module, handler);
    // A handler's task-start does not say it is one; its result does.
    if (handler) group.handler = true;
    group.results.push({ ...flags, result: slim(result) });
    const key = occurrenceKey(result.task, result.module);
    const counts = this.#occurrences.get(result.host) ?? new Map<string, number>();
    counts.set(key, (counts.get(key) ?? 0) + 1);
    this.#occurrences.set(result.host, counts);
    this.#update(result.host, () => {
      group.hosts.add(result.host);
      this.#reach(result.host, group.order);
      if (result.status === 'unreachable' || (result.status === 'failed' && !flags.ignored)) this.#stopped.add(result.host);
    });
    return this.#complete();
  }

  /** A host's attempt did not succeed and another follows: noted on the task, not a line of its own. */
  retry(host: string, task: string, module: string): void {
    const group = this.#groupFor(host, task, module, false);
    if (!group.retried.includes(host)) group.retried.push(host);
  }

  /** Everything still open, complete or not (the batch or the run ended), in order. */
  flush(): TaskGroup[] {
    const all = [...this.#open.values()].sort((a, b) => a.order - b.order);
    this.#open.clear();
    return all.map(publicGroup);
  }

  /** The first task not yet complete, for the progress line; undefined when nothing is open. */
  progress(): TaskProgress | undefined {
    let first: OpenGroup | undefined;
    for (const group of this.#open.values()) if (!first || group.order < first.order) first = group;
    if (!first) return undefined;
    return { task: first.task, module: first.module, settled: first.settled, total: this.#hosts.size, open: this.#open.size };
  }

  #groupFor(host: string, task: string, module: string, handler: boolean): OpenGroup {
    const occurrence = this.#occurrences.get(host)?.get(occurrenceKey(task, module)) ?? 0;
    const key = JSON.stringify([task, module, occurrence]);
    let group = this.#open.get(key);
    if (!group) {
      // No host has moved past a task first seen now; only the stopped ones have settled it already.
      const settled = [...this.#stopped].filter((stopped) => this.#hosts.has(stopped)).length;
      group = { key, order: this.#nextOrder++, task, module, handler, results: [], retried: [], hosts: new Set(), settled };
      this.#open.set(key, group);
    }
    return group;
  }

  #reach(host: string, order: number): void {
    if (order > (this.#position.get(host) ?? -1)) this.#position.set(host, order);
  }

  /** Changes what is known of one host, and counts each open group that this settles for it. */
  #update(host: string, change: () => void): void {
    if (!this.#hosts.has(host)) {
      change();
      return;
    }
    const unsettled = [...this.#open.values()].filter((group) => !this.#settled(group, host));
    change();
    for (const group of unsettled) if (this.#settled(group, host)) group.settled++;
  }

  #settled(group: OpenGroup, host: string): boolean {
    return group.hosts.has(host) || this.#stopped.has(host) || (this.#position.get(host) ?? -1) > group.order;
  }

  #complete(): TaskGroup[] {
    const done = [...this.#open.values()].filter((group) => group.settled >= this.#hosts.size).sort((a, b) => a.order - b.order);
    for (const group of done) this.#open.delete(group.key);
    return done.map(publicGroup);
  }
}

function occurrenceKey(task: string, module: string): string {
  return `${task}\0${module}`;
}

function publicGroup(group: OpenGroup): TaskGroup {
  return { task: group.task, module: group.module, handler: group.handler, results: group.results, retried: group.retried };
}

/**
 * What the grouped view may print of a result, without the command output it never prints: a group holds
 * its results until every host settles the task, and 500 hosts' stdout would be held with it.
 */
function slim(result: TaskResult): TaskResult {
  return {
    ...result,
    stdout: '',
    stderr: '',
    commands: result.commands.map((command) => ({ ...command, stdout: '', stderr: '' })),
    value: undefined,
  };
}
