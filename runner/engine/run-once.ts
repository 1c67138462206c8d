/**
 * `t.runOnce` within one play: which host runs each named piece of code, and the shared result every
 * other host of the play waits for. The chosen host runs it when its own code reaches the call (so it
 * runs after that host's earlier tasks, as Ansible's linear run_once does); the others only wait. A
 * chosen host that fails, or ends its play without reaching the call, settles the wait with the reason,
 * so no host waits for ever.
 */
import type { Shared } from '../playbook.ts';
import { resultWithoutCommands, type TaskResult } from '../result.ts';
import { HostStopped, type HostFlow } from './host-flow.ts';

/** Why a waiting host got no shared result. `stopping`: the run was stopping (nothing failed here). */
export class RunOnceUnavailable extends Error {
  constructor(
    readonly why: 'failed' | 'missed' | 'stopping' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'RunOnceUnavailable';
  }
}

interface Entry {
  host: string;
  promise: Promise<Shared<unknown>>;
  resolve: (shared: Shared<unknown>) => void;
  reject: (error: RunOnceUnavailable) => void;
  claimed: boolean;
}

/** One per play: run-once names to their shared result. */
export class RunOnceRegistry {
  readonly #entries = new Map<string, Entry>();
  /** Hosts whose code for this play has ended, with the reason a run-once they did not reach is unavailable. */
  readonly #done = new Map<string, RunOnceUnavailable>();
  #batch: ReadonlySet<string> = new Set();
  /** Hosts whose code for this play has started, and how many hosts are waiting (each holds one of --forks). */
  readonly #started = new Set<string>();
  #waiting = 0;

  /** `playHosts`: the play's hosts in order (every batch); the default chosen host is the first. */
  constructor(
    readonly playName: string,
    private readonly playHosts: readonly string[],
    private readonly forks: number,
  ) {}

  hostStarted(host: string): void {
    this.#started.add(host);
  }

  /** The hosts running now (with `serial`, the current batch): a chosen host outside it could not answer. */
  startBatch(hosts: readonly string[]): void {
    this.#batch = new Set(hosts);
  }

  /** The host that runs `name`, or throws RunOnceUnavailable('invalid') naming the play's hosts. */
  chosenHost(name: string, requested: string | undefined): string {
    const entry = this.#entries.get(name);
    // The first caller's choice holds: hosts that disagree still share one run.
    const host = entry?.host ?? requested ?? this.playHosts[0]!;
    if (!this.playHosts.includes(host)) {
      throw new RunOnceUnavailable(
        'invalid',
        `runOnce "${name}" names host ${host}, which is not one of play "${this.playName}"'s hosts (${this.playHosts.join(', ')}); name one of them (--limit and earlier failures narrow the play)`,
      );
    }
    if (!this.#batch.has(host) && !this.#done.has(host) && !entry?.claimed) {
      throw new RunOnceUnavailable(
        'invalid',
        `runOnce "${name}" runs on ${host}, which is in a later batch of play "${this.playName}" (serial): name a host of the first batch`,
      );
    }
    return host;
  }

  /**
   * Called by the chosen host: undefined the first time (the caller runs the code, then settles), else the
   * earlier call's result (a name runs once per play, even in a loop).
   */
  claim(name: string, host: string): { settle: (shared: Shared<unknown>) => void; fail: (error: RunOnceUnavailable) => void } | Promise<Shared<unknown>> {
    const entry = this.entry(name, host);
    if (entry.claimed) return entry.promise;
    entry.claimed = true;
    return { settle: entry.resolve, fail: entry.reject };
  }

  /** Called by every other host: the shared result, once the chosen host has it. */
  wait(name: string, host: string): Promise<Shared<unknown>> {
    const entry = this.entry(name, host);
    const done = this.#done.get(host);
    if (done && !entry.claimed) entry.reject(unreached(done, name, host));
    // Waiting hosts hold their --forks slots: if they hold them all, the chosen host could never start.
    if (!this.#started.has(host) && this.#waiting + 1 >= this.forks) {
      return Promise.reject(
        new RunOnceUnavailable(
          'invalid',
          `runOnce "${name}" runs on ${host}, which has not started, and every one of the ${this.forks} fork(s) would be waiting for it: raise --forks or let the play's first host run it`,
        ),
      );
    }
    this.#waiting++;
    return entry.promise.finally(() => this.#waiting--);
  }

  /**
   * A host's code for this play ended (`failure` set when it failed or the run is stopping): a run-once it
   * was chosen for and never reached can no longer come, so its waiters are told why.
   */
  hostDone(host: string, failure: RunOnceUnavailable | undefined): void {
    const reason =
      failure ??
      new RunOnceUnavailable(
        'missed',
        `${host} finished play "${this.playName}" without reaching it; every host must reach the call, or name a host that does`,
      );
    this.#done.set(host, reason);
    for (const [name, entry] of this.#entries) if (entry.host === host && !entry.claimed) entry.reject(unreached(reason, name, host));
  }

  private entry(name: string, host: string): Entry {
    let entry = this.#entries.get(name);
    if (!entry) {
      let resolve!: Entry['resolve'];
      let reject!: Entry['reject'];
      const promise = new Promise<Shared<unknown>>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      // A rejection nobody waits for (every other host already ended) is not an unhandled error.
      promise.catch(() => {});
      entry = { host, promise, resolve, reject, claimed: false };
      this.#entries.set(name, entry);
    }
    return entry;
  }
}

function unreached(reason: RunOnceUnavailable, name: string, host: string): RunOnceUnavailable {
  return new RunOnceUnavailable(reason.why, `runOnce "${name}" was to run on ${host}: ${reason.message}`);
}

/** What `t.runOnce` needs of the engine on one host (run-playbook.ts hands these in). */
export interface RunOnceContext {
  host: string;
  play: string;
  check: boolean;
  flow: HostFlow;
  /** Absent in a handler: handlers run per host at the end of the play, there is nothing to share. */
  registry: RunOnceRegistry | undefined;
  /** Reports a record; `counted`: also in the recap (a failure of this host). */
  emit(result: TaskResult, counted: boolean): void;
  recordFailure(result: TaskResult): void;
}

/** `t.runOnce` on one host: runs `produce` if this host is the chosen one, else waits for its result. */
export async function runOnceOnHost(
  name: string,
  produce: () => Promise<unknown>,
  requested: string | undefined,
  context: RunOnceContext,
): Promise<Shared<unknown>> {
  const { host, flow, registry } = context;
  const fail = (msg: string, kind: 'invalid-input' | 'command-failed', sharedFrom?: string): never => {
    const hint = kind === 'invalid-input' ? 'fix the runOnce call' : `fix the failure on ${sharedFrom} shown above; this host ran nothing for it`;
    const result: TaskResult = { ...record(context, name, 'failed', msg), failure: { kind, hint }, ...(sharedFrom && { sharedFrom }) };
    context.emit(result, true);
    context.recordFailure(result);
    throw new HostStopped('failed');
  };
  if (!registry) return fail(`runOnce "${name}" is for a play's tasks, not a handler: handlers run per host at the end of the play`, 'invalid-input');
  let chosen: string;
  try {
    chosen = registry.chosenHost(name, requested);
  } catch (error) {
    return fail((error as Error).message, 'invalid-input');
  }
  // Recorded like a task (report, audit log), not counted in the recap: the tasks inside it are.
  const shared = (value: Shared<unknown>, msg: string): Shared<unknown> => {
    const unknown = value.known ? '' : `; unknown in check mode (it would change something on ${value.host}): tasks that use it would run`;
    context.emit({ ...record(context, name, 'ok', `${msg}${unknown}`), sharedFrom: value.host }, false);
    return value;
  };
  if (chosen === host) {
    const claim = registry.claim(name, chosen);
    if (claim instanceof Promise) return claim;
    const before = flow.predictions;
    try {
      const value = await produce();
      // A prediction inside `produce` means the real run would compute it from output check mode does not have.
      const result: Shared<unknown> = { name, host: chosen, known: !context.check || flow.predictions === before, value };
      claim.settle(result);
      return shared(result, `ran once on ${chosen} for play "${context.play}"`);
    } catch (error) {
      const stopping = error instanceof HostStopped && error.why === 'stopping';
      const why =
        flow.lastFailure && error instanceof HostStopped ? `task "${flow.lastFailure.task}" failed: ${flow.lastFailure.msg.split('\n')[0]}` : 'its code threw';
      claim.fail(new RunOnceUnavailable(stopping ? 'stopping' : 'failed', `runOnce "${name}" failed on ${chosen} (${why})`));
      throw error;
    }
  }
  try {
    return shared(await registry.wait(name, chosen), `shared from ${chosen} (ran once there)`);
  } catch (error) {
    if (!(error instanceof RunOnceUnavailable)) throw error;
    if (error.why === 'stopping') throw new HostStopped('stopping');
    return fail(`${error.message}; every host of play "${context.play}" shares its result, so ${host} fails too`, 'command-failed', chosen);
  }
}

function record(context: RunOnceContext, name: string, status: 'ok' | 'failed', msg: string): TaskResult {
  return resultWithoutCommands({ host: context.host, task: name, module: 'runOnce', status, checkMode: context.check, msg });
}
