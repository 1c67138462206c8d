/**
 * One host for the length of a run: its single connection (opened on first use, reused by every task),
 * its fact cache, and the one place where commands are rendered and sent.
 */
import { renderCommand, sh, type Become, type Command, type RebootWait, type Script } from '../command.ts';
import type { Fact } from '../facts.ts';
import { ModuleError } from '../module-error.ts';
import type { HostContext, ProbeOptions, ProbeOutput } from '../module.ts';
import { NOTHING_PREDICTED, PredictedState, type PredictedView } from '../predicted-state.ts';
import type { CommandRecord } from '../result.ts';
import { type Redactor, Secret } from '../secret.ts';
import { Download } from './download.ts';
import { BecomeRefusedError, sudoRefusedPassword } from './become-refused.ts';
import type { OutputBudget } from '../transport/output-budget.ts';
import { HostKeyError, UnreachableError, type Connection, type ConnectionSpec } from '../transport/transport.ts';

/** Between two attempts to reach a rebooting host: short enough to notice it back soon, long enough not to hammer it. */
const REBOOT_POLL_MS = 2_000;
/** Each attempt's own bound (connect, then read the boot id), kept inside the reboot's overall bound. */
const REBOOT_ATTEMPT_MS = 15_000;

/** Everything the runner knows about a host before it connects. */
export interface HostTarget {
  name: string;
  vars: Readonly<Record<string, unknown>>;
  groups: string[];
  connection: ConnectionSpec;
  /** become settings from the inventory (ansible_become…), used when a play or task does not say. */
  become?: Become;
  /** Whether the inventory asked for become on this host. */
  becomeByDefault: boolean;
}

export type Connector = (spec: ConnectionSpec) => Promise<Connection>;

export interface SessionSettings {
  /** Time limit for a command that sets none. */
  defaultTimeoutMs: number;
  /** Aborted on the second Ctrl-C: commands in flight are killed. */
  abortSignal?: AbortSignal;
  /** The run's cap on command output held at once (--max-output), shared by every host. */
  outputBudget?: OutputBudget;
  /**
   * -vv and -vvv: level 2 is told every probe with its output, level 3 the transport's detail. Absent
   * below -vv, so a quiet run builds none of these messages.
   */
  trace?: (host: string, level: 2 | 3, message: string, detail?: string) => void;
  /** The pause between attempts to reach a rebooting host (default 2 s; tests shorten it). */
  rebootPollMs?: number;
}

export class HostSession {
  #connection: Promise<Connection> | undefined;
  #unreachable: UnreachableError | undefined;
  readonly #facts = new Map<string, Promise<unknown>>();
  /** What this run's planned but unexecuted changes would have left here (recorded in check mode only). */
  readonly predicted = new PredictedState();

  constructor(
    readonly target: HostTarget,
    private readonly connector: Connector,
    private readonly redactor: Redactor,
    private readonly settings: SessionSettings,
  ) {}

  get name(): string {
    return this.target.name;
  }

  /** Set once the host could not be reached or dropped the connection; later commands fail at once. */
  get unreachable(): UnreachableError | undefined {
    return this.#unreachable;
  }

  /** Logs in now, if not yet logged in; an unreachable host throws UnreachableError and is marked, as on a command. */
  async open(): Promise<void> {
    await this.connect();
  }

  /**
   * Sends one command and waits for it. A non-zero exit is returned, not thrown (the caller decides);
   * a connection that cannot be made or is lost throws UnreachableError and marks the host.
   */
  async run(command: Command, become: Become | undefined, via: { keptShell?: boolean } = {}): Promise<CommandRecord> {
    const connection = await this.connect();
    const rendered = renderCommand(command, { become, loginUser: this.target.connection.user });
    this.registerSecrets(command, become);
    const download = command.stdoutTo ? new Download(command.stdoutTo) : undefined;
    let outcome: Awaited<ReturnType<typeof connection.exec>>;
    try {
      outcome = await connection.exec(rendered.line, {
        stdin: rendered.stdin.length > 0 ? rendered.stdin : undefined,
        ...(rendered.stdinStream && { stdinStream: () => rendered.stdinStream!.open() }),
        ...(this.settings.outputBudget && { outputBudget: this.settings.outputBudget }),
        timeoutMs: command.timeoutMs ?? this.settings.defaultTimeoutMs,
        signal: this.settings.abortSignal,
        ...(download && { stdoutSink: download.write }),
        ...(via.keptShell && { keptShell: true }),
      });
    } catch (error) {
      download?.finish(false);
      throw error;
    }
    download?.finish(outcome.exitCode === 0 && !outcome.connectionLost);
    const refused = rendered.sudoPassword ? sudoRefusedPassword(outcome.exitCode, outcome.stderr) : undefined;
    if (refused) throw new BecomeRefusedError(this.name, this.target.connection.user, become?.user ?? 'root', refused);
    if (outcome.connectionLost) {
      // The transport's reason says how the loss was found (e.g. unanswered keepalives and for how long).
      const why = outcome.transportError ? ` (${outcome.transportError})` : '';
      this.#unreachable = new ConnectionLostError(
        this.name,
        `connection to ${this.name} was lost while running: ${rendered.display}${why}`,
        'check that the host is up and sshd is running; the command may or may not have completed',
      );
      throw this.#unreachable;
    }
    return {
      display: rendered.display,
      line: rendered.line,
      executed: true,
      exitCode: outcome.exitCode,
      stdout: outcome.stdout,
      stderr:
        outcome.transportError && outcome.exitCode === null
          ? `${outcome.stderr}\n(${outcome.transportError})`
          : outcome.timedOut
            ? `${outcome.stderr}\n(timed out after ${Math.round((command.timeoutMs ?? this.settings.defaultTimeoutMs) / 1000)} s and was killed)`
            : outcome.aborted
              ? `${outcome.stderr}\n(aborted by the operator)`
              : outcome.stderr,
      durationMs: outcome.durationMs,
      timedOut: outcome.timedOut,
      ...(outcome.outputDropped && { outputDropped: outcome.outputDropped }),
    };
  }

  /**
   * Runs a command that reboots the host (Command.reboot), then waits for the host to come back and
   * reconnects: the old connection is closed, and every few seconds a fresh one is tried and asked for the
   * boot id, until one answers with a new id (the host went down and came back) or `timeoutMs` has passed.
   * The new connection then serves every later command; all cached facts are dropped (a new kernel may
   * have booted). The returned record's stdout says how long it took and the new boot id.
   */
  async runReboot(command: Command & { reboot: RebootWait }, become: Become | undefined): Promise<CommandRecord> {
    if (this.target.connection.kind === 'local') {
      throw new ModuleError(
        `${this.name} uses the local connection: drover will not reboot the controller it runs on`,
        'run the reboot over SSH from another controller',
      );
    }
    let record: CommandRecord;
    try {
      record = await this.run(command, become);
    } catch (error) {
      // The reboot may close the connection before the command's answer arrives: that is the reboot working.
      if (!(error instanceof ConnectionLostError)) throw error;
      this.#unreachable = undefined;
      record = { ...this.preview(command, become), executed: true, exitCode: 0, stderr: '(the connection closed as the host went down)' };
    }
    if (record.exitCode !== 0) return record;
    const started = Date.now();
    const bootId = await this.awaitNewBoot(command.reboot);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    return { ...record, stdout: `${record.stdout}back after ${seconds} s with boot id ${bootId}\n`, durationMs: record.durationMs + (Date.now() - started) };
  }

  private async awaitNewBoot(wait: RebootWait): Promise<string> {
    const started = Date.now();
    const deadline = started + wait.timeoutMs;
    await this.close();
    this.#facts.clear();
    const probe = renderCommand({ run: sh`cat /proc/sys/kernel/random/boot_id` }, { loginUser: this.target.connection.user });
    let last = 'no attempt finished';
    while (Date.now() < deadline) {
      if (this.settings.abortSignal?.aborted) break;
      await new Promise((resolveWait) => setTimeout(resolveWait, Math.min(this.settings.rebootPollMs ?? REBOOT_POLL_MS, Math.max(0, deadline - Date.now()))));
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const spec = {
        ...this.target.connection,
        connectRetries: 0,
        connectTimeoutMs: Math.min(this.target.connection.connectTimeoutMs, REBOOT_ATTEMPT_MS, remaining),
      };
      let connection: Connection | undefined;
      try {
        connection = await this.connector(spec);
        const outcome = await connection.exec(probe.line, {
          timeoutMs: Math.min(REBOOT_ATTEMPT_MS, Math.max(1_000, deadline - Date.now())),
          signal: this.settings.abortSignal,
        });
        const id = outcome.stdout.trim();
        if (outcome.exitCode === 0 && id !== '' && id !== wait.bootId) {
          this.#connection = Promise.resolve(connection);
          this.settings.trace?.(this.name, 3, `back from the reboot after ${((Date.now() - started) / 1000).toFixed(1)} s, boot id ${id}`);
          return id;
        }
        last =
          id === wait.bootId
            ? 'the host still answered with the boot id it had before the reboot'
            : `reading the boot id gave exit code ${outcome.exitCode ?? 'none'}: ${outcome.stderr.trim()}`;
      } catch (error) {
        // A changed host key after a reboot is a different machine, or a re-imaged one: never retried.
        if (error instanceof HostKeyError) {
          this.#unreachable = error;
          throw error;
        }
        last = error instanceof Error ? error.message : String(error);
      }
      await connection?.close().catch(() => undefined);
      this.settings.trace?.(this.name, 3, `waiting for the reboot: ${last}`);
    }
    const why = this.settings.abortSignal?.aborted
      ? 'the wait was aborted by the operator'
      : `it did not come back within ${Math.round(wait.timeoutMs / 1000)} s`;
    this.#unreachable = new UnreachableError(
      this.name,
      `${this.name} was rebooted (boot id ${wait.bootId}) and ${why}; last attempt: ${last}`,
      'check the host (console, boot log); raise the reboot timeout if it boots slowly',
    );
    throw this.#unreachable;
  }

  /** What a command would be, without sending it (check mode). */
  preview(command: Command, become: Become | undefined): CommandRecord {
    const rendered = renderCommand(command, { become, loginUser: this.target.connection.user });
    return { display: rendered.display, line: rendered.line, executed: false, exitCode: null, stdout: '', stderr: '', durationMs: 0, timedOut: false };
  }

  /**
   * The planner's read-only view of this host, with the task's become applied to probes. `predicted` is
   * the task's view of the dry run's predictions (runner/engine/task.ts makes one per task).
   */
  context(become: Become | undefined, predicted: PredictedView = NOTHING_PREDICTED): HostContext {
    return {
      name: this.name,
      vars: this.target.vars,
      predicted,
      fact: async <T>(fact: Fact<T>) => {
        const value = await this.fact(fact, become);
        return fact.predict ? fact.predict(value, predicted) : value;
      },
      probe: (script: Script, options?: ProbeOptions) => this.probe(script, become, options),
    };
  }

  /**
   * Drops facts a change may have made stale; stable facts (OS family…) stay. For a host changed behind
   * drover's back: the predictions go too, as nothing predicted is pending any more.
   */
  invalidateFacts(): void {
    for (const key of [...this.#facts.keys()]) if (!key.startsWith('stable:')) this.#facts.delete(key);
    this.predicted.clear();
  }

  /** After a task's changing commands ran: stale facts go, and predictions made before it may hide what it did. */
  changedByTask(task: string): void {
    for (const key of [...this.#facts.keys()]) if (!key.startsWith('stable:')) this.#facts.delete(key);
    this.predicted.supersede(task);
  }

  async close(): Promise<void> {
    const pending = this.#connection;
    this.#connection = undefined;
    if (!pending) return;
    try {
      await (await pending).close();
    } catch {
      // A connection that never opened has nothing to close.
    }
  }

  private async fact<T>(fact: Fact<T>, become: Become | undefined): Promise<T> {
    // Probes can differ by user (a file root can read and ops cannot), so the cache is per become user.
    const key = `${fact.stable ? 'stable:' : ''}${become?.user ?? (become ? 'root' : '-')}:${fact.key}`;
    let cached = this.#facts.get(key) as Promise<T> | undefined;
    if (!cached) {
      cached = this.probe(fact.script, become).then((output) => fact.parse(output));
      this.#facts.set(key, cached);
      // A failed probe is not cached: the next task asks again and gets its own error.
      cached.catch(() => this.#facts.delete(key));
    }
    return cached;
  }

  private async probe(script: Script, become: Become | undefined, options: ProbeOptions = {}): Promise<ProbeOutput> {
    // Probes are the runner's own read-only scripts: they may share the connection's kept-open shell.
    const record = await this.run({ run: script, readOnly: true, stdin: options.stdin, timeoutMs: options.timeoutMs }, become, { keptShell: true });
    // A secret output (slurp) travels encoded (base64), which no redactor would recognise: not traced at all.
    const detail = options.secretOutput
      ? `(secret output, ${record.stdout.length} characters, not shown)`
      : this.redactor.tail(`${record.stdout}${record.stderr}`, 20);
    this.settings.trace?.(this.name, 2, `probe → ${record.exitCode ?? 'killed'}: ${record.display}`, detail);
    if (record.timedOut) throw new ProbeError(this.name, record);
    return { exitCode: record.exitCode ?? -1, stdout: record.stdout, stderr: record.stderr };
  }

  private connect(): Promise<Connection> {
    if (this.#unreachable) return Promise.reject(this.#unreachable);
    if (!this.#connection) {
      const trace = this.settings.trace;
      const spec = trace ? { ...this.target.connection, trace: (message: string) => trace(this.name, 3, message) } : this.target.connection;
      this.#connection = this.connector(spec).catch((error: unknown) => {
        this.#unreachable =
          error instanceof UnreachableError
            ? error
            : new UnreachableError(this.name, `cannot connect to ${this.name}: ${error instanceof Error ? error.message : String(error)}`, undefined, error);
        throw this.#unreachable;
      });
    }
    return this.#connection;
  }

  private registerSecrets(command: Command, become: Become | undefined): void {
    const script = 'argv' in command.run ? undefined : command.run;
    for (const value of script?.secrets.values() ?? []) this.redactor.add(value);
    if (command.stdin instanceof Secret) this.redactor.add(command.stdin);
    if (become?.password) this.redactor.add(become.password);
  }
}

/** The connection dropped while a command ran (the command may or may not have completed). */
class ConnectionLostError extends UnreachableError {}

/** A read-only probe timed out: the planner cannot decide, so the task fails with the probe shown. */
export class ProbeError extends Error {
  constructor(
    readonly host: string,
    readonly record: CommandRecord,
  ) {
    super(`a read-only probe on ${host} did not finish: ${record.display.split('\n')[0]}\n${record.stderr.trim()}`);
    this.name = 'ProbeError';
  }
}
