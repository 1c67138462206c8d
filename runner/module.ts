/**
 * What a module is: a typed parameter schema and a planner.
 *
 * A planner reads the host through `HostContext` (read-only probes and cached facts), compares what it
 * finds with what was asked, and returns a `Plan`: the commands to run and the diff they will cause, or no
 * changes with a reason. It never runs a changing command itself and never knows whether this is a dry
 * run. The runner alone executes plans; in check mode it reports them and stops. Because the real run and
 * the dry run come from the same plan, the dry run cannot drift from what the real run does.
 */
import type { Command, Script, StreamedStdin } from './command.ts';
import type { Fact } from './facts.ts';
import type { Effect, PredictedView } from './predicted-state.ts';
import type { ObjectSchema, OutputOf } from './schema.ts';

/** The output of a read-only command. A non-zero exit is data for the planner, not a failure. */
export interface ProbeOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ProbeOptions {
  /** Input for the probe; a StreamedStdin (an archive unarchive compares) is streamed, never held per host. */
  stdin?: string | Buffer | StreamedStdin;
  timeoutMs?: number;
  /** The output is a secret (slurp of a secret file): -vv traces show its size, never its text. */
  secretOutput?: boolean;
  /**
   * The part of the output a saved plan's probe fingerprint covers, for output that changes by itself
   * (the host's clock); unset: all of it (engine/probe-fingerprint.ts).
   */
  fingerprint?(output: ProbeOutput): unknown;
  /**
   * The probe only describes what a change would leave for a dry run's later tasks (apt reading the
   * packages its install would bring, made only when `predicted.recording`); it decides nothing in the
   * plan, so a saved plan's fingerprint leaves it out: the apply, which records nothing, does not make it.
   */
  effectsOnly?: boolean;
}

/** The planner's view of one host: read-only, and the same in check mode and in a real run. */
export interface HostContext {
  /** The host's inventory name. */
  readonly name: string;
  /** The host's merged inventory variables. */
  readonly vars: Readonly<Record<string, unknown>>;
  /** A named fact, probed once per host per run and cached until a change on the host may affect it. */
  fact<T>(fact: Fact<T>): Promise<T>;
  /**
   * Runs a read-only script (under set -eu, with the task's become) and returns its output whatever the
   * exit code. For probes that are not worth naming as facts; prefer one probe command per module.
   * A lost connection or a timeout still throws.
   */
  probe(script: Script, options?: ProbeOptions): Promise<ProbeOutput>;
  /**
   * In a dry run, what the earlier tasks' planned changes would have left on this host (see
   * runner/predicted-state.ts). The typed probes (file state, facts, unit and mount probes) consult it;
   * in a real run it predicts nothing.
   */
  readonly predicted: PredictedView;
}

/** A change shown to people: a file's text before and after, or a setting's value before and after. */
export type Diff =
  | { kind: 'file'; path: string; before: string | null; after: string | null }
  | { kind: 'value'; name: string; before: string | null; after: string | null };

/** One step of a plan: what it does, in words and as a diff, and the commands that do it. */
export interface Change {
  /**
   * One line for people, in the imperative: "set net.ipv4.ip_forward 0 → 1", "update /etc/hosts (…), adding
   * the line", "check that nginx.service exists by then". A dry run's report puts "would" before it (the
   * terminal, runner/report/terminal.ts), so a noun phrase ("mode of /x 0644 → 0600") or a participle
   * ("line replaced") would not read; the apply's report shows it as it is.
   */
  summary: string;
  diff?: Diff;
  commands: Command[];
  /**
   * What the host is like after this change, for the later tasks of a dry run (runner/predicted-state.ts).
   * Undefined: the module does not say, so the dry run treats everything as unknowable after it; `[]`:
   * nothing a probe reads changes (a refresh of package lists).
   */
  effects?: Effect[];
}

/** What a command did, as the plan's `interpret` sees it. */
export interface CommandOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The verdict of a plan's `interpret` after its commands ran. */
export interface Interpretation<V = unknown> {
  /** Overrides whether the task changed something (command's `changedWhen`). */
  changed?: boolean;
  /** A failure message makes the task fail (command's `failedWhen`). */
  failed?: string;
  /**
   * Output to show after the failure message, cut to its last `lines` lines by the runner. The module
   * never cuts it itself: the runner masks secrets first, since a cut through a multi-line secret leaves
   * pieces (a short last line of a key) that no redactor can recognise.
   */
  failedOutput?: { text: string; lines: number };
  /** What the task returns to the playbook, read from the commands' output (waitFor's time waited). */
  value?: V;
  /** The task's message instead of the changes' summaries ("port 6443 open after 3.2 s"). */
  reason?: string;
}

/** What a module wants done on one host; `V` is the value it returns to the playbook (stat's facts). */
export interface Plan<V = unknown> {
  /** Empty: the host is already as asked. */
  changes: Change[];
  /** Why nothing is to be done, or a summary of what was found ("swap: none active"). */
  reason?: string;
  /**
   * For modules whose outcome is only known after running (command, shell): decide changed/failed from
   * the outcomes of the commands, in order. Not called in check mode.
   */
  interpret?: (outcomes: CommandOutcome[]) => Interpretation<V>;
  /**
   * True when the plan's commands only read (a command task marked readOnly): the runner then runs them
   * in check mode too, and the task reports ok, never changed.
   */
  readOnly?: boolean;
  /**
   * Check mode cannot know the outcome exactly (an arbitrary command): reported as "would run" rather
   * than as a precise change.
   */
  uncertain?: boolean;
  /**
   * What the task returns to the playbook when the probe alone tells it (stat, slurp): in the task's
   * result as `value`, and in the audit log as its JSON form (a value with bytes or a secret gives a
   * `toJSON` that leaves them out). A Secret anywhere in it is masked for the rest of the run.
   */
  value?: V;
  /**
   * A read-only plan whose failure in check mode may only mean that earlier tasks did not really run
   * (a wait for a port a predicted task would open): after a change predicted anywhere in the run, a
   * dry run does not wait, and a failure while it waited is reported as uncertain ("would run", naming
   * that change). With no change predicted, it fails as the real run would.
   */
  uncertainIfFailsInCheck?: boolean;
  /**
   * The least -v count at which the terminal shows the task (debug's `verbosity`); the audit log and the
   * JSON events record it whatever the count.
   */
  verbosity?: number;
}

/** A module: one file in modules/, registered by name in modules/registry.ts. */
export interface Module<S extends ObjectSchema<any> = ObjectSchema<any>, V = unknown> {
  /** The name used in playbooks (`t.sysctl`) and on the CLI (`run module … sysctl`). */
  readonly name: string;
  /** One line for `run module --help`. */
  readonly summary: string;
  /** Parameters: validated at run time, typed at compile time. */
  readonly params: S;
  /** Probes the host and returns what to do. Must not change anything. */
  plan(params: OutputOf<S>, host: HostContext): Promise<Plan<V>>;
  /**
   * Parameters that hold file content (copy's `content`): the audit log and the JSON events record their
   * sha256 and size, never the bytes, which can be megabytes per host.
   */
  readonly contentParams?: readonly string[];
}

/** The type of value a module returns to the playbook (`unknown` for modules that return none). */
export type ValueOf<M> = M extends Module<any, infer V> ? V : unknown;

/** Declares a module with its parameter types inferred from the schema (and its value type from the plan). */
export function defineModule<S extends ObjectSchema<any>, V = unknown>(module: Module<S, V>): Module<S, V> {
  return module;
}

/** A plan with nothing to do. */
export function noChange<V = unknown>(reason: string): Plan<V> {
  return { changes: [], reason };
}

/** Joins the plans of composed modules (a template writes a file through planFileContent) into one. */
export function combinePlans(...plans: Plan[]): Plan {
  const changes = plans.flatMap((plan) => plan.changes);
  const reasons = plans.map((plan) => plan.reason).filter((reason): reason is string => Boolean(reason));
  return { changes, reason: reasons.join('; ') || undefined };
}
