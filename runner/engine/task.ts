/**
 * Runs one task on one host: validate the parameters, plan, then either report the plan (check mode)
 * or execute it. This is the only place where check mode and the real run part ways, and they part
 * after the same plan, so a dry run predicts exactly what the real run does.
 */
import { InvalidShellValueError, SecretInArgvError, type Become, type Script } from '../command.ts';
import { ContentSource } from '../content-source.ts';
import { FactError } from '../facts.ts';
import { ModuleError } from '../module-error.ts';
import type { CommandOutcome, Module, Plan } from '../module.ts';
import { ALL_DOMAINS, NOTHING_PREDICTED, type Effect, type Unknowable } from '../predicted-state.ts';
import type { CommandRecord, FailureKind, TaskResult } from '../result.ts';
import { SchemaError } from '../schema.ts';
import { Secret, type Redactor } from '../secret.ts';
import { UnreachableError } from '../transport/transport.ts';
import { BecomeRefusedError } from './become-refused.ts';
import { DownloadError } from './download.ts';
import { creatorFact, needsCreator, withCreator } from './creator.ts';
import { ProbeError, type HostSession } from './host-session.ts';
import { PREDICTED_FINGERPRINT, stdinDigest, type PlannedTask } from '../planned-task.ts';
import { ProbeFingerprint } from './probe-fingerprint.ts';

export interface TaskSpec {
  /** The task's name as the playbook gives it. */
  name: string;
  module: Module;
  /** Parameters as written (validated here by the module's schema). */
  params: unknown;
  become: Become | undefined;
  /** Parameters came from text (`run module … key=value`): coerce "true", "10", "a,b". */
  paramsFromText?: boolean;
  /** The task's stdout is a secret (a join command): it is masked in every report. */
  secretOutput?: boolean;
  /** Saved plans: see TaskRunSettings.review; the caller applies it to the first attempt only. */
  review?: TaskRunSettings['review'];
}

export interface TaskRunSettings {
  check: boolean;
  redactor: Redactor;
  clock: () => number;
  /**
   * Saved plans: called once the task is planned, before anything of it runs; a message back fails the
   * task with it (an apply whose fresh plan differs from the reviewed one). Unset: no review.
   */
  review?: (planned: Omit<PlannedTask, 'key'>) => string | undefined;
  /** A dry run's newest predicted (not made) change on any host, if any (RunState.lastPrediction). */
  lastPrediction?: () => { host: string; task: string } | undefined;
}

/** What a task produced, with its parameters as validated (for the audit record). */
export interface TaskRun {
  result: TaskResult;
  params: unknown;
}

export async function runTask(session: HostSession, spec: TaskSpec, settings: TaskRunSettings): Promise<TaskRun> {
  const run = await planAndRun(session, spec, settings);
  return { ...run, params: recordedParams(spec.module, run.params) };
}

/**
 * Parameters as the audit log and events record them: file content (the module's `contentParams`)
 * becomes `{ sha256, size }`; secrets stay Secrets (masked when written); everything else is as given.
 */
export function recordedParams(module: Module, params: unknown): unknown {
  if (!module.contentParams?.length || !params || typeof params !== 'object' || Array.isArray(params)) return params;
  const out: Record<string, unknown> = { ...(params as Record<string, unknown>) };
  for (const key of module.contentParams) {
    const value = out[key];
    const source =
      typeof value === 'string'
        ? ContentSource.fromText(value)
        : Buffer.isBuffer(value)
          ? ContentSource.fromBytes(value)
          : value instanceof ContentSource
            ? value
            : undefined;
    if (source) out[key] = { sha256: source.sha256, size: source.size };
  }
  return out;
}

async function planAndRun(session: HostSession, spec: TaskSpec, settings: TaskRunSettings): Promise<TaskRun> {
  const started = settings.clock();
  const base = { host: session.name, task: spec.name, module: spec.module.name, checkMode: settings.check };
  const finish = (fields: Partial<TaskResult> & Pick<TaskResult, 'status' | 'msg'>): TaskResult => ({
    ...base,
    changed: false,
    uncertain: false,
    changes: [],
    diffs: [],
    commands: [],
    rc: null,
    stdout: '',
    stderr: '',
    durationMs: settings.clock() - started,
    ...fields,
  });

  let params: ReturnType<Module['params']['parse']>;
  try {
    params = spec.module.params.parse(spec.params, '', { fromText: spec.paramsFromText });
  } catch (error) {
    if (!(error instanceof SchemaError)) throw error;
    return {
      params: spec.params,
      result: finish({
        status: 'failed',
        msg: `invalid parameter for ${spec.module.name}: ${error.message}`,
        failure: { kind: 'invalid-input', hint: "fix the task's parameters; see `run module --help` for each module's parameters" },
      }),
    };
  }
  registerSecretParams(params, settings.redactor);

  // A dry run plans against the host as its earlier tasks would have left it (runner/predicted-state.ts).
  const predicted = settings.check ? session.predicted.view() : NOTHING_PREDICTED;
  let plan: Plan;
  const probed = settings.review ? new ProbeFingerprint(session.context(spec.become, predicted)) : undefined;
  try {
    plan = await spec.module.plan(params, probed?.context ?? session.context(spec.become, predicted));
  } catch (error) {
    if (predicted.unknowns.length > 0) {
      // Planned from a host an earlier task may change in ways drover cannot know: the failure may not be
      // one. What this task would then do is unknown too.
      session.predicted.record(spec.name, [unknowable(spec.name)]);
      const failed = failureFrom(error, "while reading the host's state");
      return { params, result: finish({ status: 'changed', changed: true, uncertain: true, msg: `${cannotKnow(predicted.unknowns)}: ${failed.msg}` }) };
    }
    return { params, result: finish(failureFrom(error, "while reading the host's state")) };
  }

  // A value's Secrets (slurp's secret content) are masked from here on, before any report can show them.
  if (plan.value !== undefined) registerSecretParams(plan.value, settings.redactor);
  const value = plan.value !== undefined ? { value: plan.value } : {};

  if (settings.review && probed) {
    // A plan made from predicted state (what earlier reviewed tasks would leave) is fingerprinted as such:
    // the apply finds those tasks' real results instead, which its commands and diffs are compared against.
    const fingerprint = predicted.consulted ? `${PREDICTED_FINGERPRINT}${probed.digest()}` : probed.digest();
    const difference = settings.review(plannedTask(spec, plan, session, settings.redactor, fingerprint));
    if (difference) {
      return {
        params,
        result: finish({
          status: 'failed',
          msg: difference,
          failure: { kind: 'plan-mismatch', hint: 'review the host and make a new plan (--check --save-plan)' },
        }),
      };
    }
  }

  const summaries = plan.changes.map((change) => change.summary);
  const diffs = plan.changes.flatMap((change) => (change.diff ? [change.diff] : []));
  const commands = plan.changes.flatMap((change) => change.commands);
  /** A dry run's answer without running anything: changed as planned, with the commands it would send. */
  const predictedResult = (msg: string, uncertain: boolean, extra: Partial<TaskResult> = {}): TaskRun => ({
    params,
    result: finish({
      status: 'changed',
      changed: true,
      uncertain,
      msg,
      changes: summaries,
      diffs,
      commands: commands.map((command) => session.preview(command, spec.become)),
      ...extra,
    }),
  });

  if (settings.check && !plan.readOnly && predicted.unknowns.length > 0) {
    // The plan was made from what the host is now, and an earlier task may change that in ways drover
    // cannot know: reported as "would run", naming that task, whether or not the plan has changes.
    // A value read from the host as it is now (stat) still reaches the playbook; the result says it is uncertain.
    await recordPredictions(session, spec, plan);
    return predictedResult(
      `${cannotKnow(predicted.unknowns)}: ${summaries.length > 0 ? summaries.join('; ') : `as the host is now, ${plan.reason ?? 'nothing to do'}`}`,
      true,
      value,
    );
  }

  if (plan.changes.length === 0) {
    const verbosity = plan.verbosity !== undefined ? { verbosity: plan.verbosity } : {};
    return { params, result: finish({ status: 'ok', msg: plan.reason ?? 'already as asked', ...value, ...verbosity }) };
  }

  if (settings.check && !plan.readOnly) {
    await recordPredictions(session, spec, plan);
    return predictedResult(plan.uncertain ? `would run: ${summaries.join('; ')}` : summaries.join('; '), Boolean(plan.uncertain));
  }

  const prediction = settings.check && plan.uncertainIfFailsInCheck ? settings.lastPrediction?.() : undefined;
  if (prediction) {
    // A wait in a dry run after a change that was only predicted: what it waits for may be what that change
    // would bring, which will not come; waiting out the whole timeout would tell nothing.
    return predictedResult(`${dependsOnPrediction(prediction, session.name, 'what this waits for')}: ${summaries.join('; ')}`, true);
  }

  const records: CommandRecord[] = [];
  const outcomes: CommandOutcome[] = [];
  let changingRan = false;
  let changingDone = 0;
  try {
    for (const command of commands) {
      const record = command.reboot ? await session.runReboot({ ...command, reboot: command.reboot }, spec.become) : await session.run(command, spec.become);
      records.push(record);
      // Registered before any message is built from it: a failing command's output is secret too.
      if (spec.secretOutput) settings.redactor.addOutput(record.stdout);
      if (!command.readOnly) changingRan = true;
      const ok = record.exitCode !== null && (command.okExitCodes ?? [0]).includes(record.exitCode);
      if (!ok) {
        const diagnosis = command.diagnose ? await diagnose(session, command.diagnose, spec.become, settings.redactor) : '';
        if (changingRan) session.changedByTask(spec.name);
        return {
          params,
          result: finish({
            status: 'failed',
            changed: changingDone > 0,
            msg: commandFailureMessage(record, command.description, diagnosis, settings.redactor),
            changes: summaries,
            diffs,
            commands: records,
            ...lastOutput(record),
            failure: { kind: 'command-failed', hint: record.timedOut ? "raise the task's timeout if the command needs longer" : undefined },
          }),
        };
      }
      if (!command.readOnly) changingDone++;
      outcomes.push({ exitCode: record.exitCode ?? 0, stdout: record.stdout, stderr: record.stderr });
    }
  } catch (error) {
    if (changingRan) session.changedByTask(spec.name);
    return { params, result: finish({ ...failureFrom(error, 'while running'), commands: records, changes: summaries, diffs }) };
  }
  if (changingRan) session.changedByTask(spec.name);

  const last = records[records.length - 1];
  const verdict = plan.interpret?.(outcomes) ?? {};
  const changed = plan.readOnly ? false : (verdict.changed ?? true);
  if (verdict.value !== undefined) registerSecretParams(verdict.value, settings.redactor);
  const returned = verdict.value !== undefined ? { value: verdict.value } : value;
  // What this waited for may be what a task would have made, had the dry run run it: a change some host
  // predicted while this waited. With no change predicted anywhere in the run, the real run would find
  // the same and fail, so the dry run fails too (an ad-hoc wait, a wait before any change).
  const predictedMeanwhile = verdict.failed && settings.check && plan.uncertainIfFailsInCheck ? settings.lastPrediction?.() : undefined;
  if (predictedMeanwhile) {
    return {
      params,
      result: finish({
        status: 'changed',
        changed: true,
        uncertain: true,
        msg: `${dependsOnPrediction(predictedMeanwhile, session.name, 'what this waits for')}: ${verdict.failed}`,
        changes: summaries,
        commands: records,
        ...lastOutput(last),
      }),
    };
  }
  if (verdict.failed) {
    return {
      params,
      result: finish({
        status: 'failed',
        changed,
        msg: withOutputTail(verdict.failed, verdict.failedOutput, settings.redactor),
        changes: summaries,
        diffs,
        commands: records,
        ...lastOutput(last),
        failure: { kind: 'command-failed' },
      }),
    };
  }
  return {
    params,
    result: finish({
      status: changed ? 'changed' : 'ok',
      changed,
      msg: verdict.reason ?? summaries.join('; '),
      changes: changed ? summaries : [],
      diffs: changed ? diffs : [],
      commands: records,
      ...lastOutput(last),
      ...returned,
    }),
  };
}

/** The task's plan as a saved plan records it: what an apply compares before it runs the task. */
function plannedTask(spec: TaskSpec, plan: Plan, session: HostSession, redactor: Redactor, fingerprint: string): Omit<PlannedTask, 'key'> {
  const changing = plan.changes.length > 0 && !plan.readOnly;
  const commands = plan.changes.flatMap((change) => change.commands);
  return {
    task: spec.name,
    module: spec.module.name,
    status: changing ? 'changed' : 'ok',
    uncertain: changing && Boolean(plan.uncertain),
    changes: redactor.redactValue(plan.changes.map((change) => change.summary)) as string[],
    commands: commands.map((command) => redactor.redact(session.preview(command, spec.become).display)),
    stdin: commands.map(stdinDigest),
    diffs: redactor.redactValue(plan.changes.flatMap((change) => (change.diff ? [change.diff] : []))) as PlannedTask['diffs'],
    fingerprint,
  };
}

/**
 * "would run (cannot know: …)" for a dry-run task whose outcome hangs on a change the dry run only predicted
 * (RunState.lastPrediction), on this host or another.
 */
export function dependsOnPrediction(prediction: { host: string; task: string }, host: string, what: string): string {
  const where = prediction.host === host ? '' : ` on ${prediction.host}`;
  return `would run (cannot know: depends on ${JSON.stringify(prediction.task)}${where}, which would change ${what} first)`;
}

/** The message of a dry-run task that read state an unpredictable earlier task may change. */
function cannotKnow(unknowns: readonly Unknowable[]): string {
  return `would run (cannot know: depends on ${unknowns.map((item) => `${JSON.stringify(item.by)}, which may change ${item.what}`).join('; ')})`;
}

/** After a task drover cannot predict, everything it could touch is unknown for the rest of the dry run. */
function unknowable(task: string): Effect {
  return { kind: 'unknown', domains: ALL_DOMAINS, what: `what task ${JSON.stringify(task)} does` };
}

/**
 * Check mode: carries each planned change forward as the host's predicted state. A change whose module
 * declares no effects could have changed anything, so it leaves everything unknown.
 */
async function recordPredictions(session: HostSession, spec: TaskSpec, plan: Plan): Promise<void> {
  for (const change of plan.changes) {
    let effects = change.effects ?? [unknowable(spec.name)];
    if (needsCreator(effects)) {
      try {
        effects = withCreator(effects, await session.context(spec.become).fact(creatorFact));
      } catch {
        // Without the creator's id and umask, a new path's mode and owner stay unpredicted (a later task asking depends on this one).
      }
    }
    session.predicted.record(spec.name, effects);
  }
}

function lastOutput(record: CommandRecord | undefined): Pick<TaskResult, 'rc' | 'stdout' | 'stderr'> {
  return { rc: record?.exitCode ?? null, stdout: record?.stdout ?? '', stderr: record?.stderr ?? '' };
}

function failureFrom(error: unknown, when: string): Pick<TaskResult, 'status' | 'msg' | 'failure'> {
  if (error instanceof UnreachableError) {
    return { status: 'unreachable', msg: error.message, failure: { kind: 'unreachable', hint: error.hint } };
  }
  if (error instanceof SecretInArgvError) {
    return { status: 'failed', msg: error.message, failure: { kind: 'invalid-input', hint: SecretInArgvError.hint } };
  }
  if (error instanceof InvalidShellValueError) {
    return { status: 'failed', msg: error.message, failure: { kind: 'invalid-input', hint: error.hint } };
  }
  if (error instanceof ModuleError) {
    return { status: 'failed', msg: error.message, failure: { kind: 'invalid-input', hint: error.hint } };
  }
  if (error instanceof DownloadError) {
    return { status: 'failed', msg: error.message, failure: { kind: 'command-failed', hint: error.hint } };
  }
  if (error instanceof BecomeRefusedError) {
    return { status: 'failed', msg: error.message, failure: { kind: 'invalid-input', hint: error.hint } };
  }
  if (error instanceof FactError) {
    return {
      status: 'failed',
      msg: error.message,
      failure: {
        kind: 'probe-failed',
        hint: 'the host answered a probe in a way drover does not understand: check the host, and report it if the host is healthy',
      },
    };
  }
  if (error instanceof ProbeError) {
    return { status: 'failed', msg: error.message, failure: { kind: 'probe-failed', hint: 'check that the host is not overloaded; a probe only reads' } };
  }
  const message = error instanceof Error ? error.message : String(error);
  const kind: FailureKind = 'internal';
  return {
    status: 'failed',
    msg: `unexpected error ${when}: ${message}`,
    failure: { kind, hint: 'this is a bug in the module or in drover: please report it with the audit log' },
  };
}

/**
 * A failure message followed by the last lines of some output, masked before it is cut (a cut through a
 * secret leaves a piece no redactor recognises): `reason: line` for one line, `reason:` and the lines below.
 */
export function withOutputTail(reason: string, output: { text: string; lines: number } | undefined, redactor: Redactor): string {
  const lines = output ? redactor.tail(output.text.trim(), output.lines) : '';
  if (!lines) return reason;
  return `${reason}${lines.includes('\n') ? ':\n' : ': '}${lines}`;
}

/** The output is masked before it is cut: a cut through a secret leaves a piece no redactor recognises. */
function commandFailureMessage(record: CommandRecord, description: string | undefined, diagnosis: string, redactor: Redactor): string {
  const what = description ?? record.display.split('\n').find((line) => line.trim() !== '') ?? record.display;
  const status = record.timedOut ? 'timed out' : record.exitCode === null ? 'was killed' : `exited with ${record.exitCode}`;
  const stderr = redactor.tail(record.stderr, 15) || redactor.tail(record.stdout, 15);
  return [`command ${status}: ${what}`, stderr && `stderr:\n${stderr}`, diagnosis && `diagnosis:\n${diagnosis}`].filter(Boolean).join('\n');
}

async function diagnose(session: HostSession, script: Script, become: Become | undefined, redactor: Redactor): Promise<string> {
  try {
    const record = await session.run({ run: script, readOnly: true, timeoutMs: 30_000 }, become);
    return redactor.tail(`${record.stdout}${record.stderr}`, 20);
  } catch {
    return '';
  }
}

function registerSecretParams(value: unknown, redactor: Redactor): void {
  // Bytes hold no Secret (and a slurped file's Buffer would be walked byte by byte).
  if (Buffer.isBuffer(value)) return;
  if (value instanceof Secret) redactor.add(value);
  else if (Array.isArray(value)) for (const item of value) registerSecretParams(item, redactor);
  else if (value && typeof value === 'object') for (const item of Object.values(value)) registerSecretParams(item, redactor);
}
