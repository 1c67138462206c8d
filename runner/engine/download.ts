/**
 * A file streamed from a host's command output to the controller (fetch): written chunk by chunk to a
 * temporary file beside its destination — never whole in memory — hashed as it arrives, and renamed into
 * place only when the command succeeded and the sha256 is the one the planner read on the host. Anything
 * else removes the temporary file, so the controller never holds a half or wrong copy under the real name.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makeDirectories } from '../make-directories.ts';

/** The download could not be completed as planned; the message says why and what to do. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export class Download {
  readonly #temp: string;
  readonly #fd: number;
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;
  #error: string | undefined;

  constructor(readonly target: { path: string; sha256: string; mode: number }) {
    makeDirectories(dirname(target.path));
    this.#temp = join(dirname(target.path), `.${basename(target.path)}.drover-${randomBytes(6).toString('hex')}`);
    this.#fd = openSync(this.#temp, 'wx', target.mode);
  }

  /** The transport's stdout sink: synchronous writes, so nothing piles up in memory. A failed write is kept, not thrown. */
  readonly write = (chunk: Buffer): void => {
    if (this.#error !== undefined) return;
    try {
      writeSync(this.#fd, chunk);
      this.#hash.update(chunk);
      this.#bytes += chunk.length;
    } catch (error) {
      this.#error = error instanceof Error ? error.message : String(error);
    }
  };

  /** Renames the copy into place, or removes it and throws DownloadError (commandOk false: removed quietly). */
  finish(commandOk: boolean): void {
    closeSync(this.#fd);
    const keep = commandOk && this.#error === undefined;
    const sha256 = this.#hash.digest('hex');
    if (keep && sha256 === this.target.sha256) {
      renameSync(this.#temp, this.target.path);
      return;
    }
    unlinkSync(this.#temp);
    if (!commandOk) return;
    if (this.#error !== undefined)
      throw new DownloadError(
        `could not write ${this.target.path} on the controller: ${this.#error}`,
        'check the free space and permissions of the destination directory',
      );
    throw new DownloadError(
      `the copy of ${this.target.path} has sha256 ${sha256} (${this.#bytes} bytes), not ${this.target.sha256} as read on the host: the file changed while it was copied`,
      'run again when the file on the host is no longer being written',
    );
  }
}
