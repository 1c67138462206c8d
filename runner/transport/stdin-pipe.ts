/**
 * Writes a command's stdin, shared by the SSH and local transports: the bytes in hand, then (for large
 * content) a stream piped with flow control, so a host that reads slowly holds the controller to a chunk
 * or two instead of the whole file. A stream that fails (the source file changed while it was sent) cuts
 * the input off without its end: the receiving side sees fewer bytes than announced and changes nothing.
 */
import type { Readable, Writable } from 'node:stream';
import type { ExecOptions } from './transport.ts';

/**
 * `abort` closes the destination without a clean end of input; `finished` resolves when the command is
 * over, after which a stream still open (the command exited without reading it all) is closed.
 */
export function sendStdin(destination: Writable, options: Pick<ExecOptions, 'stdin' | 'stdinStream'>, abort: () => void, finished: Promise<unknown>): void {
  const prefix = options.stdin && options.stdin.length > 0 ? options.stdin : undefined;
  if (!options.stdinStream) {
    if (prefix) destination.end(prefix);
    else destination.end();
    return;
  }
  if (prefix) destination.write(prefix);
  let source: Readable;
  try {
    source = options.stdinStream();
  } catch {
    abort();
    return;
  }
  source.once('error', () => {
    source.unpipe(destination);
    abort();
  });
  source.pipe(destination);
  void finished.then(() => source.destroy());
}
