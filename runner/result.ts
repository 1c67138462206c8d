/**
 * A task's result is a value with fixed keys, the same shape whether it succeeded, failed, was skipped
 * or could not reach its host. Reporters (terminal, JSON, audit) render results; modules never print.
 */
import type { Diff } from './module.ts';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

/** One command the runner executed (or, in check mode, would have executed). */
export interface CommandRecord {
  /** The script body for people; contains no secret. */
  display: string;
  /** The exact line sent to the host; contains no secret (secrets travel on stdin). */
  line: string;
  /** False in check mode for a changing command: shown, never sent. */
  executed: boolean;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** Output bytes counted and not kept (per-stream or run-wide limit); the texts end with a note saying so. */
  outputDropped?: { stdout: number; stderr: number };
}

/** Why a task failed, kept apart because each needs a different fix. */
export type FailureKind = 'invalid-input' | 'command-failed' | 'unreachable' | 'probe-failed' | 'plan-mismatch' | 'internal';

export interface TaskResult<V = unknown> {
  host: string;
  /** The task's name as the playbook gave it. */
  task: string;
  module: string;
  status: TaskStatus;
  changed: boolean;
  /** True when this result is a check-mode prediction. */
  checkMode: boolean;
  /** In check mode, the module could not predict exactly (an arbitrary command): "would run". */
  uncertain: boolean;
  /** The reason for ok/skipped, the summary of changes, or the failure message with what to do. */
  msg: string;
  /** One line per change made (or predicted). */
  changes: string[];
  diffs: Diff[];
  commands: CommandRecord[];
  /** The last executed command's exit code and output, for playbooks that use them. */
  rc: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /**
   * What the module returned to the playbook (stat's facts, slurp's bytes, waitFor's time waited);
   * absent for modules that return nothing, for a failed task, and when check mode could not know it.
   */
  value?: V;
  failure?: { kind: FailureKind; hint?: string };
  /** Attempts made under the task's `retry` policy (absent without one); the result is the last attempt's. */
  attempts?: number;
  /**
   * The task's own `checkMode` overrode the run's: `always-run` ran for real under --check (marked in the
   * report and the audit log), `always-check` only predicted in a real run.
   */
  checkModeOverride?: 'always-run' | 'always-check';
  /** What the task's `changedWhen`/`failedWhen` decided, when they changed the module's verdict. */
  condition?: string;
  /** The inventory host (or `localhost`, the controller) the task ran on for this one (`delegateTo`). */
  delegatedTo?: string;
  /** A `runOnce` record: the host the shared result came from. */
  sharedFrom?: string;
  /** The least -v count at which the terminal shows this result (debug's `verbosity`); absent: always. */
  verbosity?: number;
}

/**
 * A result that ran no command: a task skipped (tags, a condition), or a record of the engine's own (a
 * block's verdict, a shared runOnce result). Everything about commands and output is empty.
 */
export function resultWithoutCommands(
  fields: Pick<TaskResult, 'host' | 'task' | 'module' | 'status' | 'checkMode' | 'msg'> & Partial<Pick<TaskResult, 'failure'>>,
): TaskResult {
  return { changed: false, uncertain: false, changes: [], diffs: [], commands: [], rc: null, stdout: '', stderr: '', durationMs: 0, ...fields };
}

/**
 * Keeps the tail of long output for messages and the audit log. For text that may hold a secret use
 * Redactor.tail, which masks first: a cut through a secret leaves a piece the redactor cannot recognise.
 */
export function tail(text: string, maxLines = 20, maxChars = 4000): string {
  // Lines are counted in the last maxChars characters only (the answer is the same): splitting the
  // whole of a command's output (megabytes, millions of lines) would cost far more than the output.
  const lines = text.trimEnd().slice(-maxChars).split('\n');
  return lines.slice(-maxLines).join('\n');
}
