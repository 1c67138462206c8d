/**
 * The run-time check of what a playbook declares: each play's options (hosts, serial, retry…) when
 * `book.play` and `book.playbook` are called, so a wrong value stops the playbook as it is loaded, before
 * any host is contacted, instead of when its play starts after earlier plays changed hosts. TypeScript
 * checks the same at compile time, but `serial: 0` fits `number`, and `--no-typecheck` or `as any` skip it.
 *
 * @example
 *   checkPlay({ name: 'web', hosts: 'web', serial: 0, tasks }); // PlaybookError: play "web": serial: …
 */
import { closest } from './names.ts';
import { Schema, SchemaError, s } from './schema.ts';
import { Secret } from './secret.ts';

/** A playbook whose plays or options are malformed: names the play and the option, and what is allowed. */
export class PlaybookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaybookError';
  }
}

/** A function (a play's tasks, a handler, retry's until): checked to be callable, passed on as it is. */
class FunctionSchema extends Schema<(...args: never[]) => unknown> {
  parse(value: unknown, path: string): (...args: never[]) => unknown {
    if (typeof value !== 'function') throw new SchemaError(path, `expected ${this.describe()}, got ${shown(value)}`);
    return value as (...args: never[]) => unknown;
  }
  describe(): string {
    return 'a function';
  }
}

/** A Secret, as `become.password` holds it. */
class SecretValueSchema extends Schema<Secret> {
  parse(value: unknown, path: string): Secret {
    if (!(value instanceof Secret)) throw new SchemaError(path, `expected ${this.describe()}, got ${shown(value)}`);
    return value;
  }
  describe(): string {
    return 'a secret(…)';
  }
}

const PERCENT = /^(\d+(?:\.\d+)?)%$/;

/** Ansible's `serial`: a whole number of hosts, or a share of the play's hosts from just above 0% to 100%. */
const serial = s.union<number | string, number | string>(
  s.int({ min: 1 }),
  s.string({ pattern: PERCENT, what: "a percentage such as '30%'" }).refine((text) => {
    const share = Number(PERCENT.exec(text)![1]);
    return share > 0 && share <= 100 ? undefined : `${text} is not a share of the play's hosts (above 0%, at most 100%)`;
  }),
);

const fn = new FunctionSchema();
const become = s.union<unknown, unknown>(
  s.boolean(),
  s.string({ nonEmpty: true }),
  s.object({ user: s.string({ nonEmpty: true }).optional(), password: new SecretValueSchema().optional() }),
);
const handler = s.union<unknown, unknown>(
  fn,
  s.object({ listen: s.union<unknown, unknown>(s.string({ nonEmpty: true }), s.array(s.string({ nonEmpty: true }), { nonEmpty: true })), run: fn }),
);

/** Each play option's schema, by name (the names of PlayDefinition in playbook.ts). */
const PLAY_OPTIONS: Record<string, Schema<unknown, unknown, boolean>> = {
  name: s.string({ nonEmpty: true }),
  hosts: s.string({ pattern: /\S/, what: "a host pattern ('all', a group, 'web:&prod', 'node*')" }),
  become: become.optional(),
  tags: s.array(s.string({ nonEmpty: true })).optional(),
  serial: serial.optional(),
  maxFailPercentage: s.number({ min: 0, max: 100 }).optional(),
  handlers: s.record(handler).optional(),
  tasks: fn,
};

/** The retry policy of a task: attempts ≥ 1 (the first run included), a pause ≥ 0 s, an optional until. */
const RETRY = s.object({
  attempts: s.int({ min: 1 }),
  delaySeconds: s.number({ min: 0, max: 86_400 }).optional(),
  until: fn.optional(),
});

/**
 * Checks one play as `book.play` is given it; `position` (1-based) when it is known (`book.playbook`).
 * Unknown options are refused with the nearest known one: `searial: 2` would otherwise run in one batch.
 */
export function checkPlay(play: unknown, position?: number): void {
  const at = position === undefined ? '' : ` (play ${position} of book.playbook([…]))`;
  if (typeof play !== 'object' || play === null || Array.isArray(play)) {
    const what = position === undefined ? 'book.play() was given' : `book.playbook([…]): play ${position} is`;
    throw new PlaybookError(`${what} ${shown(play)}, not a play: pass book.play({ name, hosts, tasks }) a play's definition, and book.playbook its results`);
  }
  const record = play as Record<string, unknown>;
  const name = typeof record.name === 'string' && record.name !== '' ? `play "${record.name}"${at}` : `a play${at}`;
  const known = Object.keys(PLAY_OPTIONS);
  for (const key of Object.keys(record)) {
    if (key === 'id' || known.includes(key)) continue;
    const near = closest(key, known);
    throw new PlaybookError(`${name}: ${key}: unknown play option${near ? `; did you mean ${near}?` : ''} (known: ${known.join(', ')})`);
  }
  for (const [key, schema] of Object.entries(PLAY_OPTIONS)) {
    const value = record[key];
    try {
      if (value === undefined && !schema.omittable) throw new SchemaError(key, `is required (${schema.describe()})`);
      schema.parse(value, key);
    } catch (error) {
      if (error instanceof SchemaError) throw new PlaybookError(`${name}: ${error.message}`);
      throw error;
    }
  }
}

/** Checks `book.playbook([...])`'s argument: a list of plays, each checked as `book.play` checks it. */
export function checkPlays(plays: unknown): void {
  if (!Array.isArray(plays)) throw new PlaybookError(`book.playbook() expects a list of plays (book.playbook([play1, play2])), got ${shown(plays)}`);
  for (const [index, play] of plays.entries()) checkPlay(play, index + 1);
}

/** A task's `retry` option, checked when the task is called: the problem in words, or undefined when it is fine. */
export function retryProblem(retry: unknown): string | undefined {
  if (retry === undefined) return undefined;
  try {
    RETRY.parse(retry, 'retry');
    return undefined;
  } catch (error) {
    if (error instanceof SchemaError) return error.message;
    throw error;
  }
}

function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
