/**
 * Secrets: a value that must never be displayed, logged or put on a process's argument list.
 *
 * A Secret is a distinct type so that the compiler, not discipline, keeps it apart from plain strings:
 * `String(secret)` and `JSON.stringify(secret)` both give the mask, and the only way to the real value is
 * `reveal()`, which the runner calls when it writes the value to a command's stdin.
 */
import { tail } from './result.ts';

export const MASK = '********';

/** Starts the note a capped output ends with (transport/capped-output.ts); see Redactor. */
export const TRUNCATION_NOTE = '\n[drover: output truncated';

/** A value that is redacted everywhere it could be shown. Create one with `secret(value)`. */
export class Secret {
  readonly #value: string;
  /** The exact bytes of a secret made from bytes (fromBytes); undefined for one made from text. */
  #bytes: Buffer | undefined;
  /** A short name for messages ("join token"), never the value. */
  readonly label: string;

  constructor(value: string, label = 'secret') {
    this.#value = value;
    this.label = label;
  }

  /**
   * A secret made of bytes that must arrive as they are (a key file read by slurp). Its text, which
   * `reveal` gives and the redactor masks, is their UTF-8 decoding, where a byte that is not UTF-8 becomes
   * U+FFFD; `revealBytes` gives the bytes themselves, so a copy of it writes the file byte for byte.
   */
  static fromBytes(bytes: Buffer, label?: string): Secret {
    const made = new Secret(bytes.toString('utf8'), label);
    made.#bytes = Buffer.from(bytes);
    return made;
  }

  /** The real value: only for the runner's stdin writer and the redactor. */
  reveal(): string {
    return this.#value;
  }

  /** The real value as bytes, for whatever sends it (stdin, a file's content): exact for fromBytes, else UTF-8. */
  revealBytes(): Buffer {
    return this.#bytes ?? Buffer.from(this.#value);
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
 *
 * Mask first, cut after: whoever shortens text for display (a tail of stderr, a failure message) must
 * redact the whole text first, since a cut through a secret leaves a piece the redactor cannot recognise.
 * The one cut made before the redactor can see the text, the per-stream output cap, is marked by
 * TRUNCATION_NOTE, and a piece of a secret right before that note is masked here.
 */
export class Redactor {
  readonly #values = new Set<string>();
  #sorted: string[] | undefined;

  /**
   * Registers a secret. Values shorter than 4 characters are refused as too likely to mask innocent text.
   * A multi-line secret (a PEM key) is registered whole and, in addition, each of its lines of 8 or more
   * characters: a report that cuts text by lines (the last lines of stderr) shows a few of its lines,
   * which the whole value no longer matches. Shorter lines are left: they are words, not the secret.
   */
  add(value: Secret | string): void {
    const plain = value instanceof Secret ? value.reveal() : value;
    this.#register(plain);
    if (/[\r\n]/.test(plain)) {
      for (const line of plain.split(/\r?\n|\r/)) if (line.trim().length >= 8) this.#register(line.trim());
    }
  }

  /**
   * Registers a task's output as a secret (`secretOutput`): the output as a whole, and the lines and words
   * in it that look like key material. Never every line: a secret output's short lines ("root", "true",
   * "/etc") are vocabulary, and masking them everywhere made unrelated output unreadable.
   */
  addOutput(output: string): void {
    for (const value of secretOutputValues(output)) this.#register(value);
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is masked whole.
    for (const value of this.#ordered()) {
      if (out.includes(value)) out = out.split(value).join(MASK);
    }
    // No secret, nothing to mask: a cut output (megabytes) is returned as it is, not split and rejoined.
    return this.#values.size > 0 && out.includes(TRUNCATION_NOTE) ? this.#maskCutSecrets(out) : out;
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

  /** Masks then cuts: the last `maxLines` lines of `text`, at most `maxChars` characters. */
  tail(text: string, maxLines = 20, maxChars = 4000): string {
    return tail(this.redact(text), maxLines, maxChars);
  }

  /**
   * A value, and the forms drover itself writes it in when it is not verbatim: inside single-quoted shell
   * words (a command line's `'it'\''s'`, as shellQuote escapes a quote, nested) and inside a JSON string
   * (a schema error quoting `"ab\\cd"`). Each of those showed a secret holding a quote or a backslash in clear.
   */
  #register(plain: string): void {
    // Quoted once for its own word, again when the script goes into `/bin/sh -c '…'`, a third time under sudo.
    const quoted = [plain];
    for (let level = 0; level < 3; level++) quoted.push(quoted.at(-1)!.replaceAll("'", "'\\''"));
    for (const form of new Set([...quoted, JSON.stringify(plain).slice(1, -1)])) {
      if (form.length < 4 || this.#values.has(form)) continue;
      this.#values.add(form);
      this.#sorted = undefined;
    }
  }

  #ordered(): string[] {
    this.#sorted ??= [...this.#values].sort((a, b) => b.length - a.length);
    return this.#sorted;
  }

  /**
   * Output cut at its cap ends, right before the note, with whatever the cap left of the last secret:
   * its first few characters. Any end of the kept text that is the start of a secret is masked (an
   * innocent end that happens to match costs a few characters of output, never a secret's).
   */
  #maskCutSecrets(text: string): string {
    let changed = false;
    const masked = text.split(TRUNCATION_NOTE).map((whole, index, parts) => {
      if (index === parts.length - 1) return whole;
      // A cut through a multi-byte character decodes as U+FFFD: compare what comes before it.
      const part = whole.replace(/\uFFFD+$/, '');
      let longest = 0;
      for (const value of this.#values) {
        for (let length = Math.min(value.length - 1, part.length); length > longest; length--) {
          if (part.endsWith(value.slice(0, length))) {
            longest = length;
            break;
          }
        }
      }
      if (longest === 0) return whole;
      changed = true;
      return part.slice(0, part.length - longest) + MASK;
    });
    // Unchanged text is returned as it is: joining would copy all of it (megabytes of cut output).
    return changed ? masked.join(TRUNCATION_NOTE) : text;
  }
}

/**
 * What a secret output registers: the output as a whole (trimmed), and each line and each whitespace-
 * separated word (quotes stripped) that looks like key material. A kubeadm join command gives the whole
 * line and its token; a PEM key gives the whole key and each base64 line, not its BEGIN/END lines; a list
 * of users gives only the whole list.
 */
export function secretOutputValues(output: string): string[] {
  const values = new Set<string>();
  const whole = output.trim();
  if (whole) values.add(whole);
  for (const line of whole.split(/\r?\n|\r/)) {
    const trimmed = line.trim();
    if (looksLikeKeyMaterial(trimmed)) values.add(trimmed);
    for (const word of trimmed.split(/\s+/)) {
      const bare = word.replace(/^["'`([{<]+|["'`)\]}>,;.:]+$/g, '');
      if (looksLikeKeyMaterial(bare)) values.add(bare);
    }
  }
  return [...values];
}

/**
 * Text that is a credential rather than words: at least 16 characters, letters and digits mixed, and
 * varied (at least 3 bits of Shannon entropy per character; English words and paths have fewer distinct
 * characters than a random token of the same length). Tokens, hashes, base64 lines pass; `root`,
 * `/etc/kubernetes/admin.conf`, `-----BEGIN PRIVATE KEY-----` do not.
 */
export function looksLikeKeyMaterial(text: string): boolean {
  if (text.length < 16 || !/[A-Za-z]/.test(text) || !/[0-9]/.test(text)) return false;
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits >= 3;
}
