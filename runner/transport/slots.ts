/**
 * A counting semaphore for the commands running at once on one connection. Over SSH each command is a
 * session channel, and OpenSSH refuses channels past `MaxSessions` (default 10), so the connection holds
 * at most `maxChannels` (the runner passes 8) and the rest wait here, in order. A wait can be abandoned
 * through an AbortSignal, so Ctrl-C does not leave queued commands to start later.
 */
export class Slots {
  #free: number;
  readonly #waiting: Array<(granted: boolean) => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`maxChannels must be a whole number of at least 1, got ${size}`);
    this.#free = size;
  }

  /** Resolves with a release function once a slot is free, or with undefined if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    const free = this.tryAcquire();
    if (free) return Promise.resolve(free);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const index = this.#waiting.indexOf(grant);
        if (index >= 0) this.#waiting.splice(index, 1);
        resolve(undefined);
      };
      const grant = (granted: boolean): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(granted ? this.#releaser() : undefined);
      };
      this.#waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A slot if one is free now, else undefined (without waiting). */
  tryAcquire(): (() => void) | undefined {
    if (this.#free === 0) return undefined;
    this.#free--;
    return this.#releaser();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next(true);
      else this.#free++;
    };
  }
}
