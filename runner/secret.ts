/**
 * Secrets: a value that must never be displayed, logged or put on a process's argument list.
 *
 * A Secret is a distinct type so that the compiler, not discipline, keeps it apart from plain strings:
 * `String(secret)` and `JSON.stringify(secret)` both give the mask, and the only way to the real value is
 * `reveal()`, which the runner calls when it writes the value to a command's stdin.
 */

export const MASK = '********';

/** A value that is redacted everywhere it could be shown. Create one with `secret(value)`. */
export class Secret {
  readonly #value: string;
  /** A short name for messages ("join token"), never the value. */
  readonly label: string;

  constructor(value: string, label = 'secret') {
    this.#value = value;
    this.label = label;
  }

  /** The real value: only for the runner's stdin writer and the redactor. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  /** Keeps `console.log(secret)` and util.inspect from printing the value. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${this.label})`;
  }
}

/** Wraps a value as a secret; a Secret passed in is returned as it is. */
export function secret(value: string | Secret, label?: string): Secret {
  return value instanceof Secret ? value : new Secret(value, label);
}

/**
 * Replaces every known secret value in text with the mask. One redactor lives for a run; every reporter
 * (terminal, JSON, audit) and every error message passes through it, so a secret that a command echoes
 * back (a join command printed by kubeadm) is hidden too.
 */
export class Redactor {
  readonly #values = new Set<string>();

  /** Registers a value; values shorter than 4 characters are refused as too likely to mask innocent text. */
  add(value: Secret | string): void {
    const plain = value instanceof Secret ? value.reveal() : value;
    if (plain.length >= 4) this.#values.add(plain);
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is masked whole.
    for (const value of [...this.#values].sort((a, b) => b.length - a.length)) {
      if (out.includes(value)) out = out.split(value).join(MASK);
    }
    return out;
  }

  /** Deep-redacts a JSON-like value: strings are redacted, Secrets become the mask. */
  redactValue(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (value instanceof Secret) return MASK;
    if (Array.isArray(value)) return value.map((item) => this.redactValue(item));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = this.redactValue(item);
      return out;
    }
    return value;
  }
}
