/**
 * debug: record a message and a value in the report and the audit log — the join command a play built,
 * a fact it read. A `console.log` in a playbook leaves no trace in the audit log and does not know the
 * run's secrets; a debug task is a task like any other: it sends no command, never changes anything, runs
 * the same in check mode, and any Secret inside the value (at any depth: a slurped secret, a `secret()`)
 * prints as ******** in the terminal, the JSON events and the audit log.
 *
 * `verbosity` works as Ansible's: 0 shows the task at default verbosity; 1 only with -v, 2 with -vv…
 * Below its verbosity the terminal leaves the task out; the audit log records it always.
 *
 * @example
 *   await t.debug('join command', { msg: 'workers will join with', value: { endpoint, token: joinToken } });
 *   await t.debug('all facts', { value: await t.fact(facts.network), verbosity: 1 });
 */
import { inspect } from 'node:util';
import { defineModule, type Plan } from '../runner/module.ts';
import { s, Schema, type InputOf } from '../runner/schema.ts';
import { MASK, Secret } from '../runner/secret.ts';

/** Any value: debug shows what the playbook holds, whatever its type. */
class AnyValueSchema extends Schema<unknown, unknown, true> {
  parse(value: unknown): unknown {
    return value;
  }
  describe(): string {
    return 'any value';
  }
  override get omittable(): boolean {
    return true;
  }
}

/** The most characters of a rendered value in the task's message (the audit log keeps the value's JSON form). */
export const DEBUG_MAX_CHARS = 4000;

const params = s
  .object({
    /** What to say. */
    msg: s.string().optional(),
    /** A value to show: rendered as JSON (Secrets as ********, bytes as their size). */
    value: new AnyValueSchema(),
    /** Show the task only at this -v level or above (0: always, the default; 1: -v; 2: -vv; 3: -vvv). */
    verbosity: s.int({ min: 0, max: 3 }).default(0),
  })
  .rule((p) => (p.msg === undefined && p.value === undefined ? 'give msg, value or both' : undefined));

export type DebugParams = InputOf<typeof params>;

export const debug = defineModule({
  name: 'debug',
  summary: 'Record a message and a value in the report and the audit log (Secrets masked); changes nothing, runs no command',
  params,
  async plan(p): Promise<Plan> {
    const text = debugMessage(p.msg, p.value);
    return { changes: [], reason: text, ...(p.value !== undefined ? { value: p.value } : {}), ...(p.verbosity > 0 ? { verbosity: p.verbosity } : {}) };
  },
});

/** Pure: the task's message — `msg`, then the value rendered, cut to DEBUG_MAX_CHARS. */
export function debugMessage(msg: string | undefined, value: unknown): string {
  const parts = [msg, value === undefined ? undefined : renderValue(value)].filter((part): part is string => part !== undefined);
  const text = parts.join(': ');
  return text.length > DEBUG_MAX_CHARS ? `${text.slice(0, DEBUG_MAX_CHARS)}… (${text.length} characters)` : text;
}

/**
 * A value as one line of JSON. Secrets give MASK through their own toJSON; a Buffer shows its size (not
 * thousands of numbers); a bigint its digits. A value JSON cannot render (a cycle) falls back to
 * util.inspect, which Secret also answers with MASK.
 */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Secret) return MASK;
  try {
    const json = JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
      const original = key === '' ? value : this[key];
      if (Buffer.isBuffer(original)) return `<${original.length} bytes>`;
      if (typeof v === 'bigint') return v.toString();
      return v;
    });
    return json ?? String(value);
  } catch {
    return inspect(value, { depth: 6, breakLength: Infinity });
  }
}
