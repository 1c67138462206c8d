/**
 * The apply's side of a saved plan: each task on each host is held to the reviewed one before it runs
 * (the engine's review hook). Identical: it runs. Different, or not in the plan at all: the task fails
 * with what differs, nothing of it having run, and fail-fast does the rest.
 */
import type { PlannedTask, PlanReview } from '../planned-task.ts';
import { compareTasks } from '../report/plan-compare.ts';
import type { SavedPlan } from './saved-plan.ts';

export class PlanGate {
  /** Per host, how many of its reviewed tasks this run has reached. */
  readonly #reached = new Map<string, number>();

  constructor(
    private readonly plan: SavedPlan,
    private readonly planPath: string,
  ) {}

  readonly review: PlanReview = (host, fresh) => {
    const reviewed = this.plan.hosts[host];
    const from = `the plan ${this.planPath} (reviewed dry run of ${this.plan.createdAt})`;
    if (!reviewed) return `${host} is not in ${from}: nothing runs on a host nobody reviewed; make a new plan with --check --save-plan`;
    const index = this.#reached.get(host) ?? 0;
    this.#reached.set(host, index + 1);
    const saved = reviewed[index];
    if (!saved) {
      return `${host} differs from ${from}: task "${fresh.key}" was not reviewed (the plan has ${reviewed.length} task(s) on ${host}, this would be number ${index + 1}); nothing of it ran`;
    }
    if (saved.key !== fresh.key) {
      return `${host} differs from ${from}: the reviewed task number ${index + 1} on ${host} is "${saved.key}", this run reached "${fresh.key}" (the playbook took another path); nothing of it ran`;
    }
    const difference = compareTasks(saved, fresh);
    if (!difference) return undefined;
    return `${host} drifted since review: task "${fresh.key}" (${fresh.module}) is not what ${from} says; nothing of it ran:\n${difference}`;
  };

  /** The reviewed tasks a host never reached (empty when it reached them all). */
  unreached(host: string): PlannedTask[] {
    return (this.plan.hosts[host] ?? []).slice(this.#reached.get(host) ?? 0);
  }
}
