/**
 * Facts are named, read-only probes: a script plus a pure parser from its output to a typed value.
 *
 * The runner caches each fact per host per run, so ten modules asking for the OS family cost one round
 * trip, and drops every non-stable fact after a change on that host, so a planner never decides from
 * a value that an earlier task made stale. Parsers are pure and tested from captured output.
 */
import type { Script } from './command.ts';
import type { ProbeOutput } from './module.ts';
import type { PredictedView } from './predicted-state.ts';

export interface Fact<T> {
  /** Unique cache key; parameterised facts include their argument ("file:/etc/hosts"). */
  readonly key: string;
  /** A read-only script: it runs in check mode too. */
  readonly script: Script;
  /** Turns the probe's output into the value; throws a FactError when the output makes no sense. */
  parse(output: ProbeOutput): T;
  /**
   * A stable fact (OS family, init system) survives changes on the host; others are dropped after any
   * change there.
   */
  readonly stable?: boolean;
  /**
   * In a dry run: the value as the earlier tasks' planned changes would leave it (a kernel module a
   * modprobe task would load). The probed value is cached; this is applied on every read.
   */
  predict?(value: T, predicted: PredictedView): T;
}

/** A probe's output could not be understood: names the fact and shows what came back. */
export class FactError extends Error {
  constructor(
    readonly fact: string,
    problem: string,
  ) {
    super(`fact ${fact}: ${problem}`);
    this.name = 'FactError';
  }
}
