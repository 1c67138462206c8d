/**
 * What every run (playbook, exec, module) sets up and tears down the same way: run id, redactor,
 * reporters, audit log, sessions, Ctrl-C handling, and the closing run-end record.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { AuditLogError } from '../audit/log-file.ts';
import { AuditWriter } from '../audit/writer.ts';
import { AuditCopyReporter, openAuditCopies, type AuditCopySink } from '../audit/copy.ts';
import { checkSignable, openAuditSigner, signAuditLog, type AuditSigner } from '../audit/sign.ts';
import { describeError } from './describe-error.ts';
import { connect } from '../transport/connect.ts';
import { DRIFT_EXIT_STATUS, EventBus, type Reporter, type RunStartInfo } from '../events.ts';
import { HostSession, type Connector, type HostTarget } from '../engine/host-session.ts';
import { SessionPool } from '../engine/session-pool.ts';
import { RunState } from '../engine/run-state.ts';
import { codeLocation } from '../engine/code-location.ts';
import { currentCodeScope } from '../engine/code-scope.ts';
import { reportPlaybookError } from '../engine/run-playbook.ts';
import { JsonReporter } from '../report/json.ts';
import { loadSpinner, type SpinnerFactory, TerminalReporter } from '../report/terminal.ts';
import { Redactor, Secret } from '../secret.ts';
import { OutputBudget } from '../transport/output-budget.ts';
import type { CommonOptions } from './options.ts';
import { exitStatusOf, stopRequests, type StopRequest } from './stop-requests.ts';
import { takeStrayErrors } from './stray-errors.ts';

export interface RunContext {
  runId: string;
  bus: EventBus;
  state: RunState;
  redactor: Redactor;
  sessions: SessionPool;
  auditPath: string;
  clock: () => number;
  /**
   * An error escaped the engine (a bug, or a check that should have come before the run): the run fails
   * (exit 2), stops as for any failure, and says why in the report and the audit log before its run-end.
   */
  fail(error: unknown): void;
  /** Emits run-end, closes connections and reporters, and returns the exit status. */
  finish(): Promise<number>;
}

/**
 * Runs the work of an open run and closes it, whatever ends the work: an error that escapes it fails the
 * run (run.fail) before run-end is written, so the record, the report's last line and the exit status
 * agree. Before, such an error was rethrown after run-end had recorded the run as ok.
 */
export async function closeRun(run: RunContext, work: () => Promise<void>, beforeFinish?: (threw: boolean) => void): Promise<{ code: number; threw: boolean }> {
  let threw = false;
  try {
    await work();
  } catch (error) {
    threw = true;
    run.fail(error);
  }
  // What must reach the audit log before its closing record (a saved plan that could not be written).
  beforeFinish?.(threw);
  return { code: await run.finish(), threw };
}

export interface RunContextSettings {
  options: CommonOptions;
  info: Omit<RunStartInfo, 'operator' | 'controller' | 'argv' | 'cwd'>;
  hosts: HostTarget[];
  /** For tests: a connector other than the real transport. */
  connector?: Connector;
  stdout?: NodeJS.WritableStream;
  /** The audit log's signing key and copies (from prepareAudit). */
  audit?: AuditSetup;
  /** Values to mask from the first record on (secret-named -e values: argv, in run-start, holds them). */
  secrets?: string[];
}

/** Exit status of a run that finished ok but whose audit log could not be signed or copied whole. */
export const EXIT_AUDIT_INCOMPLETE = 5;

export interface AuditSetup {
  signer?: AuditSigner;
  copies: AuditCopySink[];
}

/**
 * The signing key and copy destinations the options ask for, found and opened before the run starts, so
 * a missing agent or an unreachable syslog stops the run before anything happens on a host.
 */
export async function prepareAudit(options: CommonOptions): Promise<AuditSetup> {
  const signer = options.signAudit ? await openAuditSigner({ keyFile: options.auditSignKey, agentSocket: process.env.SSH_AUTH_SOCK }) : undefined;
  return { signer, copies: await openAuditCopies(options.auditCopies ?? []) };
}

// Re-exported: it lives in stray-errors.ts so that process-main.ts can install it without this module's graph.
export { reportStrayError } from './stray-errors.ts';

export async function startRun(settings: RunContextSettings): Promise<RunContext> {
  const { options } = settings;
  const stdout = settings.stdout ?? process.stdout;
  const interactive = Boolean((stdout as NodeJS.WriteStream).isTTY) && !process.env.CI;
  const started = Date.now();
  const runId = `${new Date(started)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
  const redactor = new Redactor();
  for (const host of settings.hosts) {
    if (host.connection.password) redactor.add(host.connection.password);
    if (host.connection.passphrase) redactor.add(host.connection.passphrase);
    if (host.become?.password) redactor.add(host.become.password);
    // Every Secret among the variables (vault-decrypted values, password variables): masked even if a task prints it.
    addSecretsOf(host.vars, redactor);
  }
  for (const value of settings.secrets ?? []) redactor.add(value);
  const auditPath = resolve(options.auditLog ?? join('audit', `${runId}.jsonl`));
  const audit = settings.audit ?? { copies: [] };
  let auditWriter: AuditWriter;
  let spinner: SpinnerFactory | undefined;
  // Set once the run's state exists (below); the writer calls it after a mid-run write failed.
  let onAuditWriteFailure = (_failure: AuditLogError) => {};
  try {
    spinner = interactive && !options.json ? await loadSpinner() : undefined;
    if (audit.signer) checkSignable(auditPath);
    // The audit log first: its run-start record is the probe that it can be written, before anything is shown.
    auditWriter = new AuditWriter(auditPath, redactor, (failure) => onAuditWriteFailure(failure), options.auditLog !== undefined);
  } catch (error) {
    // An open copy (a spawned command, a connection) would keep the process alive after the error.
    void Promise.all(audit.copies.map((copy) => copy.end()));
    throw error;
  }
  // Right after the writer, so each copy gets each line as soon as the file has it.
  const auditCopies = new AuditCopyReporter(auditWriter, audit.copies);
  const reporters: Reporter[] = [auditWriter, auditCopies];
  reporters.push(
    options.json
      ? new JsonReporter(stdout, redactor)
      : new TerminalReporter({
          stream: stdout,
          interactive,
          spinner,
          showDiff: options.diff,
          verbose: options.verbose,
          verbosity: options.verbosity,
          redactor,
          hostView: options.hostView,
        }),
  );
  const bus = new EventBus(runId, reporters);
  const state = new RunState();
  const connector = settings.connector ?? connect;
  const outputBudget = new OutputBudget(options.maxOutputBytes);
  const sessions = new SessionPool(
    (target) =>
      new HostSession(target, connector, redactor, {
        defaultTimeoutMs: options.timeoutSeconds * 1000,
        abortSignal: state.abort.signal,
        outputBudget,
        ...((options.verbosity ?? 0) >= 2 && {
          trace: (host: string, level: 2 | 3, message: string, detail?: string) => {
            if (level <= (options.verbosity ?? 0)) bus.emit({ kind: 'trace', host, level, message, detail });
          },
        }),
      }),
  );

  const operator = process.env.SUDO_USER ? `${process.env.SUDO_USER} (as ${userInfo().username})` : userInfo().username;
  bus.emit({
    kind: 'run-start',
    info: { ...settings.info, operator, controller: hostname(), argv: process.argv.slice(2), cwd: process.cwd() },
    hosts: settings.hosts.map((host) => host.name),
  });

  const onStopRequest = (request: StopRequest) => {
    // A run already stopping (fail-fast) keeps its reason and status; the second request still kills.
    if (state.stop('interrupted')) {
      state.interruptExitCode = exitStatusOf(request.signal);
      const again = request.signal === 'SIGINT' ? 'Ctrl-C again' : `${request.signal} again`;
      bus.emit({
        kind: 'stopping',
        reason: 'interrupted',
        message: `${request.how}: no new task starts; running commands are let finish (${again} to kill them)`,
      });
    }
    if (request.level >= 2) state.abort.abort();
  };
  const unsubscribe = stopRequests.subscribe(onStopRequest);

  // A run whose audit log can no longer be written stops as Ctrl-C does: what runs would go unrecorded.
  onAuditWriteFailure = (failure) => {
    const message = `${failure.message}: no new task starts, running commands are let finish, and handlers are remembered on their hosts; ${failure.hint}`;
    if (state.stop('audit-failed')) bus.emit({ kind: 'stopping', reason: 'audit-failed', message });
    else bus.emit({ kind: 'warning', message: `${failure.message}; ${failure.hint}` });
  };

  // An exception that escaped the playbook's code (a timer callback, a promise nobody awaited) fails the
  // host and play whose code it came from, or else the run, and the run closes like any failure.
  /** A failure of the run itself, attributable to no host: exit 2, and the run stops as for any failure. */
  const failRun = (message: string) => {
    state.runFailures++;
    if (!state.stop('fail-fast')) {
      bus.emit({ kind: 'warning', message });
      return;
    }
    bus.emit({ kind: 'stopping', reason: 'fail-fast', message: `${message}; no new task starts anywhere` });
  };
  const onStrayError = (error: unknown) => {
    const scope = currentCodeScope();
    if (scope) {
      reportPlaybookError(error, scope.where, scope.host, { check: options.check, keepGoing: options.keepGoing, bus, state }, true);
      return;
    }
    const location = error instanceof Error ? codeLocation(error.stack) : undefined;
    failRun(
      `the run failed: an error was thrown outside any host's play${location ? ` at ${location}` : ''} (in a timer callback or a promise nobody awaited): ${describeError(error)}`,
    );
  };
  const releaseStrayErrors = takeStrayErrors(onStrayError);

  return {
    runId,
    bus,
    state,
    redactor,
    sessions,
    auditPath,
    clock: () => Date.now(),
    fail(error) {
      failRun(`the run failed: ${describeError(error)}`);
    },
    async finish() {
      await sessions.closeAll();
      const exitCode = driftExitCode(state, options);
      bus.emit({ kind: 'run-end', recap: state.recap(), exitCode, interrupted: state.stopReason === 'interrupted', durationMs: Date.now() - started });
      await bus.close();
      let auditWhole = true;
      if (auditWriter.writeFailure) {
        process.stderr.write(
          `drover: the audit log ${auditPath} ends after record ${auditWriter.records} (${auditWriter.writeFailure.message}): it is incomplete, and \`audit verify\` reports it so\n`,
        );
        auditWhole = false;
      }
      for (const failure of auditCopies.failures()) {
        process.stderr.write(`drover: ${failure}; the local log ${auditPath} is whole\n`);
        auditWhole = false;
      }
      if (audit.signer) {
        // After the closing record and the file's close: the signature covers the whole log as written.
        try {
          const signed = await signAuditLog(auditPath, audit.signer, auditWriter.lastLine);
          process.stderr.write(`audit log signed: ${signed.sigPath} (${signed.signer})\n`);
        } catch (error) {
          process.stderr.write(`drover: ${describeError(error)}\n`);
          auditWhole = false;
        }
      }
      unsubscribe();
      releaseStrayErrors();
      // A failed run keeps its own status; an ok run whose audit trail is not whole must not look ok.
      // A drift check whose own record is not whole reports that first: its verdict cannot be audited.
      const status = (exitCode === 0 || exitCode === DRIFT_EXIT_STATUS) && !auditWhole ? EXIT_AUDIT_INCOMPLETE : exitCode;
      // The report's last line said the run's own status; the process exits with another: say which, last.
      if (status !== exitCode)
        process.stderr.write(`drover: exit ${status}: the run itself ended with ${exitCode}, but its audit trail is not whole (above)\n`);
      return status;
    },
  };
}

/**
 * The run's exit status, with drift detection: a clean dry run (status 0) that predicts changes exits
 * DRIFT_EXIT_STATUS when asked to, so cron and CI can tell "in sync" from "would change" without parsing.
 */
function driftExitCode(state: RunState, options: CommonOptions): number {
  const exitCode = state.exitCode();
  if (exitCode !== 0 || !options.check || !options.detectDrift) return exitCode;
  return state.recap().some((line) => line.changed > 0) ? DRIFT_EXIT_STATUS : 0;
}

function addSecretsOf(value: unknown, redactor: Redactor): void {
  if (value instanceof Secret) redactor.add(value);
  else if (Array.isArray(value)) for (const item of value) addSecretsOf(item, redactor);
  else if (value && typeof value === 'object') for (const item of Object.values(value)) addSecretsOf(item, redactor);
}
