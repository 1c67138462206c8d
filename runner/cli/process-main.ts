/**
 * The process around the command line (bin/drover.js runs this; run.ts supervises it): what belongs to
 * the whole process rather than to one command. Signals and the launcher's loss become stop requests
 * for the open run; an exception or rejection nothing handled (a playbook's timer callback, a promise it
 * never awaited) fails the open run like any failure instead of crashing it unrecorded.
 */
import { main } from './main.ts';
import { reportStrayError } from './stray-errors.ts';
import { stopRequests } from './stop-requests.ts';

stopRequests.watchProcess();
// A reader that goes away (`drover audit show LOG | head`) is not a failure of the command: what it still
// prints is dropped and it finishes as it would have, with its own status. A run goes on and closes its
// audit log; the log, not the terminal, is the record.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') reportStrayError(error);
  });
}
process.on('uncaughtException', (error) => reportStrayError(error));
process.on('unhandledRejection', (reason) => reportStrayError(reason));

process.exitCode = await main(process.argv.slice(2));
