/**
 * The task options that judge a module's result, for every module alike: `changedWhen`/`failedWhen`
 * (Ansible's changed_when/failed_when) and the `until` of a retry policy. They see the finished result,
 * never the host, so they are pure functions of it and are tested as tables.
 */
import type { TaskOptions } from '../playbook.ts';
import type { TaskResult } from '../result.ts';
import type { Redactor } from '../secret.ts';
import { withOutputTail } from './task.ts';

/** A result that is only a check-mode prediction of a change: there is no output to judge. */
export function isPrediction(result: TaskResult): boolean {
  return result.checkMode && result.status === 'changed';
}

/**
 * Applies `failedWhen` then `changedWhen` to a result that ran. A predicate that throws fails the task
 * and says which one threw. Skipped and unreachable results, and predictions, are returned unchanged.
 */
export function applyConditions(result: TaskResult, options: Pick<TaskOptions, 'changedWhen' | 'failedWhen'>, redactor: Redactor): TaskResult {
  if (options.changedWhen === undefined && options.failedWhen === undefined) return result;
  if (result.status === 'skipped' || result.status === 'unreachable' || isPrediction(result)) return result;
  let out = result;
  if (options.failedWhen !== undefined) {
    const verdict = judge(options.failedWhen, out, 'failedWhen');
    if (typeof verdict === 'string') return failed(out, verdict);
    if (verdict && out.status !== 'failed') {
      return failed(out, withOutputTail(`failedWhen matched (exit code ${out.rc ?? 'none'})`, { text: out.stderr, lines: 5 }, redactor));
    }
    // Only a command's own failure can be accepted: invalid input or a failed probe is not a verdict on output.
    if (!verdict && out.status === 'failed' && out.failure?.kind === 'command-failed') {
      out = { ...out, status: out.changed ? 'changed' : 'ok', failure: undefined, condition: `failedWhen accepted: ${out.msg.split('\n')[0]}` };
    }
  }
  if (options.changedWhen !== undefined && out.status !== 'failed') {
    const verdict = judge(options.changedWhen, out, 'changedWhen');
    if (typeof verdict === 'string') return failed(out, verdict);
    if (verdict !== out.changed) {
      out = {
        ...out,
        changed: verdict,
        status: verdict ? 'changed' : 'ok',
        changes: verdict ? (out.changes.length > 0 ? out.changes : [out.msg]) : [],
        diffs: verdict ? out.diffs : [],
        condition: `changedWhen: ${verdict ? 'changed' : 'not changed'}`,
      };
    }
  }
  return out;
}

function judge(condition: boolean | ((result: TaskResult) => boolean), result: TaskResult, name: string): boolean | string {
  if (typeof condition === 'boolean') return condition;
  try {
    return Boolean(condition(result));
  } catch (error) {
    return `${name} threw: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function failed(result: TaskResult, msg: string): TaskResult {
  return {
    ...result,
    status: 'failed',
    msg,
    condition: msg.split('\n')[0],
    failure: { kind: 'command-failed', hint: "the task's own condition (failedWhen, changedWhen or until) decided this: check it against the output shown" },
  };
}

/**
 * Whether an attempt ends the retries: it did not fail and `until` (if any) holds. `until` that throws
 * is an answer too: the task fails with that message, not retried (the condition is broken, not the host).
 */
export function attemptVerdict(result: TaskResult, until: ((result: TaskResult) => boolean) | undefined): 'done' | 'again' | { failed: string } {
  if (result.status === 'failed') return 'again';
  if (!until) return 'done';
  try {
    return until(result) ? 'done' : 'again';
  } catch (error) {
    return { failed: `until threw: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The last attempt's result when `until` never held: failed, saying so, with that attempt's output kept. */
export function untilNeverHeld(result: TaskResult, attempts: number): TaskResult {
  return failed(result, `until was still false after ${attempts} attempt(s); the last attempt was ${result.status}: ${result.msg}`);
}

export function untilThrew(result: TaskResult, msg: string): TaskResult {
  return failed(result, msg);
}
