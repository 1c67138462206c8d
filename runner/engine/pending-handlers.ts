/**
 * Handlers are never lost: the run's memory of the handlers each host still owes, and the state file on
 * the host that carries them to the next run (pending-handlers-file.ts).
 *
 * - At a host's first play with handlers, the file is read once; the handlers it names for a play are
 *   notified at the start of that play on that host (told as "pending from an interrupted run") and run at
 *   its end even if nothing changes. In check mode they are reported and run as predictions ("would run").
 * - When a host stops with handlers notified but not run (Ctrl-C, its own failure, a handler that failed),
 *   they are written to the file; once they have run, the file is cleared.
 * Every write is a task result (handler: true) in the report and the audit log; it is not counted in the
 * recap, which counts the playbook's tasks.
 */
import type { EventBus } from '../events.ts';
import type { Redactor } from '../secret.ts';
import type { HostSession } from './host-session.ts';
import { pendingHandlersFact, pendingHandlersKey, pendingHandlersState, renderPendingFile, type PendingPlays } from './pending-handlers-file.ts';
import { runTask } from './task.ts';

interface HostMemory {
  plays: PendingPlays;
  /** Whether the host has a file to rewrite or clear once its handlers ran. */
  onDisk: boolean;
}

export interface PendingHandlerSettings {
  check: boolean;
  bus: EventBus;
  redactor: Redactor;
  clock: () => number;
}

export class PendingHandlers {
  readonly #hosts = new Map<string, Promise<HostMemory>>();
  readonly #key: string;

  constructor(
    readonly playbook: string,
    /** The playbook's play names: what the file holds for any other play is reported and dropped. */
    private readonly plays: readonly string[],
    private readonly settings: PendingHandlerSettings,
  ) {
    this.#key = pendingHandlersKey(playbook);
  }

  /**
   * The handlers an earlier, stopped run left pending for this play on this host (the file is read on the
   * first call per host). Names the play no longer defines are reported and dropped.
   */
  async carried(session: HostSession, play: string, defined: readonly string[]): Promise<string[]> {
    const memory = await this.#memory(session);
    const names = memory.plays[play] ?? [];
    const known = names.filter((name) => defined.includes(name));
    for (const name of names) {
      const message = defined.includes(name)
        ? `handler "${name}" pending from an interrupted run (play "${play}"): ${this.settings.check ? 'would run' : 'runs'} at the end of the play`
        : `handler "${name}" pending from an interrupted run (play "${play}") is no longer defined by the play: dropped`;
      this.settings.bus.emit({ kind: 'warning', host: session.name, message });
    }
    return known;
  }

  /** Remembers handlers notified in this play that did not run, with those of other plays still owed. */
  async remember(session: HostSession, play: string, names: readonly string[], why: string): Promise<void> {
    if (names.length === 0 || this.settings.check) return;
    const memory = await this.#memory(session);
    memory.plays[play] = [...new Set([...(memory.plays[play] ?? []), ...names])];
    this.settings.bus.emit({
      kind: 'warning',
      host: session.name,
      message: `handler${names.length > 1 ? 's' : ''} ${names.map((name) => `"${name}"`).join(', ')} notified but not run (${why}): remembered on the host, to run at the end of this play in the next run of this playbook`,
    });
    await this.#write(session, memory, `remember pending handlers: ${names.join(', ')}`);
  }

  /** This play's handlers ran on the host: forget them, and clear the file when nothing else is owed. */
  async settled(session: HostSession, play: string): Promise<void> {
    if (this.settings.check || !this.#hosts.has(session.name)) return;
    const memory = await this.#memory(session);
    if (!(play in memory.plays) && !(memory.onDisk && Object.keys(memory.plays).length === 0)) return;
    delete memory.plays[play];
    if (!memory.onDisk) return;
    await this.#write(session, memory, 'forget pending handlers (they ran)');
  }

  /** A host that cannot be reached cannot be told: the operator is, with what to do by hand. */
  lost(host: string, play: string, names: readonly string[]): void {
    if (names.length === 0) return;
    this.settings.bus.emit({
      kind: 'warning',
      host,
      message: `handler${names.length > 1 ? 's' : ''} ${names.map((name) => `"${name}"`).join(', ')} (play "${play}") notified on ${host}, which is unreachable: not run and not remembered; run ${names.length > 1 ? 'them' : 'it'} by hand once the host is back`,
    });
  }

  #memory(session: HostSession): Promise<HostMemory> {
    let memory = this.#hosts.get(session.name);
    if (!memory) {
      memory = this.#load(session);
      this.#hosts.set(session.name, memory);
      // A failed read (host unreachable) is not kept: the caller reports it, a later play asks again.
      memory.catch(() => this.#hosts.delete(session.name));
    }
    return memory;
  }

  async #load(session: HostSession): Promise<HostMemory> {
    const state = await session.context(undefined).fact(pendingHandlersFact(this.#key));
    if (state.kind === 'absent') return { plays: {}, onDisk: false };
    if (state.kind === 'unreadable') {
      this.settings.bus.emit({
        kind: 'warning',
        host: session.name,
        message: `the pending-handlers state file of playbook "${this.playbook}" is unreadable (${state.problem}): ignored, and replaced once this run's handlers ran`,
      });
      return { plays: {}, onDisk: true };
    }
    for (const [play, names] of Object.entries(state.plays)) {
      if (this.plays.includes(play)) continue;
      delete state.plays[play];
      this.settings.bus.emit({
        kind: 'warning',
        host: session.name,
        message: `handler${names.length > 1 ? 's' : ''} ${names.map((name) => `"${name}"`).join(', ')} pending from an interrupted run of play "${play}", which the playbook no longer has: dropped`,
      });
    }
    return { plays: state.plays, onDisk: true };
  }

  async #write(session: HostSession, memory: HostMemory, task: string): Promise<void> {
    const content = Object.keys(memory.plays).length > 0 ? renderPendingFile(this.playbook, memory.plays) : undefined;
    const run = await runTask(
      session,
      { name: task, module: pendingHandlersState, params: { key: this.#key, content }, become: undefined },
      { check: false, redactor: this.settings.redactor, clock: this.settings.clock },
    );
    this.settings.bus.emit({ kind: 'task-result', result: run.result, params: run.params, handler: true });
    if (run.result.status === 'changed' || run.result.status === 'ok') memory.onDisk = content !== undefined;
    else
      this.settings.bus.emit({
        kind: 'warning',
        host: session.name,
        message: `could not ${content ? 'remember' : 'clear'} the pending handlers on ${session.name}: ${run.result.msg}`,
      });
  }
}
