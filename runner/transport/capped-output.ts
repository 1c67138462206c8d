/**
 * Collects a command's stdout or stderr up to a byte limit, so a command that prints gigabytes cannot
 * exhaust the controller's memory. Past the limit bytes are counted, not kept, and the text ends with a
 * note saying how much was dropped — a reader never mistakes a cut output for the whole of it.
 */
import { TRUNCATION_NOTE } from '../secret.ts';

import type { OutputBudget } from './output-budget.ts';

/** Default limit per stream: far above what a task's report needs, far below what hurts a controller. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export class CappedOutput {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #dropped = 0;
  /** Bytes held back by the run-wide budget rather than by this stream's own limit. */
  #droppedByRun = false;
  #held = 0;

  /** `budget`: the run's shared cap (--max-output), besides this stream's own `maxBytes`. */
  constructor(
    readonly maxBytes: number = DEFAULT_MAX_OUTPUT_BYTES,
    readonly budget?: OutputBudget,
  ) {}

  push(chunk: Buffer): void {
    // Once anything was dropped nothing more is kept, even if the run's budget frees up: the text is
    // always a head of the output, never a head with holes.
    if (this.#dropped > 0) {
      this.#dropped += chunk.length;
      return;
    }
    let room = this.maxBytes - this.#kept;
    if (this.budget && room > 0) {
      const granted = this.budget.take(Math.min(room, chunk.length), this.#kept);
      this.#held += granted;
      if (granted < Math.min(room, chunk.length)) this.#droppedByRun = true;
      room = granted;
    }
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

  /** Bytes counted and not kept. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Drops the kept bytes and gives them back to the run's budget, once the text has been built from them;
   * later calls do nothing.
   */
  release(): void {
    this.#chunks.length = 0;
    this.budget?.release(this.#held);
    this.#held = 0;
  }

  /** The output as UTF-8 (decoded whole, so characters split across chunks survive), with the note if cut. */
  text(): string {
    const body = Buffer.concat(this.#chunks).toString('utf8');
    if (this.#dropped === 0) return body;
    // The note starts with TRUNCATION_NOTE: the redactor masks a secret the cut went through (secret.ts).
    const why = this.#droppedByRun ? ` (the run's output limit, --max-output ${this.budget?.totalBytes} bytes, was reached)` : '';
    return `${body}${TRUNCATION_NOTE}: kept the first ${this.#kept} bytes, dropped ${this.#dropped} more${why}]`;
  }
}
