/**
 * The playbook API. A playbook is a TypeScript file whose default export is made with `definePlaybook`:
 *
 * @example
 *   import { definePlaybook, s } from '../runner/playbook.ts';
 *   const book = definePlaybook({
 *     name: 'web',
 *     vars: s.object({ greeting: s.string().default('hello') }),
 *   });
 *   const web = book.play({
 *     name: 'greet',
 *     hosts: 'web',
 *     become: true,
 *     handlers: { 'reload nginx': (t) => t.systemd('reload nginx', { name: 'nginx', state: 'reloaded' }).then(() => {}) },
 *     tasks: async (t, host) => {
 *       await t.copy('motd', { dest: '/etc/motd', content: `${host.vars.greeting}\n` }, { notify: 'reload nginx' });
 *     },
 *   });
 *   export default book.playbook([web]);
 *
 * A play's `tasks` is plain TypeScript run once per host: conditions are `if`, loops are `for`, values
 * from earlier tasks are return values. Every module call is typed from modules/registry.ts, so a
 * misspelt parameter is a compile error. A play's return value per host is available to later plays via
 * `ctx.outputs(play)`.
 */
import { resolve } from 'node:path';
import type { Become } from './command.ts';
import type { TaskResult } from './result.ts';
import type { Module, ValueOf } from './module.ts';
import { s, type InputOf, type ObjectSchema, type OutputOf } from './schema.ts';
import type { Registry } from '../modules/registry.ts';
import type { OsFacts } from '../modules/facts/os.ts';
import type { Fact } from './facts.ts';
import { checkPlay, checkPlays } from './play-options.ts';

export { s } from './schema.ts';
export { secret, Secret } from './secret.ts';

/** `true` becomes root; a string becomes that user; an object gives user and password. */
export type BecomeOption = boolean | string | Become;

/** Options every task accepts beside its module's parameters. */
export interface TaskOptions<H extends string = string> {
  /** Tags for `--tags` / `--skip-tags`, added to the play's tags. `always` runs unless skipped by name. */
  tags?: string[];
  become?: BecomeOption;
  /**
   * Handlers to run at the end of the play on this host, once, if this task changed something: a handler's
   * name, or a topic handlers `listen` to (every handler listening to it runs). Never lost: see `handlers`.
   */
  notify?: H | H[];
  /** Return a failed result instead of stopping this host (the run's fail-fast still counts it). */
  ignoreErrors?: boolean;
  /**
   * The task's output is a secret (a join command): for the rest of the run the output as a whole, and each
   * line and word of it that looks like key material (a token, a hash, a base64 line), are masked in the
   * terminal, JSON and audit log. Its plain words (`root`, `/etc`) are not: they are not the secret.
   */
  secretOutput?: boolean;
  /**
   * Run the task again until it succeeds (and `until` holds), Ansible's retries/delay/until. Each attempt
   * is a `task-retry` event (report and audit log); the last attempt's result is the task's result. In
   * check mode a task that would change is not retried: it did not run, so there is nothing to wait for.
   */
  retry?: RetryPolicy;
  /**
   * Decide "changed" from the result (`false` = never changed, as Ansible's `changed_when: false`). Applied
   * to a result that really ran (not to a check-mode prediction of a change), for every module.
   */
  changedWhen?: boolean | ((result: TaskResult) => boolean);
  /**
   * Decide "failed" from the result: `true` fails a task the module found fine; `false` accepts a failed
   * command (a failure of kind `command-failed`; invalid input, a failed probe or an unreachable host stay failures).
   */
  failedWhen?: boolean | ((result: TaskResult) => boolean);
  /**
   * Override --check for this task, Ansible's `check_mode`: `'always-run'` runs it for real even under
   * --check (for read-only tasks whose output later tasks need; marked in the report and audit log),
   * `'always-check'` only predicts, even in a real run (its would-be change notifies no handler).
   */
  checkMode?: 'always-run' | 'always-check';
  /**
   * Run this task on another inventory host, or on the controller (`'local'`), on behalf of this one
   * (Ansible's delegate_to / local_action), with that host's connection and become settings. The result
   * is this host's (its recap, its failure), and the report and audit log name both hosts.
   */
  delegateTo?: string;
  /**
   * Results of `t.runOnce` this task uses (or any `Shared` the playbook makes for a value another host's
   * task produces, such as a token made on the control plane). In check mode, when one is unknown (the code
   * that makes it would have changed something), the task is reported "would run" without being planned: a
   * prediction from a made-up value would be a guess. In a real run a shared result is always known.
   */
  uses?: Shared<unknown> | Array<Shared<unknown>>;
}

/** The result of `t.runOnce`, the same object on every host of the play. */
export interface Shared<T> {
  /** The run-once name (the key every host asks for it by). */
  readonly name: string;
  /** The host it ran on. */
  readonly host: string;
  /**
   * False only in check mode, when the run-once code would have changed something: `value` is then what
   * the code computed from predictions, not what a real run would produce. Tasks given it in `uses` are
   * reported "would run".
   */
  readonly known: boolean;
  readonly value: T;
}

/** Where `t.runOnce` runs: the first of the play's hosts unless the playbook names one. */
export interface RunOnceOptions {
  /** One of the play's hosts (in the current batch, with `serial`). */
  host?: string;
}

/** A host's failure as a rescue sees it: the task that failed and its message (its result when a task failed). */
export interface HostFailure {
  task: string;
  msg: string;
  /** The failed task's result; absent when the playbook's own code threw. */
  result?: TaskResult;
}

/** Ansible's block/rescue/always for `t.block`. */
export interface BlockOptions<R> {
  /** Runs on this host after a task of the block failed (or its code threw), e.g. `kubeadm reset`. */
  rescue?: (failure: HostFailure) => Promise<R>;
  /** Runs after the block, whether it failed or not (not when another host's failure stopped the run first). */
  always?: () => Promise<void>;
  /**
   * The host is healthy again once the rescue (and always) finished without failing: it is not failed in
   * the recap or the exit status, it goes on with the play, and its failure did not stop the other hosts
   * (fail-fast waits for the rescue's verdict). Without it the host stays failed and stops after the cleanup.
   */
  recovered?: boolean;
}

/** Attempts (≥ 1, the first run included), the pause between them, and the condition to stop on. */
export interface RetryPolicy {
  attempts: number;
  delaySeconds?: number;
  /** Done when this holds on a result that did not fail; default: done when the task did not fail. */
  until?: (result: TaskResult) => boolean;
}

type ModuleCall<M extends Module, H extends string> = (name: string, params: InputOf<M['params']>, options?: TaskOptions<H>) => Promise<TaskResult<ValueOf<M>>>;

/** The task functions a play's code calls: one per registered module, plus `run` for any module. */
export type Tasks<H extends string = string> = { [K in keyof Registry]: ModuleCall<Registry[K], H> } & {
  /** Runs a module that is not in the registry (a playbook's own module). */
  run<M extends Module>(module: M, name: string, params: InputOf<M['params']>, options?: TaskOptions<H>): Promise<TaskResult<ValueOf<M>>>;
  /** Whether this is a dry run; playbooks rarely need it (modules already plan without changing). */
  readonly checkMode: boolean;
  /**
   * Runs the handlers notified so far on this host now, in the order they are defined, instead of at the
   * end of the play (Ansible's `meta: flush_handlers`); they run again at the end only if notified again.
   * Throws (the host stops) if a handler fails, like a failed task. In a handler it does nothing.
   */
  flushHandlers(): Promise<void>;
  /**
   * Runs `produce` once for the play, on one host (the first of the play's hosts, or `options.host`),
   * when that host's code reaches this call; every other host waits here and gets the same result
   * (Ansible's run_once). The name is the key: each name runs once per play. If the chosen host fails
   * (or ends its play without reaching this call), every host waiting for it fails, saying why.
   */
  runOnce<T>(name: string, produce: () => Promise<T>, options?: RunOnceOptions): Promise<Shared<T>>;
  /**
   * Ansible's block/rescue/always: runs `body`; if a task in it fails on this host, runs `rescue` (and
   * then `always`) on this host even though it failed and fail-fast is stopping the run. The host stays
   * failed (and stops after the cleanup) unless `recovered: true`; then the block returns the rescue's value.
   */
  block<T, R = undefined>(name: string, body: () => Promise<T>, options: BlockOptions<R>): Promise<T | R>;
};

/** A handler's tasks: run once per host at the end of the play (or at a flush) when notified. */
export type HandlerFn<V, N extends string> = (t: Tasks<N>, host: HostInfo<V>) => Promise<unknown>;

/**
 * A handler that also answers to notification topics (Ansible's `listen`): `notify: 'restart web stack'`
 * runs every handler whose `listen` names that topic, each once, in definition order.
 */
export interface HandlerDefinition<V, N extends string, L extends string> {
  listen: L | L[];
  run: HandlerFn<V, N>;
}

/** A handler is its function (the common case) or a definition with `listen` topics. */
export type Handler<V, N extends string, L extends string> = HandlerFn<V, N> | HandlerDefinition<V, N, L>;

/** What a play's code knows about the host it runs on. */
export interface HostInfo<V> {
  name: string;
  /** The host's inventory variables, validated and typed by the playbook's `vars` schema. */
  vars: V;
  /** Every inventory variable, untyped, for what the schema does not declare. */
  allVars: Readonly<Record<string, unknown>>;
  groups: string[];
  /** The host's OS facts (probed once per run, on first use). */
  os(): Promise<OsFacts>;
  /**
   * Any fact of modules/facts/ (`await host.fact(networkFacts)`), typed by the fact: probed on first use
   * in one round trip, cached per host per run, re-read after a change on the host unless `stable`.
   */
  fact<T>(fact: Fact<T>): Promise<T>;
}

/** Another host of the inventory, as a play sees it (e.g. to list every node in /etc/hosts). */
export interface InventoryHostView {
  name: string;
  /** The address drover connects to (ansible_host, or the name). */
  address: string;
  vars: Readonly<Record<string, unknown>>;
  groups: string[];
}

export interface PlayContext {
  /** What an earlier play returned, per host (hosts that failed or were skipped are absent). */
  outputs<O>(play: Play<any, O, any, any>): ReadonlyMap<string, O>;
  /** The inventory's hosts matching a pattern, in inventory order; --limit does not narrow it (as Ansible's `groups`). */
  hosts(pattern: string): InventoryHostView[];
  readonly checkMode: boolean;
}

/**
 * `H`: the handlers' names; `L`: the topics they `listen` to. A task may `notify` either (both typed).
 */
export interface PlayDefinition<V, O, H extends string, L extends string = never> {
  name: string;
  /** Host pattern: `all`, a group, `web:&prod`, `node*`… */
  hosts: string;
  become?: BecomeOption;
  tags?: string[];
  /** Batches: a whole number of hosts (≥ 1) or a percentage (`'30%'`, above 0 and at most 100) at a time. */
  serial?: number | `${number}%`;
  /** Stop the play (and run) when more than this percentage (0 to 100) of a batch's hosts failed. */
  maxFailPercentage?: number;
  /**
   * Run once per host at the end of the play if a task notified them. Never lost: when the run stops
   * because another host failed, a healthy host still runs its notified handlers; on Ctrl-C (or when this
   * host fails) they are remembered on the host and run at the end of this play in the next run of this
   * playbook there (see runner/engine/pending-handlers.ts).
   */
  handlers?: { [K in H]: Handler<V, H | L, L> };
  tasks: (t: Tasks<H | L>, host: HostInfo<V>, ctx: PlayContext) => Promise<O>;
}

export interface Play<V, O, H extends string, L extends string = never> extends PlayDefinition<V, O, H, L> {
  readonly id: symbol;
}

/**
 * Identifies this copy of the runner. A playbook file outside an ES-module package is compiled by tsx as
 * CommonJS and gets a second copy of every runner file, whose Secrets and errors this copy would not
 * recognise; the loader compares this token to catch that and say what to do.
 */
export const RUNTIME = Symbol('drover runtime');

/**
 * A template file the playbook uses, declared up front with the names its tasks will pass in `vars`, so
 * the run checks every name it reads against those and each host's inventory before anything runs.
 */
export interface DeclaredTemplate {
  /** Absolute path on the controller; give it as the template task's `src`. */
  path: string;
  /** Names the tasks pass in the template task's `vars` (the rest must come from the inventory). */
  vars: string[];
  /** The hosts it is rendered for (a host pattern); default: every host of the run. */
  hosts?: string;
}

export interface Playbook<V = Record<string, unknown>> {
  name: string;
  /** Templates checked before the run (see `book.template`). */
  templates: DeclaredTemplate[];
  /** Schema of the host variables the playbook uses: checked on every host before anything runs. */
  vars: ObjectSchema<any>;
  plays: Array<Play<V, unknown, string, string>>;
  /** Brand checked by the loader, so a file exporting something else gets a clear error. */
  readonly drover: 'playbook';
  readonly runtime: symbol;
}

const NO_VARS = s.object({});

/** Starts a playbook: fixes the host variables' type for every play made from it. */
export function definePlaybook<S extends ObjectSchema<any> = typeof NO_VARS>(definition: { name: string; vars?: S }) {
  type V = OutputOf<S>;
  const templates: DeclaredTemplate[] = [];
  return {
    /**
     * Declares a template file (relative to the working directory, as the template module reads it) and
     * the names the tasks pass to it; use the returned `path` as the task's `src`.
     */
    template(path: string, options: { vars?: string[]; hosts?: string } = {}): DeclaredTemplate {
      const declared = { path: resolve(path), vars: options.vars ?? [], hosts: options.hosts };
      templates.push(declared);
      return declared;
    },
    /** Checks the play's options (play-options.ts) and throws a PlaybookError naming the play and the option. */
    play<O, H extends string = never, L extends string = never>(play: PlayDefinition<V, O, H, L>): Play<V, O, H, L> {
      checkPlay(play);
      return { ...play, id: Symbol(play.name) };
    },
    playbook(plays: Array<Play<V, any, any, any>>): Playbook<V> {
      // Again here: a play may not have come from book.play (a plain object, or null, under `as any`).
      checkPlays(plays);
      return { name: definition.name, vars: definition.vars ?? NO_VARS, plays, templates, drover: 'playbook', runtime: RUNTIME };
    },
  };
}

export function isPlaybook(value: unknown): value is Playbook<unknown> {
  return typeof value === 'object' && value !== null && (value as { drover?: unknown }).drover === 'playbook';
}
