/**
 * Runs a playbook across hosts: plays in order; in each play every host of a batch at once (bounded by
 * --forks), each host running the play's code independently, so a slow host never holds up the others.
 * Fail-fast: the first failure anywhere stops new tasks everywhere (unless --keep-going).
 */
import { inspect } from 'node:util';
import pLimit from 'p-limit';
import type { Become } from '../command.ts';
import type { EventBus } from '../events.ts';
import type { Fact } from '../facts.ts';
import type { Module } from '../module.ts';
import type { BecomeOption, BlockOptions, HostInfo, Play, PlayContext, Playbook, TaskOptions, Tasks } from '../playbook.ts';
import { resultWithoutCommands, type TaskResult } from '../result.ts';
import { SchemaError } from '../schema.ts';
import type { Redactor } from '../secret.ts';
import { codeLocation } from './code-location.ts';
import { runBlock } from './block.ts';
import { delegateTarget } from './delegate.ts';
import { HostStopped, newHostFlow, type HostFlow } from './host-flow.ts';
import { RunOnceRegistry, RunOnceUnavailable, runOnceOnHost } from './run-once.ts';
import { handlerEntries, handlersFor, type HandlerEntry } from './handlers.ts';
import { PendingHandlers } from './pending-handlers.ts';
import { playbookCodeScope } from './code-scope.ts';
import type { HostSession, HostTarget } from './host-session.ts';
import type { RunState } from './run-state.ts';
import type { SessionPool } from './session-pool.ts';
import { UnreachableError } from '../transport/transport.ts';
import { selectByTags, unmatchedTags, type TagFilter } from './tags.ts';
import { dependsOnPrediction, recordedParams, runTask, type TaskRun, type TaskSpec } from './task.ts';
import { TaskKeys, taskKeysOf } from './task-keys.ts';
import type { PlanReview } from '../planned-task.ts';
import { retryProblem } from '../play-options.ts';
import { applyConditions, attemptVerdict, isPrediction, untilNeverHeld, untilThrew } from './task-policy.ts';

export interface PlaybookRunOptions {
  check: boolean;
  keepGoing: boolean;
  /** Most hosts working at once. */
  forks: number;
  tags: TagFilter;
  /** Resolves a play's host pattern to targets (inventory selection with --limit applied). */
  selectHosts: (pattern: string) => HostTarget[];
  /** The inventory's hosts for a pattern, ignoring --limit (what `ctx.hosts` shows a play). */
  inventoryHosts: (pattern: string) => HostTarget[];
  sessions: SessionPool;
  bus: EventBus;
  state: RunState;
  redactor: Redactor;
  clock: () => number;
  /**
   * The modules behind `t.NAME(…)` in a play: the registry, handed in by the caller (the CLI is where
   * modules and runner meet; the engine imports no module).
   */
  modules: Readonly<Record<string, Module>>;
  /** The fact behind a play's `host.os()`. */
  osFact: Fact<Awaited<ReturnType<HostInfo<unknown>['os']>>>;
  /**
   * An ad-hoc run (`exec`, `module`) is a playbook of one implicit play, shown without a play header.
   * `paramsFromText`: the parameters are key=value text, for the module's schema to coerce.
   * `echoOutput`: each host's output is shown under its name (`exec`); the result then goes to the audit log.
   */
  adhoc?: { paramsFromText: boolean; echoOutput: boolean };
  /** The pause between retry attempts (tests hand in one that records instead of waiting). */
  sleep?: (ms: number) => Promise<void>;
  /** Saved plans (--save-plan records, `apply` compares): each task's plan, under its key, before it runs. */
  review?: PlanReview;
}

/**
 * Validates the playbook's declared variables on every host it will touch before anything runs: an
 * unset variable stops the run before it does damage, like `set -u`.
 */
export function validatePlaybookVars(
  playbook: Playbook<unknown>,
  targets: HostTarget[],
  extraVars: Readonly<Record<string, unknown>> = {},
): { vars: Map<string, unknown>; errors: string[] } {
  const vars = new Map<string, unknown>();
  const errors: string[] = [];
  for (const target of targets) {
    try {
      // Extra variables (-e, already typed by the schema's fields) win over every inventory layer, as in Ansible.
      vars.set(target.name, playbook.vars.parse({ ...pickDeclared(playbook, target.vars), ...extraVars }, 'vars'));
    } catch (error) {
      if (!(error instanceof SchemaError)) throw error;
      errors.push(`${target.name}: ${error.message}`);
    }
  }
  return { vars, errors };
}

/** Inventory variables the schema does not declare (ansible_host…) are not the playbook's concern. */
function pickDeclared(playbook: Playbook<unknown>, vars: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const declared = Object.keys(playbook.vars.shape);
  return Object.fromEntries(Object.entries(vars).filter(([key]) => declared.includes(key)));
}

export async function runPlaybook<V>(playbook: Playbook<V>, typedVars: Map<string, unknown>, options: PlaybookRunOptions): Promise<void> {
  const outputs = new Map<symbol, Map<string, unknown>>();
  const context: PlayContext = {
    outputs: <O>(play: Play<any, O, any, any>) => (outputs.get(play.id) ?? new Map()) as ReadonlyMap<string, O>,
    hosts: (pattern: string) =>
      options.inventoryHosts(pattern).map((target) => ({
        name: target.name,
        address: target.connection.address,
        vars: target.vars,
        groups: target.groups,
      })),
    checkMode: options.check,
  };
  if (options.review) taskKeysOf.set(options.state, new TaskKeys(playbook.plays));
  const pending = new PendingHandlers(
    playbook.name,
    playbook.plays.map((play) => play.name),
    options,
  );
  for (const play of playbook.plays) {
    if (options.state.stopping) break;
    const playOutputs = new Map<string, unknown>();
    outputs.set(play.id, playOutputs);
    const selected = options.selectHosts(play.hosts);
    const targets = selected.filter((target) => !options.state.failedHosts.has(target.name) && !options.state.unreachableHosts.has(target.name));
    if (targets.length === 0) {
      // Two causes read alike before: a pattern that selects nothing (often a typo in a group's name), and
      // hosts that all failed or could not be reached earlier in the run.
      const why =
        selected.length === 0
          ? `its hosts pattern ${play.hosts} selects no host (no such group or host in the inventory, or --limit or --shard left none of them)`
          : `no hosts left to run on (pattern ${play.hosts}: every host it selects failed or was unreachable earlier in the run)`;
      options.bus.emit({ kind: 'warning', message: `play "${play.name}": ${why}` });
      continue;
    }
    const batches = splitIntoBatches(targets, play.serial);
    const shared = new RunOnceRegistry(
      play.name,
      targets.map((target) => target.name),
      Math.max(1, options.forks),
    );
    for (const [index, batch] of batches.entries()) {
      if (options.state.stopping) break;
      if (!options.adhoc)
        options.bus.emit({ kind: 'play-start', play: play.name, hosts: batch.map((target) => target.name), batch: index + 1, batches: batches.length });
      const limit = pLimit(Math.max(1, options.forks));
      const failedBefore = options.state.failedHosts.size + options.state.unreachableHosts.size;
      shared.startBatch(batch.map((target) => target.name));
      await connectBatch(play.name, batch, limit, options);
      const reached = batch.filter((target) => !options.state.unreachableHosts.has(target.name));
      // Before the others start: a run-once chosen for a host that was not reached must fail its waiters, not hang them.
      for (const target of batch) {
        if (!reached.includes(target))
          shared.hostDone(target.name, new RunOnceUnavailable('failed', `${target.name} could not be reached before its play started`));
      }
      await Promise.all(
        reached.map((target) => limit(() => runHostPlay(play, target, typedVars.get(target.name), context, playOutputs, options, pending, shared))),
      );
      const failedInBatch = options.state.failedHosts.size + options.state.unreachableHosts.size - failedBefore;
      if (play.maxFailPercentage !== undefined && (failedInBatch / batch.length) * 100 > play.maxFailPercentage) {
        if (options.state.stop('max-fail-percentage')) {
          options.bus.emit({
            kind: 'stopping',
            reason: 'max-fail-percentage',
            message: `play "${play.name}": ${failedInBatch} of ${batch.length} hosts failed, over maxFailPercentage ${play.maxFailPercentage}%`,
          });
        }
      }
      if (!options.adhoc) options.bus.emit({ kind: 'play-end', play: play.name });
    }
  }
  for (const message of unmatchedTags(options.tags, options.state.seenTags)) options.bus.emit({ kind: 'warning', message });
}

/**
 * Logs in to every host of a batch before any of them starts its play. Fail-fast then covers reachability:
 * an unreachable host stops the run (without --keep-going) before the reachable hosts change anything,
 * where before the fast hosts had often finished the play by the time a dead host's connection attempts
 * ran out. And a dry run reports an unreachable host even when its tasks would only run commands, which a
 * dry run does not send. A host already logged in (an earlier play) costs nothing; --forks still bounds
 * how many log in at once.
 */
async function connectBatch(play: string, batch: HostTarget[], limit: ReturnType<typeof pLimit>, options: PlaybookRunOptions): Promise<void> {
  await Promise.all(
    batch.map((target) =>
      limit(async () => {
        if (options.state.stopping) return;
        try {
          await options.sessions.get(target).open();
        } catch (error) {
          if (!(error instanceof UnreachableError)) throw error;
          const result = resultWithoutCommands({
            host: target.name,
            task: `(log in for play "${play}")`,
            module: 'connect',
            status: 'unreachable',
            checkMode: options.check,
            msg: error.message,
            failure: { kind: 'unreachable', hint: error.hint },
          });
          options.state.track(target.name);
          options.state.count(result);
          options.bus.emit({ kind: 'task-result', result, params: {}, handler: false });
          recordFailure(result, options);
        }
      }),
    ),
  );
}

async function runHostPlay(
  play: Play<any, unknown, string, string>,
  target: HostTarget,
  vars: unknown,
  context: PlayContext,
  playOutputs: Map<string, unknown>,
  options: PlaybookRunOptions,
  pending: PendingHandlers,
  shared: RunOnceRegistry,
): Promise<void> {
  const session = options.sessions.get(target);
  options.state.track(target.name);
  if (options.state.stopping) {
    options.state.markNotRun(target.name);
    shared.hostDone(target.name, new RunOnceUnavailable('stopping', 'the run stopped before its play started'));
    return;
  }
  shared.hostStarted(target.name);
  const entries = handlerEntries(play);
  /** Handler names owed on this host (a notification resolved through names and `listen` topics). */
  const notified = new Set<string>();
  const host: HostInfo<unknown> = {
    name: target.name,
    vars,
    allVars: target.vars,
    groups: target.groups,
    os: () => session.context(resolveBecome(play.become, target)).fact(options.osFact),
    fact: (fact) => session.context(resolveBecome(play.become, target)).fact(fact),
  };
  if (entries.length > 0) {
    try {
      for (const name of await pending.carried(
        session,
        play.name,
        entries.map((entry) => entry.name),
      ))
        notified.add(name);
    } catch (error) {
      reportPlaybookError(error, `${play.name} / pending handlers`, target.name, options);
      shared.hostDone(target.name, new RunOnceUnavailable('failed', `${target.name} failed before its play started`));
      return;
    }
  }
  const flush = async (): Promise<void> => {
    const why = await runHandlers(play, entries, target, host, session, notified, options);
    if (why) throw new HostStopped(options.state.haltsHandlers ? 'stopping' : 'failed');
  };
  const tasks = makeTasks(play, target, session, notified, options, false, entries, flush, { flow: newHostFlow(), shared });
  try {
    const output = await playbookCodeScope.run({ host: target.name, where: play.name }, () => play.tasks(tasks, host, context));
    playOutputs.set(target.name, output);
  } catch (error) {
    if (error instanceof HostStopped) {
      if (error.why === 'stopping') options.state.markNotRun(target.name);
    } else {
      reportPlaybookError(error, play.name, target.name, options);
    }
  }
  shared.hostDone(target.name, hostEndReason(target.name, options));
  if (entries.length > 0) await settleHandlers(play, entries, target, host, session, notified, options, pending);
}

/**
 * The end of a play on a host, however it ended: notified handlers run, or are remembered on the host.
 * A healthy host runs them even when the run is stopping because another host failed (Ansible's
 * `force_handlers`): the change is on disk, and a re-run would not see it. Ctrl-C starts no new work, and a
 * host that failed runs nothing more: their handlers are remembered on the host for its next run.
 */
async function settleHandlers(
  play: Play<any, unknown, string, string>,
  entries: HandlerEntry[],
  target: HostTarget,
  host: HostInfo<unknown>,
  session: HostSession,
  notified: Set<string>,
  options: PlaybookRunOptions,
  pending: PendingHandlers,
): Promise<void> {
  let why = hostStopReason(target.name, options);
  if (!why && notified.size > 0) {
    why = await runHandlers(play, entries, target, host, session, notified, options);
    if (options.state.stopping && !why)
      options.bus.emit({
        kind: 'warning',
        host: target.name,
        message: `the run is stopping (${options.state.stopReason}); ${target.name} ran its notified handlers first`,
      });
  }
  const remaining = entries.filter((entry) => notified.has(entry.name)).map((entry) => entry.name);
  if (remaining.length === 0) return pending.settled(session, play.name);
  if (options.state.unreachableHosts.has(target.name)) return pending.lost(target.name, play.name, remaining);
  await pending.remember(session, play.name, remaining, why ?? 'not run');
}

/** Why no handler may start on this host now, or undefined. */
function hostStopReason(host: string, options: PlaybookRunOptions): string | undefined {
  if (options.state.unreachableHosts.has(host)) return `${host} is unreachable`;
  if (options.state.failedHosts.has(host)) return `${host} failed`;
  if (options.state.stopReason === 'interrupted') return 'the run was interrupted';
  if (options.state.stopReason === 'audit-failed') return 'the audit log could not be written';
  return undefined;
}

/**
 * Runs the notified handlers in the order they are defined, not the order they were notified (as Ansible
 * does); each one that ran leaves `notified`. Returns why the rest did not run, or undefined when all ran.
 */
async function runHandlers(
  play: Play<any, unknown, string, string>,
  entries: HandlerEntry[],
  target: HostTarget,
  host: HostInfo<unknown>,
  session: HostSession,
  notified: Set<string>,
  options: PlaybookRunOptions,
): Promise<string | undefined> {
  if (notified.size === 0) return undefined;
  const handlerTasks = makeTasks(play, target, session, new Set(), options, true, entries, async () => {}, { flow: newHostFlow() });
  for (const entry of entries) {
    if (!notified.has(entry.name)) continue;
    const stop = hostStopReason(target.name, options);
    if (stop) return stop;
    try {
      await playbookCodeScope.run({ host: target.name, where: `${play.name} / handler ${entry.name}` }, () => entry.run(handlerTasks, host));
      notified.delete(entry.name);
    } catch (error) {
      if (!(error instanceof HostStopped)) reportPlaybookError(error, `${play.name} / handler ${entry.name}`, target.name, options);
      return hostStopReason(target.name, options) ?? `handler "${entry.name}" did not finish`;
    }
  }
  return undefined;
}

/** What reporting a failure needs of the run. */
type FailureOptions = Pick<PlaybookRunOptions, 'check' | 'keepGoing' | 'bus' | 'state'>;

/**
 * An exception thrown by the playbook's own code: the host fails, with the message. `host.os()` and the
 * other facts a play's code asks for connect on first use, so a host that cannot be reached there is
 * unreachable (exit 4), not a playbook bug. `outsideTask`: it escaped the play's code (a timer callback,
 * a promise nobody awaited) and reached the process.
 */
export function reportPlaybookError(error: unknown, where: string, host: string, options: FailureOptions, outsideTask = false): void {
  recordFailure(playbookErrorResult(error, where, host, options, outsideTask), options);
}

/** The failed result for an exception of the playbook's code, counted and reported, not yet recorded as the host's failure. */
function playbookErrorResult(error: unknown, where: string, host: string, options: FailureOptions, outsideTask = false): TaskResult {
  const outcome: Pick<TaskResult, 'status' | 'msg' | 'failure'> =
    error instanceof UnreachableError
      ? { status: 'unreachable', msg: error.message, failure: { kind: 'unreachable', hint: error.hint } }
      : playbookBug(error, outsideTask);
  const result: TaskResult = {
    host,
    task: `(playbook code in ${where})`,
    module: 'playbook',
    changed: false,
    checkMode: options.check,
    uncertain: false,
    ...outcome,
    changes: [],
    diffs: [],
    commands: [],
    rc: null,
    stdout: '',
    stderr: '',
    durationMs: 0,
  };
  options.state.count(result);
  options.bus.emit({ kind: 'task-result', result, params: {}, handler: false });
  return result;
}

/** Why a run-once this host was chosen for and never reached can no longer come, or undefined (it simply did not reach it). */
function hostEndReason(host: string, options: PlaybookRunOptions): RunOnceUnavailable | undefined {
  if (options.state.failedHosts.has(host) || options.state.unreachableHosts.has(host))
    return new RunOnceUnavailable('failed', `${host} failed before running it`);
  if (options.state.stopping) return new RunOnceUnavailable('stopping', `the run stopped (${options.state.stopReason}) before ${host} ran it`);
  return undefined;
}

function playbookBug(error: unknown, outsideTask: boolean): Pick<TaskResult, 'status' | 'msg' | 'failure'> {
  // A thrown non-Error (`throw { code: 1 }`) is shown as it is, not as "[object Object]".
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : inspect(error, { depth: 3, breakLength: Infinity });
  const location = error instanceof Error ? codeLocation(error.stack) : undefined;
  const how = outsideTask ? 'threw outside any task (in a timer callback or a promise nobody awaited)' : 'threw';
  return {
    status: 'failed',
    msg: `the playbook's code ${how}${location ? ` at ${location}` : ''}: ${message}`,
    failure: { kind: 'internal', hint: location ? 'fix the playbook code at that line' : 'fix the playbook code that raised this error' },
  };
}

function makeTasks(
  play: Play<any, unknown, string, string>,
  target: HostTarget,
  session: HostSession,
  notified: Set<string>,
  options: PlaybookRunOptions,
  handler: boolean,
  handlers: HandlerEntry[],
  flush: () => Promise<void>,
  scope: { flow: HostFlow; shared?: RunOnceRegistry },
): Tasks<string> {
  const { flow } = scope;
  const call = async (module: Module, name: string, params: unknown, taskOptions: TaskOptions<string> = {}): Promise<TaskResult> => {
    // A block's cleanup after this host failed runs despite fail-fast (not after Ctrl-C or a failed audit log), as handlers do.
    const cleanup = flow.rescuing > 0 && !options.state.haltsHandlers;
    // A handler's tasks go on when another host's failure stops the run (force_handlers); Ctrl-C stops them too.
    if (options.state.stopping && !cleanup && !(handler && !options.state.haltsHandlers)) throw new HostStopped('stopping');
    // A playbook that caught the failure of an earlier task still gets no further task on this host (but a rescue does).
    if (options.state.unreachableHosts.has(target.name) || (options.state.failedHosts.has(target.name) && !cleanup)) throw new HostStopped('failed');
    const tags = [...(play.tags ?? []), ...(taskOptions.tags ?? [])];
    const delegate = taskOptions.delegateTo === undefined ? target : delegateTarget(taskOptions.delegateTo, options.inventoryHosts);
    // The delegate's own become settings, as its own tasks would have them.
    const become = resolveBecome(taskOptions.become ?? play.become, typeof delegate === 'string' ? target : delegate);
    for (const tag of tags) options.state.seenTags.add(tag);
    if (!handler && !selectByTags(tags, options.tags)) {
      const skipped = skippedResult(target.name, name, module.name, options.check, `skipped by tags (task tags: ${tags.join(', ') || 'none'})`);
      options.state.count(skipped);
      options.bus.emit({ kind: 'task-result', result: skipped, params: recordedParams(module, params), handler, byTags: true });
      return skipped;
    }
    // A saved plan covers the tasks that run: one skipped by tags does nothing at review and at apply alike (the
    // apply takes the plan's tags), so it takes no key, and a playbook whose code reaches different tag-skipped
    // tasks in a dry run and an apply (it read a value only the apply has) still applies as reviewed.
    const key = options.review && taskKeysOf.get(options.state)?.next(target.name, play, handler, name);
    const review = key ? (planned: Parameters<NonNullable<TaskSpec['review']>>[0]) => options.review!(target.name, { key, ...planned }) : undefined;
    options.bus.emit({ kind: 'task-start', host: target.name, task: name, module: module.name });
    const unknown = options.check ? [taskOptions.uses ?? []].flat().find((used) => !used.known) : undefined;
    // Task options are given when the task is called: this is the first moment `retry` can be checked.
    const retryInvalid = retryProblem(taskOptions.retry);
    const run =
      typeof delegate === 'string' || retryInvalid !== undefined
        ? {
            params,
            result: {
              ...skippedResult(target.name, name, module.name, options.check, typeof delegate === 'string' ? delegate : `task "${name}": ${retryInvalid}`),
              status: 'failed' as const,
              failure: {
                kind: 'invalid-input' as const,
                hint:
                  typeof delegate === 'string'
                    ? 'fix delegateTo'
                    : "fix the task's retry option: attempts is a whole number ≥ 1, delaySeconds a number of seconds ≥ 0",
              },
            },
          }
        : unknown
          ? { params: recordedParams(module, params), result: unknownShared(target.name, name, module.name, unknown.name, unknown.host) }
          : onBehalfOf(
              target.name,
              delegate,
              await runTaskWithPolicy(
                delegate === target ? session : options.sessions.get(delegate),
                target.name,
                { name, module, params, become, secretOutput: taskOptions.secretOutput, paramsFromText: options.adhoc?.paramsFromText, review },
                taskOptions,
                options,
              ),
            );
    if (options.check && run.result.checkMode && run.result.status === 'changed') {
      flow.predictions++;
      // A read that would run (its failure untrusted) is not a change a later read may depend on.
      if (!run.result.commands.some((command) => command.executed)) options.state.lastPrediction = { host: target.name, task: name };
    }
    const ignored = taskOptions.ignoreErrors === true && run.result.status === 'failed';
    options.state.count(run.result, ignored);
    const echoed = options.adhoc?.echoOutput === true && run.result.commands.some((command) => command.executed);
    if (echoed) options.bus.emit({ kind: 'host-output', host: target.name, exitCode: run.result.rc, stdout: run.result.stdout, stderr: run.result.stderr });
    options.bus.emit({
      kind: 'task-result',
      result: run.result,
      params: run.params,
      handler,
      ...(options.adhoc && { echoed }),
      ...(ignored && { ignored }),
      ...(key && { key }),
    });
    if (run.result.status === 'failed' || run.result.status === 'unreachable') {
      if (taskOptions.ignoreErrors && run.result.status === 'failed') return run.result;
      flow.lastFailure = run.result;
      // In a `recovered: true` block the rescue decides whether this is the host's failure (and fail-fast's).
      if (flow.deferring === 0 || flow.rescuing > 0 || run.result.status === 'unreachable') recordFailure(run.result, options);
      throw new HostStopped('failed');
    }
    // A prediction in a real run (checkMode always-check) changed nothing: nothing to restart.
    if (run.result.changed && taskOptions.notify && !(run.result.checkMode && !options.check)) {
      for (const topic of [taskOptions.notify].flat()) {
        const reached = handlersFor(handlers, topic);
        if (reached.length === 0)
          options.bus.emit({
            kind: 'warning',
            host: target.name,
            message: `task "${name}" notified "${topic}", which no handler of play "${play.name}" is named or listens to`,
          });
        for (const handlerName of reached) notified.add(handlerName);
      }
    }
    return run.result;
  };
  const tasks: Record<string, unknown> = {
    run: (module: Module, name: string, params: unknown, taskOptions?: TaskOptions<string>) => call(module, name, params, taskOptions),
    checkMode: options.check,
    flushHandlers: async () => {
      if (handler) return;
      if (options.state.stopping) throw new HostStopped('stopping');
      await flush();
    },
    runOnce: (name: string, produce: () => Promise<unknown>, runOptions: { host?: string } = {}) =>
      runOnceOnHost(name, produce, runOptions.host, {
        host: target.name,
        play: play.name,
        check: options.check,
        flow,
        registry: scope.shared,
        emit: (result, counted) => {
          if (counted) options.state.count(result);
          options.bus.emit({ kind: 'task-result', result, params: {}, handler });
        },
        recordFailure: (result) => recordFailure(result, options),
      }),
    block: (name: string, body: () => Promise<unknown>, blockOptions: BlockOptions<unknown>) =>
      runBlock(name, body, blockOptions, {
        host: target.name,
        where: play.name,
        flow,
        state: options.state,
        emit: (result) => options.bus.emit({ kind: 'task-result', result, params: {}, handler }),
        reportError: (error, where, record) => {
          const result = playbookErrorResult(error, where, target.name, options);
          if (record) recordFailure(result, options);
          return result;
        },
        recordFailure: (result) => recordFailure(result, options),
        check: options.check,
      }),
  };
  for (const [key, module] of Object.entries(options.modules)) {
    tasks[key] = (name: string, params: unknown, taskOptions?: TaskOptions<string>) => call(module, name, params, taskOptions);
  }
  return tasks as Tasks<string>;
}

/**
 * runTask under the task's own options: its checkMode override, changedWhen/failedWhen, and the retry
 * policy, each attempt but the last told as a `task-retry` event. Retries stop early when the run stops.
 */
async function runTaskWithPolicy(
  session: HostSession,
  host: string,
  spec: TaskSpec,
  taskOptions: TaskOptions<string>,
  options: PlaybookRunOptions,
): Promise<TaskRun> {
  const check = taskOptions.checkMode === 'always-run' ? false : taskOptions.checkMode === 'always-check' ? true : options.check;
  const override = check !== options.check ? taskOptions.checkMode : undefined;
  const policy = taskOptions.retry;
  // Checked when the task was called (retryProblem): a whole number ≥ 1 and a pause ≥ 0.
  const attempts = policy?.attempts ?? 1;
  const delaySeconds = policy?.delaySeconds ?? 0;
  for (let attempt = 1; ; attempt++) {
    // A saved plan reviewed the first attempt: later ones follow from what it did.
    const review = attempt === 1 ? spec.review : undefined;
    const run = await runTask(session, spec, {
      check,
      redactor: options.redactor,
      clock: options.clock,
      review,
      lastPrediction: () => options.state.lastPrediction,
    });
    let result = readFailureAfterPrediction(applyConditions(run.result, taskOptions, options.redactor), options.state.lastPrediction);
    if (override) result = { ...result, checkModeOverride: override };
    if (!policy) return { ...run, result };
    result = { ...result, attempts: attempt };
    // Nothing ran (a would-be change in check mode) or the host is gone: another attempt would see the same.
    if (isPrediction(result) || result.status === 'unreachable') return { ...run, result };
    const verdict = attemptVerdict(result, policy.until);
    if (verdict === 'done') return { ...run, result };
    if (typeof verdict === 'object') return { ...run, result: untilThrew(result, verdict.failed) };
    const last = attempt >= attempts || options.state.stopping;
    if (last) return { ...run, result: result.status === 'failed' ? result : untilNeverHeld(result, attempt) };
    options.bus.emit({
      kind: 'task-retry',
      host,
      task: spec.name,
      module: spec.module.name,
      attempt,
      attempts,
      delaySeconds,
      status: result.status,
      msg: result.status === 'failed' ? result.msg : 'until is false',
    });
    await (options.sleep ?? sleep)(delaySeconds * 1000);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Marks the host and applies the fail-fast policy. */
function recordFailure(result: TaskResult, options: FailureOptions): void {
  if (result.status === 'unreachable') {
    options.state.unreachableHosts.add(result.host);
    options.bus.emit({ kind: 'host-unreachable', host: result.host, message: result.msg, hint: result.failure?.hint });
  } else {
    options.state.failedHosts.add(result.host);
  }
  if (!options.keepGoing && options.state.stop('fail-fast')) {
    options.bus.emit({
      kind: 'stopping',
      reason: 'fail-fast',
      message: `${result.host} ${result.status === 'unreachable' ? 'is unreachable' : 'failed'} in task "${result.task}": no new task starts anywhere (use --keep-going to let other hosts continue)`,
    });
  }
}

/** A delegated task's result is the host's it ran for, naming the delegate. */
function onBehalfOf(host: string, delegate: HostTarget, run: TaskRun): TaskRun {
  if (delegate.name === host) return run;
  // The delegate being unreachable fails the task of this host; this host itself was not found unreachable.
  const status = run.result.status === 'unreachable' ? 'failed' : run.result.status;
  return { ...run, result: { ...run.result, host, status, delegatedTo: delegate.name } };
}

/**
 * In a dry run, the only commands that run are read-only ones. One that fails after a change was predicted
 * (anywhere in the run: it may read another host, as a readiness check does) may have failed only because
 * that change was not made: it "would run", naming the change, instead of failing where the apply may not.
 * Before any predicted change its failure is the apply's too, and stands.
 */
function readFailureAfterPrediction(result: TaskResult, prediction: { host: string; task: string } | undefined): TaskResult {
  if (!prediction || !result.checkMode || result.status !== 'failed' || !result.commands.some((command) => command.executed)) return result;
  return {
    ...result,
    status: 'changed',
    changed: true,
    uncertain: true,
    msg: `${dependsOnPrediction(prediction, result.host, 'what this read may find')}: ${result.msg}`,
    failure: undefined,
  };
}

/** A task that uses a shared result unknown in check mode: it would run, with what cannot be known yet. */
function unknownShared(host: string, task: string, module: string, sharedName: string, sharedHost: string): TaskResult {
  return {
    ...skippedResult(
      host,
      task,
      module,
      true,
      `would run: it uses "${sharedName}" from ${sharedHost}, unknown in check mode (it would change something on ${sharedHost})`,
    ),
    status: 'changed',
    changed: true,
    uncertain: true,
    changes: [`run with "${sharedName}" (unknown in check mode)`],
  };
}

export function skippedResult(host: string, task: string, module: string, checkMode: boolean, msg: string): TaskResult {
  return resultWithoutCommands({ host, task, module, status: 'skipped', checkMode, msg });
}

/** Resolves a play's or task's become option against the host's inventory settings. */
export function resolveBecome(option: BecomeOption | undefined, target: HostTarget): Become | undefined {
  const inventory = target.become ?? {};
  if (option === undefined) return target.becomeByDefault ? { ...inventory } : undefined;
  if (option === false) return undefined;
  if (option === true) return { ...inventory };
  if (typeof option === 'string') return { ...inventory, user: option };
  return { ...inventory, ...option };
}

/** Ansible's `serial`: a count or a percentage of the play's hosts per batch; unset means one batch. */
export function splitIntoBatches<T>(items: T[], serial: number | `${number}%` | undefined): T[][] {
  if (serial === undefined || items.length === 0) return [items];
  const size = typeof serial === 'number' ? serial : Math.max(1, Math.floor((items.length * Number(serial.slice(0, -1))) / 100));
  if (!Number.isInteger(size) || size < 1) throw new Error(`serial must be a whole number of hosts ≥ 1 or a percentage, got ${serial}`);
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}
