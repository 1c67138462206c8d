/**
 * assert: check conditions the playbook computed (from facts, stat, slurp, earlier results) and fail the
 * host when any is false, with every failed condition's message. Plain TypeScript could `throw`, but that
 * leaves no task in the report or the audit log; an assert task is recorded like any other, passed or
 * failed. It sends no command to the host and runs the same in check mode (the conditions are values the
 * playbook already holds), so a dry run stops where the real run would.
 *
 * @example
 *   const swap = await t.fact(facts.swap);
 *   await t.assert('swap is off', {
 *     that: [
 *       { ok: swap.total === 0, msg: `swap is on: ${swap.total} bytes` },
 *       { ok: mem.total >= 2 * GiB, msg: 'less than 2 GiB of memory' },
 *     ],
 *     hint: 'turn swap off (swapoff module) before installing the kubelet',
 *   });
 */
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';

/** One condition: whether it holds, and what to say when it does not. */
const condition = s.object({
  /** The condition's value, computed by the playbook: false fails the task. */
  ok: s.boolean(),
  /** Shown when `ok` is false: say what was found, not only what was expected ("swap is on: 2 GiB"). */
  msg: s.string({ nonEmpty: true }),
});

const params = s.object({
  /** The conditions, checked all together: every false one is reported, not only the first. */
  that: s.array(condition, { nonEmpty: true }),
  /** The task's message when all hold (default: "all N conditions hold"). */
  successMsg: s.string({ nonEmpty: true }).optional(),
  /** What to do when a condition fails, shown under the failure as the hint. */
  hint: s.string({ nonEmpty: true }).optional(),
});

export type AssertParams = InputOf<typeof params>;
export type AssertCondition = InputOf<typeof condition>;

export const assert = defineModule({
  name: 'assert',
  summary: "Fail the host, with every failed condition's message, when a condition computed by the playbook is false; runs no command",
  params,
  async plan(p, host): Promise<Plan> {
    return checkConditions(p, host.name);
  },
});

/** Pure: the conditions → an ok plan, or a ModuleError naming the host and every failed condition. */
export function checkConditions(p: OutputOf<typeof params>, hostName: string): Plan {
  const failed = p.that.filter((c) => !c.ok).map((c) => c.msg);
  if (failed.length === 0) {
    return noChange(p.successMsg ?? (p.that.length === 1 ? 'the condition holds' : `all ${p.that.length} conditions hold`));
  }
  const counted = `${failed.length} of ${p.that.length} condition${p.that.length === 1 ? '' : 's'} failed on ${hostName}`;
  throw new ModuleError(`assertion failed: ${counted}: ${failed.join('; ')}`, p.hint);
}
