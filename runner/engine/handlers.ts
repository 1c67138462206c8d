/**
 * A play's handlers as the engine sees them: one list in definition order (the order they run in, as in
 * Ansible), each with the names a `notify` reaches it by: its own name and its `listen` topics.
 */
import type { HandlerFn, Play } from '../playbook.ts';

export interface HandlerEntry {
  name: string;
  /** Its name, then its `listen` topics. */
  answersTo: string[];
  run: HandlerFn<any, string>;
}

/** The play's handlers in definition order, a plain function or a `{ listen, run }` definition alike. */
export function handlerEntries(play: Play<any, unknown, string, string>): HandlerEntry[] {
  return Object.entries(play.handlers ?? {}).map(([name, handler]) =>
    typeof handler === 'function' ? { name, answersTo: [name], run: handler } : { name, answersTo: [name, ...[handler.listen].flat()], run: handler.run },
  );
}

/** The handlers a notification reaches: the handler of that name and every handler listening to it. */
export function handlersFor(entries: HandlerEntry[], notification: string): string[] {
  return entries.filter((entry) => entry.answersTo.includes(notification)).map((entry) => entry.name);
}
