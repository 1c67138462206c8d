/**
 * `t.block(name, body, { rescue, always, recovered })`, Ansible's block/rescue/always. Without it a failed
 * task unwinds the host's play code and every later task refuses to start, so a playbook's own `catch`
 * cannot clean up (a `kubeadm reset` after a failed `kubeadm init`). Inside the rescue and always the
 * host's tasks run although it failed and fail-fast is stopping the run: cleanup is not new work.
 *
 * The verdict: the host stays failed (recap, exit status) and its play ends after the cleanup, unless the
 * block says `recovered: true` and the rescue finished; then the failed task counts as `rescued` and the
 * play goes on. Because that is declared up front, a recoverable failure is not reported to fail-fast
 * until the rescue has decided, so a host that recovers never stopped the others.
 */
import type { BlockOptions, HostFailure } from '../playbook.ts';
import { resultWithoutCommands, type TaskResult } from '../result.ts';
import { HostStopped, type HostFlow } from './host-flow.ts';
import type { RunState } from './run-state.ts';

/** What a block needs of the engine (run-playbook.ts hands these in, so this file imports none of it). */
export interface BlockContext {
  host: string;
  /** The play's name, for messages. */
  where: string;
  flow: HostFlow;
  state: RunState;
  check: boolean;
  /** Emits a record (report and audit log) without counting it in the recap. */
  emit(result: TaskResult): void;
  /** Reports an exception of the playbook's code as a failed result; `record`: also as the host's failure. */
  reportError(error: unknown, where: string, record: boolean): TaskResult;
  recordFailure(result: TaskResult): void;
}

export async function runBlock<T, R>(name: string, body: () => Promise<T>, options: BlockOptions<R>, context: BlockContext): Promise<T | R | undefined> {
  const { flow, host } = context;
  const recoverable = options.recovered === true;
  // A failure from before the block (caught by the playbook's own try) is not this block's to clean up.
  const failedBefore = context.state.failedHosts.has(host);
  let caught: { failure: HostFailure; failed: TaskResult } | undefined;
  let value: T | undefined;
  if (recoverable) flow.deferring++;
  try {
    value = await body();
  } catch (error) {
    if (error instanceof HostStopped && error.why === 'stopping') throw error;
    if (error instanceof HostStopped) {
      // An unreachable host cannot run a cleanup.
      if (failedBefore || context.state.unreachableHosts.has(host) || !flow.lastFailure) throw error;
      const failed = flow.lastFailure;
      caught = { failed, failure: { task: failed.task, msg: failed.msg, result: failed } };
    } else {
      // Recorded as the host's failure now unless a recoverable block (this or an enclosing one) decides later.
      const failed = context.reportError(error, `${context.where} / block ${name}`, !recoverable && (flow.deferring === 0 || flow.rescuing > 0));
      flow.lastFailure = failed;
      caught = { failed, failure: { task: failed.task, msg: failed.msg } };
    }
  } finally {
    if (recoverable) flow.deferring--;
  }
  if (caught) return rescue(name, options, context, caught.failure, caught.failed);
  // The body succeeded: `always` runs as ordinary tasks (a failure there fails the host; no rescue for it).
  if (options.always) await options.always();
  return value;
}

async function rescue<R>(name: string, options: BlockOptions<R>, context: BlockContext, failure: HostFailure, failed: TaskResult): Promise<R | undefined> {
  const { flow, host } = context;
  const recoverable = options.recovered === true;
  // The cleanup: this host's tasks run although it failed (see HostFlow.rescuing).
  flow.rescuing++;
  let value: R | undefined;
  let cleanupFailed: string | undefined;
  try {
    // `always` runs even when the rescue failed (as Ansible's); the first failure is the one named.
    for (const [part, run] of [
      ['rescue', options.rescue && (async () => (value = await options.rescue!(failure)))],
      ['always', options.always],
    ] as const) {
      if (!run) continue;
      try {
        await run();
      } catch (error) {
        if (error instanceof HostStopped && error.why === 'stopping') throw error;
        const at =
          error instanceof HostStopped ? (flow.lastFailure?.task ?? part) : context.reportError(error, `${context.where} / ${part} of ${name}`, true).task;
        cleanupFailed ??= at;
      }
    }
  } finally {
    flow.rescuing--;
  }

  const first = failure.msg.split('\n')[0];
  if (recoverable && !cleanupFailed) {
    context.state.recover(host);
    context.emit(
      blockRecord(context, name, 'ok', `rescued: task "${failure.task}" failed (${first}); the rescue ran and ${host} is recovered (recovered: true)`),
    );
    return value;
  }
  // Still failing. A failure an enclosing recoverable block may yet rescue stays unrecorded (its rescue decides).
  if (!context.state.failedHosts.has(host) && (flow.deferring === 0 || flow.rescuing > 0)) context.recordFailure(failed);
  context.emit(
    blockRecord(
      context,
      name,
      'failed',
      cleanupFailed
        ? `task "${failure.task}" failed (${first}); the cleanup failed too, at "${cleanupFailed}"; ${host} stays failed`
        : `task "${failure.task}" failed (${first}); the cleanup ran; ${host} stays failed (the block does not say recovered: true)`,
    ),
  );
  throw new HostStopped('failed');
}

/** The block's own record: in the report and the audit log, not counted in the recap (its tasks are). */
function blockRecord(context: BlockContext, name: string, status: 'ok' | 'failed', msg: string): TaskResult {
  return resultWithoutCommands({
    host: context.host,
    task: name,
    module: 'block',
    status,
    checkMode: context.check,
    msg,
    ...(status === 'failed' && { failure: { kind: 'command-failed' as const, hint: 'see the failed task above; the block ran its cleanup' } }),
  });
}
