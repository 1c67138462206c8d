/**
 * Which host's play a piece of the playbook's code belongs to, carried across awaits, timers and
 * promises: an exception nothing caught (a timer callback, a promise nobody awaited) is still reported
 * against the host and play whose code started it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CodeScope {
  host: string;
  /** The play, or `play / handler NAME`. */
  where: string;
}

export const playbookCodeScope = new AsyncLocalStorage<CodeScope>();

/** The host and play whose code is running now (or whose timer or promise this is), if any. */
export function currentCodeScope(): CodeScope | undefined {
  return playbookCodeScope.getStore();
}
