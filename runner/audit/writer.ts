/**
 * Writes the audit log: one chained JSON line per record, written synchronously as each event happens,
 * so a crash loses at most the record in flight. Every value passes through the redactor.
 *
 * A write that fails after the first (a disk filling up during the run) is not thrown into whatever event
 * was being reported: the log stops there (a record after a missing one would not chain) and
 * `onWriteFailure` is told once, so that the run stops like any other stop and says its log is incomplete.
 */
import { closeSync, fsyncSync } from 'node:fs';
import { EVENT_FRAME_KEYS, type Reporter, type StampedEvent } from '../events.ts';
import { toPlain } from '../plain-value.ts';
import type { Redactor } from '../secret.ts';
import { closingFields, CLOSING_KIND, sealRecord } from './chain.ts';
import { AuditLogError, openAuditLog, writeRecord, type AuditLogFile } from './log-file.ts';

export class AuditWriter implements Reporter {
  readonly #file: AuditLogFile;
  #seq = 0;
  #previous: string | undefined;
  #closed = false;
  #writeFailure: AuditLogError | undefined;

  constructor(
    readonly path: string,
    private readonly redactor: Redactor,
    private readonly onWriteFailure: (failure: AuditLogError) => void = () => {},
    /** Whether --audit-log named the path (false: the default audit/RUN-ID.jsonl), for the hints. */
    chosen = true,
  ) {
    this.#file = openAuditLog(path, chosen);
  }

  /** The write that failed mid-run, if one did: the log ends before it and is incomplete. */
  get writeFailure(): AuditLogError | undefined {
    return this.#writeFailure;
  }

  /** Records written whole. */
  get records(): number {
    return this.#writeFailure ? this.#seq - 1 : this.#seq;
  }

  handle(event: StampedEvent): void {
    // Nothing follows the closing record: a verifier refuses anything after it as appended later.
    if (this.#closed) return;
    const body = auditBody(event, this.redactor);
    if (!body) return;
    const seq = ++this.#seq;
    // Not the frame (EVENT_FRAME_KEYS): drover's own text, which a secret must not mask.
    const redacted = Object.fromEntries(
      Object.entries(toPlain(body) as Record<string, unknown>).map(([key, value]) => [
        key,
        EVENT_FRAME_KEYS.has(key) ? value : this.redactor.redactValue(value),
      ]),
    );
    if (body.kind === CLOSING_KIND) this.#closed = true;
    const line = sealRecord(seq, this.#previous, body.kind === CLOSING_KIND ? { ...redacted, ...closingFields(seq, this.#previous) } : redacted);
    try {
      // The first record (run-start) is written before any host is contacted: it is the probe that the log can be written.
      writeRecord(this.#file, this.path, `${line}\n`, seq === 1);
    } catch (error) {
      if (seq === 1 || !(error instanceof AuditLogError)) throw error;
      this.#writeFailure = error;
      this.#closed = true;
      // Told after this event has reached every reporter: the stop it causes is reported after it.
      queueMicrotask(() => this.onWriteFailure(error));
      return;
    }
    this.#previous = line;
  }

  /** The last line written (after run-end, the closing record): what signing checks the file on disk against. */
  get lastLine(): string | undefined {
    return this.#previous;
  }

  async close(): Promise<void> {
    // A character device (a terminal) cannot be fsynced; a regular file must be.
    if (this.#file.created) fsyncSync(this.#file.fd);
    closeSync(this.#file.fd);
  }
}

/**
 * What each event leaves in the log; task starts are not recorded (their result is). Output is cut to its
 * tail by the redactor, which masks before it cuts: a cut through a secret would leave a piece of it.
 */
export function auditBody(event: StampedEvent, redactor: Pick<Redactor, 'tail'>): Record<string, unknown> | undefined {
  const tail = redactor.tail.bind(redactor);
  const head = { kind: event.kind, runId: event.runId, time: event.time };
  switch (event.kind) {
    case 'run-start':
      return { ...head, ...event.info, hosts: event.hosts };
    case 'task-start':
    case 'trace':
      return undefined;
    case 'task-result': {
      const r = event.result;
      return {
        ...head,
        kind: event.handler ? 'handler' : 'task',
        host: r.host,
        task: r.task,
        module: r.module,
        status: r.status,
        ignored: event.ignored,
        changed: r.changed,
        checkMode: r.checkMode,
        uncertain: r.uncertain,
        params: event.params,
        msg: r.msg,
        changes: r.changes,
        diffs: r.diffs,
        commands: r.commands.map((command) => ({
          line: command.line,
          executed: command.executed,
          exitCode: command.exitCode,
          timedOut: command.timedOut,
          durationMs: command.durationMs,
          ...(command.outputDropped && { outputDropped: command.outputDropped }),
          stderrTail: tail(command.stderr, 10, 2000),
        })),
        rc: r.rc,
        stderrTail: tail(r.stderr, 10, 2000),
        durationMs: r.durationMs,
        ...(r.value !== undefined && { value: r.value }),
        failure: r.failure,
        ...(r.attempts !== undefined && { attempts: r.attempts }),
        ...(r.checkModeOverride && { checkModeOverride: r.checkModeOverride }),
        ...(r.condition && { condition: r.condition }),
        ...(r.verbosity !== undefined && { verbosity: r.verbosity }),
        ...(event.key && { key: event.key }),
        ...(r.delegatedTo && { delegatedTo: r.delegatedTo }),
        ...(r.sharedFrom && { sharedFrom: r.sharedFrom }),
      };
    }
    case 'host-output':
      return { ...head, host: event.host, exitCode: event.exitCode, stdoutTail: tail(event.stdout, 50, 8000), stderrTail: tail(event.stderr, 20, 4000) };
    case 'task-retry':
      return {
        ...head,
        host: event.host,
        task: event.task,
        module: event.module,
        attempt: event.attempt,
        attempts: event.attempts,
        delaySeconds: event.delaySeconds,
        status: event.status,
        msg: event.msg,
      };
    case 'host-unreachable':
      return { ...head, host: event.host, message: event.message, hint: event.hint };
    case 'warning':
      return { ...head, host: event.host, message: event.message };
    case 'stopping':
      return { ...head, reason: event.reason, message: event.message };
    case 'play-start':
      return { ...head, play: event.play, hosts: event.hosts, batch: event.batch, batches: event.batches };
    case 'play-end':
      return { ...head, play: event.play };
    case 'run-end':
      return { ...head, recap: event.recap, exitCode: event.exitCode, interrupted: event.interrupted, durationMs: event.durationMs };
    default: {
      const unhandled: never = event;
      throw new Error(`no audit record for event ${JSON.stringify(unhandled)}`);
    }
  }
}
