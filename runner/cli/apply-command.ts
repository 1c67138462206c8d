/**
 * `run apply PLAN.json -i INVENTORY`: runs the playbook a saved plan names, holding every task on every
 * host to the reviewed plan before it runs (plan-gate.ts). Refused up front when the playbook, the
 * inventory or the extra variables are not the reviewed ones, or the plan is older than --max-plan-age (or
 * dated in the future: plan-age.ts).
 */
import type { TaskResult } from '../result.ts';
import { MASK } from '../secret.ts';
import { skippedResult } from '../engine/run-playbook.ts';
import { commonHelpWithout, parseCommonOptions, UsageError } from './options.ts';
import { parseShard } from './shard.ts';
import { PlanGate } from './plan-gate.ts';
import { runPlaybookFile } from './playbook-command.ts';
import { planAgeProblem } from './plan-age.ts';
import { parseDuration, readSavedPlan } from './saved-plan.ts';

/** How old a plan may be by default: a day's review, not last month's. */
export const DEFAULT_MAX_PLAN_AGE = '24h';

export const APPLY_HELP = `Usage: tsx run apply PLAN.json -i INVENTORY [options]

Applies a plan saved by \`run PLAYBOOK.ts -i INVENTORY --check --save-plan PLAN.json\`, exactly as reviewed:
the playbook the plan names runs again, with the plan's --limit, --shard, --tags, --skip-tags and extra variables,
and each task on each host is planned afresh and compared with the reviewed one before anything of it
runs — its module, predicted status, commands (and what they get on stdin), diffs, and a fingerprint of
the host state its plan was made from. Identical: the task runs. Different (the host drifted since review),
or a task or host that is in one and not the other: that host fails with what differs, and fail-fast stops
the others as in any run (--keep-going lets them finish).

Refused before any host is contacted (exit 1) when the playbook file's or the inventory file's sha256 is not
the plan's, the extra variables differ, the dry run that made the plan did not complete, or the plan is older
than --max-plan-age or dated more than 5 minutes after this controller's clock (a clock is wrong). The audit
log's run-start names the plan (path, sha256, the dry run's run id); \`run audit show --plan PLAN.json LOG\`
shows plan and apply side by side.

Apply options:
      --max-plan-age AGE        refuse a plan made longer ago than this: 30m, 24h, 7d or seconds
                                (default ${DEFAULT_MAX_PLAN_AGE}); a plan dated over 5 min ahead is refused too
  -e, --extra-vars VARS         only needed when the plan's extra variables hold a secret (not saved in it):
                                the same -e arguments as the dry run; otherwise the plan's are used
      --no-typecheck            as for a playbook run
${commonHelpWithout(['check', 'detect-drift', 'limit', 'shard', 'tags', 'skip-tags'])}`;

export async function applyCommand(argv: string[]): Promise<number> {
  const typecheck = !argv.includes('--no-typecheck');
  const { options, positionals, extra, extraLists } = parseCommonOptions(
    argv.filter((arg) => arg !== '--no-typecheck'),
    { 'extra-vars': { type: 'string', short: 'e', multiple: true }, 'max-plan-age': { type: 'string' } },
  );
  if (options.help) {
    process.stdout.write(`${APPLY_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one plan file, got ${positionals.length ? positionals.join(' ') : 'none'} (see apply --help)`);
  if (options.check) throw new UsageError('apply runs a reviewed plan for real; to look again, make a new plan with --check --save-plan');
  if (options.limit !== undefined || options.shard !== undefined || options.tags.length > 0 || options.skipTags.length > 0) {
    throw new UsageError('--limit, --shard, --tags and --skip-tags come from the plan (they decided what was reviewed); make a new plan to change them');
  }
  const maxAgeText = (extra['max-plan-age'] as string | undefined) ?? DEFAULT_MAX_PLAN_AGE;
  const maxAgeMs = parseDuration('--max-plan-age', maxAgeText);
  const { plan, sha256, path } = readSavedPlan(positionals[0]!);
  if (!plan.complete) {
    throw new UsageError(
      `the plan ${path} comes from a dry run that did not complete (${plan.problems.join('; ')}): nothing was run; fix that and make a new plan`,
    );
  }
  const ageProblem = planAgeProblem(path, plan.createdAt, Date.now(), maxAgeMs, maxAgeText);
  if (ageProblem) throw new UsageError(ageProblem);
  const extraVarArgs = extraLists['extra-vars'] ?? [];
  if (extraVarArgs.length === 0 && plan.extraVars) {
    const args = [...new Set(Object.values(plan.extraVars).map((entry) => entry.from.replace(/^-e /, '')))];
    if (args.some((arg) => arg.includes(MASK))) {
      throw new UsageError(
        `the plan ${path} was made with extra variables holding secrets, which a plan does not keep: pass the same -e arguments as the dry run`,
      );
    }
    extraVarArgs.push(...args);
  }

  // Without -i the run would see only the implicit localhost: say what to pass, not that the inventory changed.
  if (options.inventory === undefined && plan.inventory) {
    throw new UsageError(`no inventory was given: the plan ${path} was reviewed with -i ${plan.inventory.path}; pass that inventory. Nothing was run.`);
  }

  // The plan's part of a sharded dry run: without it the apply ran every host, and those outside the part
  // failed as "not in the plan" after the reviewed ones had changed.
  const shard = plan.shard === undefined ? undefined : parseShard(plan.shard);
  if (shard && 'problem' in shard) throw new UsageError(`the plan ${path} has a shard that is not valid: ${shard.problem}`);
  const gate = new PlanGate(plan, path);
  return runPlaybookFile({
    options: { ...options, limit: plan.limit, shard, tags: plan.tags, skipTags: plan.skipTags },
    playbookPath: plan.playbook.path,
    typecheck,
    extraVarArgs,
    preflight: (identity) => {
      const refuse = (what: string) => {
        throw new UsageError(`${what} since the plan ${path} was made (${plan.createdAt}): nothing was run; review a new plan (--check --save-plan)`);
      };
      if (identity.playbook.sha256 !== plan.playbook.sha256) {
        refuse(
          `the playbook ${plan.playbook.path} changed (sha256 ${plan.playbook.sha256.slice(0, 12)}… reviewed, ${identity.playbook.sha256.slice(0, 12)}… now)`,
        );
      }
      const reviewedInventory = plan.inventory?.sha256 ?? 'none';
      const inventory = identity.inventory?.sha256 ?? 'none';
      if (inventory !== reviewedInventory) {
        refuse(
          `the inventory is not the reviewed one (${plan.inventory?.path ?? 'none'} sha256 ${reviewedInventory.slice(0, 12)}…, now ${identity.inventory?.path ?? 'none'} ${inventory.slice(0, 12)}…)`,
        );
      }
      if (JSON.stringify(identity.extraVars ?? {}) !== JSON.stringify(plan.extraVars ?? {})) {
        refuse(`the extra variables differ (reviewed ${JSON.stringify(plan.extraVars ?? {})}, now ${JSON.stringify(identity.extraVars ?? {})})`);
      }
    },
    checkHosts: (hosts) => {
      const missing = Object.keys(plan.hosts).filter((host) => !hosts.includes(host));
      if (missing.length > 0) throw new UsageError(`the plan ${path} was reviewed on host(s) this run does not select: ${missing.join(', ')}; nothing was run`);
    },
    info: { plan: { path, sha256, createdAt: plan.createdAt, runId: plan.runId } },
    review: gate.review,
    afterPlays: (run) => {
      // A host that ran fewer tasks than were reviewed did not do what was approved (the playbook took another path).
      if (run.state.stopping) return;
      for (const host of Object.keys(plan.hosts)) {
        if (run.state.failedHosts.has(host) || run.state.unreachableHosts.has(host)) continue;
        const unreached = gate.unreached(host);
        if (unreached.length === 0) continue;
        const result: TaskResult = {
          ...skippedResult(host, '(saved plan)', 'plan', false, ''),
          status: 'failed',
          msg: `${host} ended without reaching ${unreached.length} reviewed task(s) of the plan ${path}: ${unreached.map((task) => `"${task.key}"`).join(', ')}`,
          failure: { kind: 'plan-mismatch', hint: 'the playbook took another path than at review: make a new plan' },
        };
        run.state.count(result);
        run.bus.emit({ kind: 'task-result', result, params: {}, handler: false });
        run.state.failedHosts.add(host);
      }
    },
  });
}
