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
// audit log; the log, not the terminal, is the record. Standard output that cannot be written at all (a
// full disk, `> /dev/full`) is said once on stderr, and the run goes on the same way; a command whose
// output is its result (inventory, audit, help) then fails, since its result was lost.
let stdoutLost: string | undefined;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    if (stream !== process.stdout) return reportStrayError(error);
    if (stdoutLost !== undefined) return;
    stdoutLost = error.code ?? error.message;
    process.stderr.write(`drover: standard output cannot be written (${stdoutLost}): what drover prints there is dropped from here on\n`);
  });
}
process.on('uncaughtException', (error) => reportStrayError(error));
process.on('unhandledRejection', (reason) => reportStrayError(reason));

const argv = process.argv.slice(2);
// The write error comes as an event after the write, possibly after main has returned: decided at exit.
process.on('exit', () => {
  if (stdoutLost !== undefined && !process.exitCode && outputIsTheResult(argv)) process.exitCode = 1;
});
process.exitCode = await main(argv);

/** Commands whose standard output is what they produce; a run's own record is its audit log instead. */
function outputIsTheResult(args: string[]): boolean {
  return ['inventory', 'audit', 'help', '--help', '-h', '--version', undefined].includes(args[0]);
}
