/**
 * Everything a run does is told as typed events. Reporters (terminal, JSON lines, audit log) are
 * consumers of this one stream; none of them is told anything another is not.
 *
 * Every event carries the run id and the time; host- and task-level events carry those too. Adding a kind
 * here is a compile error in every formatter that does not handle it (they switch exhaustively).
 */
import type { TaskResult } from './result.ts';

export type RunMode = 'apply' | 'check';

/** Who ran what, where: the head of the audit log. */
export interface RunStartInfo {
  operator: string;
  controller: string;
  argv: string[];
  cwd: string;
  /** What is run: a playbook path, or `exec`/`module` for ad-hoc runs. */
  runKind: 'playbook' | 'exec' | 'module';
  playbook?: { path: string; sha256: string };
  git?: { commit: string; dirty: boolean };
  inventory: { path: string; sha256: string } | null;
  /**
   * An ad-hoc run's one task: the module (`shell` for `exec`) and its parameters as given (exec: `{ cmd }`;
   * module: the key=value words, secret ones masked), and --become (true, or the --become-user); what
   * `audit merge` compares between shards.
   */
  adhoc?: { module: string; params: Record<string, unknown>; become?: string | true };
  mode: RunMode;
  /** --detect-drift (with --check): the exit status says whether changes are pending. Absent: not given. */
  detectDrift?: true;
  /** --keep-going on a playbook run: a failed host did not stop the others. Absent: not given (ad-hoc runs always go on). */
  keepGoing?: true;
  diff: boolean;
  limit?: string;
  /** Extra variables (-e) with the argument that set each; secret-named values are Secrets (masked). */
  extraVars?: Record<string, { value: unknown; from: string }>;
  tags?: string[];
  skipTags?: string[];
  /** --shard: which part of the selected hosts this run is (cli/shard.ts), for `audit merge`. */
  shard?: ShardInfo;
  /** `run apply PLAN`: the saved plan this run is held to (sha256 of the file; the dry run that made it). */
  plan?: { path: string; sha256: string; createdAt: string; runId: string };
}

/** A shard run's part (index of count, 1-based) and the whole selection it is a part of. */
/** The most shards a run may be split into (--shard I/N, N at most this); a merge refuses a log claiming more. */
export const MAX_SHARDS = 10_000;

export interface ShardInfo {
  index: number;
  count: number;
  /** How many hosts the run selected before sharding (patterns and --limit). */
  selectedHosts: number;
  /** sha256 of the selected host names, sorted, one per line: equal in every shard of one run. */
  selectedDigest: string;
  /** How many of them this shard runs on. */
  hosts: number;
}

/**
 * The exit status of `--check --detect-drift` when changes are pending and nothing failed; unused by
 * everything else (0 ok, 1 usage, 2 failed, 3 an incomplete audit log, 4 unreachable, 5 taken by the
 * audit signing and copying work for "ok, but the audit trail is not whole", 130/143 signals).
 */
export const DRIFT_EXIT_STATUS = 6;

export interface RecapLine {
  host: string;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  /** Failed tasks whose failure the playbook ignored (ignoreErrors); not counted in `failed`, as in Ansible. */
  ignored: number;
  /** Tasks not started on this host because the run stopped (fail-fast or Ctrl-C). */
  notRun: boolean;
  /** Failures a block's rescue recovered from (`recovered: true`): not counted in `failed`, as Ansible's `rescued`. */
  rescued?: number;
}

export type RunEvent =
  | { kind: 'run-start'; info: RunStartInfo; hosts: string[] }
  | { kind: 'play-start'; play: string; hosts: string[]; batch: number; batches: number }
  | { kind: 'task-start'; host: string; task: string; module: string }
  | {
      kind: 'task-result';
      result: TaskResult;
      params: unknown;
      handler: boolean /** The output was already shown (ad-hoc exec): the terminal prints only failures. */;
      echoed?: boolean /** Skipped by --tags/--skip-tags: the terminal shows these only with -v. */;
      byTags?: boolean /** A failure the playbook ignores (ignoreErrors): counted as ignored, not failed. */;
      ignored?: boolean;
      /** The task's key in a saved plan (`1.2 write motd`), when the run records or applies one. */
      key?: string;
    }
  /** An attempt of a task with a retry policy did not succeed; another follows after `delaySeconds`. */
  | {
      kind: 'task-retry';
      host: string;
      task: string;
      module: string;
      attempt: number;
      attempts: number;
      delaySeconds: number;
      status: TaskResult['status'];
      msg: string;
    }
  /** -vv/-vvv detail (a probe and its output; a connect attempt, a keepalive): shown, not audited. */
  | { kind: 'trace'; host: string; level: 2 | 3; message: string; detail?: string }
  | { kind: 'host-unreachable'; host: string; message: string; hint?: string }
  | { kind: 'host-output'; host: string; exitCode: number | null; stdout: string; stderr: string }
  | { kind: 'warning'; message: string; host?: string }
  | { kind: 'stopping'; reason: StopReason; message: string }
  | { kind: 'play-end'; play: string }
  | { kind: 'run-end'; recap: RecapLine[]; exitCode: number; interrupted: boolean; durationMs: number };

type Stamped = { runId: string; time: string };

/**
 * An event's frame: what kind it is, the run's id and the time, all drover's own text. Outputs redact
 * everything else; masked, a secret that happens to be text in the frame (`2026`, in every timestamp)
 * broke the run id and the time and gave the secret away.
 */
export const EVENT_FRAME_KEYS: ReadonlySet<string> = new Set(['kind', 'runId', 'time']);
export type StampedEvent = RunEvent & Stamped;

export type EventKind = RunEvent['kind'];

/** A consumer of events; `close` is awaited once at the end of the run (flush files, stop spinners). */
export interface Reporter {
  handle(event: StampedEvent): void;
  close?(): Promise<void>;
}

/** Fans events out to reporters, stamping each with the run id and the injected clock. */
/**
 * Why the run stops. `audit-failed`: the audit log could not be written (a full disk), and a run that
 * cannot be audited must not go on changing hosts.
 */
export type StopReason = 'fail-fast' | 'interrupted' | 'max-fail-percentage' | 'audit-failed';

export class EventBus {
  constructor(
    readonly runId: string,
    private readonly reporters: Reporter[],
    private readonly clock: () => Date = () => new Date(),
  ) {}

  emit(event: RunEvent): void {
    const stamped = { ...event, runId: this.runId, time: this.clock().toISOString() } as StampedEvent;
    for (const reporter of this.reporters) reporter.handle(stamped);
  }

  async close(): Promise<void> {
    for (const reporter of this.reporters) await reporter.close?.();
  }
}
