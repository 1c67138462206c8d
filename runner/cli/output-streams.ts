/**
 * Standard output and error that fail. A reader that goes away (`drover audit show LOG | head`) is not a
 * failure of the command: what it still prints is dropped and it finishes as it would have, with its own
 * status. A run goes on and closes its audit log; the log, not the terminal, is the record. Standard
 * output that cannot be written at all (a full disk, `> /dev/full`) is said once on stderr, and the run
 * goes on the same way; a command whose output is its result (inventory, audit, help) then fails, since
 * its result was lost. Imports nothing of drover's: run.ts uses it for the answers it gives itself.
 */

/**
 * Watches both streams from now on. `onStderrError` hears what failed on stderr (other than a reader
 * gone); `outputIsTheResult` is asked at exit whether the lost output makes the command fail.
 */
export function watchOutputStreams(onStderrError: (error: Error) => void, outputIsTheResult: () => boolean): void {
  let stdoutLost: string | undefined;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      if (stream !== process.stdout) return onStderrError(error);
      if (stdoutLost !== undefined) return;
      stdoutLost = error.code ?? error.message;
      process.stderr.write(`drover: standard output cannot be written (${stdoutLost}): what drover prints there is dropped from here on\n`);
    });
  }
  // The write error comes as an event after the write, possibly after the command has returned: decided at exit.
  process.on('exit', () => {
    if (stdoutLost !== undefined && !process.exitCode && outputIsTheResult()) process.exitCode = 1;
  });
}
