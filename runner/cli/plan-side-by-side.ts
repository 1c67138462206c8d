/**
 * `audit show --plan PLAN.json LOG`: a saved plan and the audit log of its apply side by side, task by
 * task on each host (matched by the task key both record), so a reviewer sees what was approved next to
 * what ran, and whether the log is the apply of this very plan (its run-start names the plan's sha256).
 *
 * @example
 *   HOST lab-2
 *     1.1 motd          reviewed changed: create /tmp/motd (28 bytes)  | applied changed: create /tmp/motd (28 bytes)
 *     1.2 limit line    reviewed changed: …                            | applied FAILED: lab-2 drifted since review …
 */
import { printable } from '../printable.ts';
import type { PlannedTask } from '../planned-task.ts';
import type { SavedPlan } from './saved-plan.ts';

export interface SideBySide {
  text: string;
  /** The log's run-start names this plan (its sha256). */
  sameRun: boolean;
}

export function planSideBySide(plan: SavedPlan, planSha256: string, planPath: string, logText: string): SideBySide {
  const records = logText
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const start = records.find((record) => record.kind === 'run-start');
  const named = (start?.plan as { sha256?: unknown } | undefined)?.sha256;
  const sameRun = named === planSha256;
  const out: string[] = [
    `plan   ${printable(planPath)} sha256 ${planSha256}`,
    `       made ${plan.createdAt} by ${printable(plan.operator)} on ${printable(plan.controller)} (dry run ${plan.runId}) · ${printable(plan.playbook.path)}`,
    `apply  run ${String(start?.runId ?? '(no run-start)')} by ${printable(String(start?.operator ?? '?'))} at ${String(start?.time ?? '?')} · ${
      named === undefined
        ? 'names no plan: this log is not an apply'
        : sameRun
          ? 'names this plan (sha256 matches)'
          : `names ANOTHER plan (sha256 ${String(named)})`
    }`,
  ];
  const applied = new Map<string, Map<string, Record<string, unknown>>>();
  for (const record of records) {
    if ((record.kind !== 'task' && record.kind !== 'handler') || typeof record.host !== 'string') continue;
    let byKey = applied.get(record.host);
    if (!byKey) {
      byKey = new Map();
      applied.set(record.host, byKey);
    }
    byKey.set(typeof record.key === 'string' ? record.key : `(no key) ${String(record.task)}`, record);
  }
  const hosts = [...new Set([...Object.keys(plan.hosts), ...applied.keys()])].sort();
  for (const host of hosts) {
    out.push('', `HOST ${printable(host)}`);
    const reviewed = plan.hosts[host] ?? [];
    const ran = applied.get(host) ?? new Map<string, Record<string, unknown>>();
    const keys = [...new Set([...reviewed.map((task) => task.key), ...ran.keys()])];
    const width = Math.min(40, Math.max(...keys.map((key) => key.length)));
    for (const key of keys) {
      const left = describeReviewed(reviewed.find((task) => task.key === key));
      const right = describeApplied(ran.get(key));
      out.push(`  ${printable(key).padEnd(width)}  reviewed ${left.padEnd(48)} | applied ${right}`);
    }
  }
  return { text: out.join('\n'), sameRun };
}

function describeReviewed(task: PlannedTask | undefined): string {
  if (!task) return '(not in the plan)';
  const what = task.changes.length > 0 ? `: ${task.changes.join('; ')}` : '';
  return oneLine(`${task.uncertain ? 'would run' : task.status}${what}`, 60);
}

function describeApplied(record: Record<string, unknown> | undefined): string {
  if (!record) return '(not run)';
  const status = record.status === 'failed' ? 'FAILED' : String(record.status);
  return oneLine(`${status}: ${String(record.msg ?? '')}`, 100);
}

function oneLine(text: string, max: number): string {
  const first = printable(text.split('\n')[0] ?? '');
  const more = text.includes('\n') ? ' …' : '';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first + more;
}
