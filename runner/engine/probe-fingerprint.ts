/**
 * A digest of the host state a planner read: every fact value and every probe output, in the order it
 * asked for them. Two plans made from the same digest saw the same host; a saved plan carries it so an
 * apply can tell a host that drifted since review even where the commands happen to come out the same.
 *
 * @example
 *   const recorder = new ProbeFingerprint(session.context(become));
 *   const plan = await module.plan(params, recorder.context);
 *   recorder.digest(); // 'sha256 hex'
 */
import { createHash } from 'node:crypto';
import type { Fact } from '../facts.ts';
import type { HostContext, ProbeOptions } from '../module.ts';
import type { Script } from '../command.ts';
import { Secret } from '../secret.ts';

export class ProbeFingerprint {
  /**
   * One entry per read, in the order the planner asked, filled in when the answer arrives: a planner that
   * reads two things at once (Promise.all) gets them back in either order, and the digest must not depend
   * on which came first (it did: a saved plan then saw a host "drift" that had not).
   */
  readonly #reads: Array<string | undefined> = [];
  readonly context: HostContext;

  constructor(inner: HostContext) {
    this.context = {
      name: inner.name,
      vars: inner.vars,
      predicted: inner.predicted,
      fact: async <T>(fact: Fact<T>): Promise<T> => {
        const slot = this.#reads.push(undefined) - 1;
        const value = await inner.fact(fact);
        this.#reads[slot] = `fact ${fact.key}\n${stableText(value)}\n`;
        return value;
      },
      probe: async (script: Script, options?: ProbeOptions) => {
        if (options?.effectsOnly) return inner.probe(script, options);
        const slot = this.#reads.push(undefined) - 1;
        const output = await inner.probe(script, options);
        this.#reads[slot] = `probe ${script.text}\n${stableText(options?.fingerprint ? options.fingerprint(output) : output)}\n`;
        return output;
      },
    };
  }

  /** sha256 (hex) of everything read so far, in the order it was asked for (a read still unanswered counts as such). */
  digest(): string {
    const hash = createHash('sha256');
    for (const read of this.#reads) hash.update(read ?? 'unanswered\n');
    return hash.digest('hex');
  }
}

/**
 * A value as text that is the same whenever the value is: object keys sorted, bytes as their sha256
 * (a slurped file can be large), Maps and Sets by their entries; a Secret as its own sha256, so a changed
 * secret file is a changed state without the plan holding the secret.
 */
export function stableText(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Buffer.isBuffer(value)) return `bytes:${createHash('sha256').update(value).digest('hex')}`;
  if (value instanceof Secret) return `secret:${createHash('sha256').update(value.revealBytes()).digest('hex')}`;
  if (value instanceof Date) return `date:${value.toISOString()}`;
  if (value instanceof Map) return `map{${[...value.entries()].map(([k, v]) => `${stableText(k)}:${stableText(v)}`).join(',')}}`;
  if (value instanceof Set) return `set[${[...value].map(stableText).join(',')}]`;
  if (Array.isArray(value)) return `[${value.map(stableText).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined && typeof item !== 'function')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableText(item)}`).join(',')}}`;
  }
  return typeof value;
}
