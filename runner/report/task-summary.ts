/**
 * What the grouped terminal view says about one task across hosts, as data (terminal.ts colours and prints
 * it): counts per status, hosts whose changes are identical merged into one block with their hosts as
 * ranges, skip reasons merged the same way, and every failure and unreachable host kept whole.
 *
 * @example
 *   summarizeTask(group, (result) => result.changes.join('\n'))
 *   // → { counts: [{ status: 'ok', count: 3 }, { status: 'changed', count: 95 }],
 *   //     changes: [{ hosts: ['node01', …, 'node95'], block: 'write /etc/app.conf', … }], notes: [], failures: [] }
 */
import type { RecapLine } from '../events.ts';
import type { TaskResult, TaskStatus } from '../result.ts';
import { compactHosts } from './host-ranges.ts';
import type { GroupedResult, TaskGroup } from './task-groups.ts';

/** `ignored` counts failures the playbook ignores (ignoreErrors), apart from `failed`, as the recap does. */
export type CountedStatus = TaskStatus | 'ignored';

export const COUNT_ORDER: readonly CountedStatus[] = ['ok', 'changed', 'failed', 'skipped', 'unreachable', 'ignored'];

export interface TaskSummary {
  task: string;
  module: string;
  handler: boolean;
  /** Non-zero counts, in COUNT_ORDER. */
  counts: Array<{ status: CountedStatus; count: number }>;
  /** Of the `changed` count, the dry run's predictions it cannot make with certainty ("would run"). */
  wouldRun: number;
  /**
   * Changed hosts, one entry per distinct change block, the largest first. `delegatedTo`: the host a
   * delegated task changed instead of these (the per-host view's `→ host`); hosts are merged only with
   * others delegating to the same host.
   */
  changes: Array<{ hosts: string[]; block: string; checkMode: boolean; uncertain: boolean; delegatedTo?: string }>;
  /** Skip reasons, and what debug said (its message is its output), merged by text, the largest first. */
  notes: Array<{ status: 'ok' | 'skipped'; hosts: string[]; msg: string; delegatedTo?: string }>;
  /** Failed (ignored or not) and unreachable results, in full, by host name; echoed ones were shown. */
  failures: GroupedResult[];
}

/**
 * Summarizes a complete group; undefined when nothing in it is shown at this verbosity (a task every
 * host skipped by tags). `changeBlock` is the text the per-host view prints under a changed result: two
 * hosts are merged when theirs is the same, so merging never hides a difference the per-host view shows.
 */
export function summarizeTask(group: TaskGroup, changeBlock: (result: TaskResult) => string): TaskSummary | undefined {
  const shown = group.results.filter((entry) => !entry.quiet);
  if (shown.length === 0) return undefined;
  const counts = new Map<CountedStatus, number>();
  const changes = new Map<string, TaskSummary['changes'][number]>();
  const notes = new Map<string, TaskSummary['notes'][number]>();
  const failures: GroupedResult[] = [];
  let wouldRun = 0;
  for (const entry of shown) {
    const { result } = entry;
    const status: CountedStatus = entry.ignored ? 'ignored' : result.status;
    counts.set(status, (counts.get(status) ?? 0) + 1);
    if (status === 'changed' && result.checkMode && result.uncertain) wouldRun++;
    if (entry.echoed && result.status !== 'unreachable') continue;
    if (result.status === 'failed' || result.status === 'unreachable') {
      failures.push(entry);
    } else if (result.status === 'changed') {
      const block = changeBlock(result);
      const key = JSON.stringify([block, result.checkMode, result.uncertain, result.delegatedTo ?? null]);
      const merged = changes.get(key) ?? { hosts: [], block, checkMode: result.checkMode, uncertain: result.uncertain, ...delegation(result) };
      merged.hosts.push(result.host);
      changes.set(key, merged);
    } else if (result.status === 'skipped' || result.module === 'debug') {
      const key = JSON.stringify([result.status, result.msg, result.delegatedTo ?? null]);
      const merged = notes.get(key) ?? { status: result.status, hosts: [], msg: result.msg, ...delegation(result) };
      merged.hosts.push(result.host);
      notes.set(key, merged);
    }
  }
  // Hosts report in whatever order the network gives: the output is ordered by what it says, so two runs
  // with the same results print the same text (largest group first, then by the first host's name).
  const bySize = <T extends { hosts: string[] }>(list: T[]) => {
    for (const entry of list) entry.hosts.sort(byName);
    return list.sort((a, b) => b.hosts.length - a.hosts.length || byName(a.hosts[0]!, b.hosts[0]!));
  };
  return {
    task: group.task,
    module: group.module,
    handler: group.handler,
    counts: COUNT_ORDER.flatMap((status) => (counts.get(status) ? [{ status, count: counts.get(status)! }] : [])),
    wouldRun,
    changes: bySize([...changes.values()]),
    notes: bySize([...notes.values()]),
    failures: failures.sort((a, b) => byName(a.result.host, b.result.host)),
  };
}

function delegation(result: TaskResult): { delegatedTo?: string } {
  return result.delegatedTo ? { delegatedTo: result.delegatedTo } : {};
}

/** Host names in the order people count them: node2 before node10. */
function byName(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Hosts as ranges in the inventory's syntax, comma-separated: `db1,node[01:95,97]`. */
export function hostRange(hosts: Iterable<string>): string {
  return compactHosts(hosts).join(',');
}

/** Recap lines merged where every count (and whether the host was stopped early) is the same, in first-seen order. */
export function mergeRecap(recap: RecapLine[]): Array<{ hosts: string[]; line: RecapLine }> {
  const merged = new Map<string, { hosts: string[]; line: RecapLine }>();
  for (const line of recap) {
    const key = JSON.stringify([line.ok, line.changed, line.failed, line.skipped, line.unreachable, line.ignored, line.rescued ?? 0, line.notRun]);
    const entry = merged.get(key) ?? { hosts: [], line };
    entry.hosts.push(line.host);
    merged.set(key, entry);
  }
  return [...merged.values()];
}
