/**
 * Collects a command's stdout or stderr up to a byte limit, so a command that prints gigabytes cannot
 * exhaust the controller's memory. Past the limit bytes are counted, not kept, and the text ends with a
 * note saying how much was dropped — a reader never mistakes a cut output for the whole of it.
 */
import { TRUNCATION_NOTE } from '../secret.ts';

/** Default limit per stream: far above what a task's report needs, far below what hurts a controller. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export class CappedOutput {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #dropped = 0;

  constructor(readonly maxBytes: number = DEFAULT_MAX_OUTPUT_BYTES) {}

  push(chunk: Buffer): void {
    const room = this.maxBytes - this.#kept;
    if (room >= chunk.length) {
      this.#chunks.push(chunk);
      this.#kept += chunk.length;
      return;
    }
    if (room > 0) {
      this.#chunks.push(chunk.subarray(0, room));
      this.#kept += room;
    }
    this.#dropped += chunk.length - Math.max(room, 0);
  }

  get truncated(): boolean {
    return this.#dropped > 0;
  }

  /** The output as UTF-8 (decoded whole, so characters split across chunks survive), with the note if cut. */
  text(): string {
    const body = Buffer.concat(this.#chunks).toString('utf8');
    if (this.#dropped === 0) return body;
    // The note starts with TRUNCATION_NOTE: the redactor masks a secret the cut went through (secret.ts).
    return `${body}${TRUNCATION_NOTE}: kept the first ${this.#kept} bytes, dropped ${this.#dropped} more]`;
  }
}
