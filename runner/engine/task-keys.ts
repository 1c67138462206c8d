/**
 * Stable names for a run's tasks, one sequence per host and play: `2.3 write motd` is the third task
 * the second play ran on that host, `2.h1 restart nginx` its first handler run. A saved plan records
 * each task under its key, and an apply finds the reviewed task by the same key: a playbook that takes
 * another path on a host (a task more, a task fewer, another order) no longer lines up.
 */
import type { RunState } from './run-state.ts';

export class TaskKeys {
  readonly #playNumbers = new Map<symbol, number>();
  readonly #counters = new Map<string, number>();

  constructor(plays: ReadonlyArray<{ readonly id: symbol }>) {
    for (const [index, play] of plays.entries()) this.#playNumbers.set(play.id, index + 1);
  }

  /** The next key on this host in this play; handlers are counted apart from tasks. */
  next(host: string, play: { readonly id: symbol }, handler: boolean, task: string): string {
    const playNumber = this.#playNumbers.get(play.id) ?? 0;
    const sequence = `${host}\n${playNumber}\n${handler}`;
    const number = (this.#counters.get(sequence) ?? 0) + 1;
    this.#counters.set(sequence, number);
    return `${playNumber}.${handler ? 'h' : ''}${number} ${task}`;
  }
}

/** One run's keys, found through its RunState (which every part of the engine is handed). */
export const taskKeysOf = new WeakMap<RunState, TaskKeys>();
