/**
 * File content sent to many hosts without one copy per host. A `ContentSource` knows its size and sha256
 * (computed once, however many hosts ask) and hands each command a fresh stream of its bytes: from one
 * Buffer shared by every host (inline content), or read in 64 KiB chunks from the controller's file
 * (`copy src=`), so memory grows with hosts × chunk, not hosts × file. The channel's flow control paces
 * the reads (`pipe`), so a slow host holds at most a chunk or two, never the file.
 *
 * A file read back while streaming is hashed again, and the last chunk is held back until the hash has
 * been checked: a file changed on the controller after it was hashed reaches the host short, and the
 * write command's size check refuses it (nothing changes on the host) instead of installing bytes that
 * were never planned or shown.
 *
 * @example
 *   const source = await ContentSource.fromFile('files/big.tar');   // hashed once, shared by every host
 *   command.stdin = source.stdin(Buffer.from(`${source.size}\n`));     // each host streams it
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { StreamedStdin } from './command.ts';

/** Bytes per read from a controller-side file: small per host, large enough to keep a channel busy. */
export const STREAM_CHUNK_BYTES = 64 * 1024;

/** Controller files up to this size are read whole (diffs show them); larger ones are streamed. */
export const IN_MEMORY_FILE_LIMIT = 256 * 1024;

/** Inline texts remembered with their bytes and hash, so N hosts given the same text convert it once. */
const TEXT_CACHE_ENTRIES = 8;
/** …and at most this many bytes of them, so the cache never holds much past the tasks that use it. */
const TEXT_CACHE_BYTES = 128 * 1024 * 1024;

type Origin = { kind: 'bytes'; bytes: Buffer } | { kind: 'file'; path: string };

export class ContentSource {
  private constructor(
    /** Size in bytes. */
    readonly size: number,
    /** Lowercase hex sha256 of the bytes. */
    readonly sha256: string,
    private readonly origin: Origin,
  ) {}

  /** Content already in memory: hashed now, shared (never copied) by every host that sends it. */
  static fromBytes(bytes: Buffer): ContentSource {
    return new ContentSource(bytes.length, createHash('sha256').update(bytes).digest('hex'), { kind: 'bytes', bytes });
  }

  /** Inline text as UTF-8; the same text given to many hosts is converted and hashed once. */
  static fromText(text: string): ContentSource {
    const known = textCache.get(text);
    if (known) return known;
    const source = ContentSource.fromBytes(Buffer.from(text));
    if (source.size > TEXT_CACHE_BYTES) return source;
    textCache.set(text, source);
    textCacheBytes += source.size;
    while (textCache.size > TEXT_CACHE_ENTRIES || textCacheBytes > TEXT_CACHE_BYTES) {
      const [oldest, evicted] = textCache.entries().next().value!;
      textCache.delete(oldest);
      textCacheBytes -= evicted.size;
    }
    return source;
  }

  /**
   * A file on the controller. Small files are read whole; larger ones are hashed once in chunks and
   * streamed per host. Asked by many hosts at once, the file is stat'ed by each and hashed by the first.
   * Errors are those of `stat`/`readFile` (ENOENT, EISDIR…), for the caller to explain.
   */
  static async fromFile(path: string): Promise<ContentSource> {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
    // A device or a FIFO has no size to check the bytes against, and /dev/zero never ends: read whole, it
    // filled the controller's memory.
    if (!info.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
    if (info.size <= IN_MEMORY_FILE_LIMIT) return ContentSource.fromBytes(await readFile(path));
    const key = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${path}`;
    let pending = fileCache.get(key);
    if (!pending) {
      pending = hashFile(path).then(({ size, sha256 }) => new ContentSource(size, sha256, { kind: 'file', path }));
      fileCache.set(key, pending);
      pending.catch(() => fileCache.delete(key));
    }
    return pending;
  }

  /** The bytes when they are held in memory (inline content, small files); undefined for a streamed file. */
  get bytes(): Buffer | undefined {
    return this.origin.kind === 'bytes' ? this.origin.bytes : undefined;
  }

  /** A new stream of the bytes, after `prefix` (e.g. a size header). */
  open(prefix?: Buffer): Readable {
    if (this.origin.kind === 'bytes') return Readable.from(chunksOf(this.origin.bytes, prefix), { objectMode: false });
    const file = createReadStream(this.origin.path, { highWaterMark: STREAM_CHUNK_BYTES });
    const verify = new VerifiedContent(this.origin.path, this.size, this.sha256, prefix);
    file.on('error', (error) => verify.destroy(error));
    verify.on('close', () => file.destroy());
    return file.pipe(verify);
  }

  /** Stdin for a command: `prefix`, then the content, streamed; each command gets its own stream. */
  stdin(prefix: Buffer): StreamedStdin {
    return { size: prefix.length + this.size, open: () => this.open(prefix) };
  }
}

const textCache = new Map<string, ContentSource>();
let textCacheBytes = 0;
const fileCache = new Map<string, Promise<ContentSource>>();

/** Slices of one shared buffer (subarrays: views, not copies). */
function* chunksOf(bytes: Buffer, prefix: Buffer | undefined): Generator<Buffer> {
  if (prefix && prefix.length > 0) yield prefix;
  for (let at = 0; at < bytes.length; at += STREAM_CHUNK_BYTES) yield bytes.subarray(at, at + STREAM_CHUNK_BYTES);
}

async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Passes a file's bytes through while hashing them, holding back the last chunk until the whole file has
 * been seen: if the bytes are not the ones planned (size or sha256), the stream fails without them.
 */
class VerifiedContent extends Transform {
  readonly #hash = createHash('sha256');
  #size = 0;
  #held: Buffer | undefined;

  constructor(
    private readonly path: string,
    private readonly expectedSize: number,
    private readonly expectedSha256: string,
    prefix: Buffer | undefined,
  ) {
    super();
    if (prefix && prefix.length > 0) this.push(prefix);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    const previous = this.#held;
    this.#held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    const sha256 = this.#hash.digest('hex');
    if (this.#size !== this.expectedSize || sha256 !== this.expectedSha256) {
      done(
        new Error(
          `${this.path} changed on the controller while it was being sent (now ${this.#size} bytes, sha256 ${sha256}; planned ${this.expectedSize} bytes, sha256 ${this.expectedSha256}); run again`,
        ),
      );
      return;
    }
    done(null, this.#held);
  }
}
