/**
 * The process around the command line (bin/drover.js runs this; run.ts supervises it): what belongs to
 * the whole process rather than to one command. Signals and the launcher's loss become stop requests
 * for the open run; an exception or rejection nothing handled (a playbook's timer callback, a promise it
 * never awaited) fails the open run like any failure instead of crashing it unrecorded.
 */
import { main } from './main.ts';
import { reportStrayError } from './stray-errors.ts';
import { stopRequests } from './stop-requests.ts';
import { watchOutputStreams } from './output-streams.ts';

stopRequests.watchProcess();
process.on('uncaughtException', (error) => reportStrayError(error));
process.on('unhandledRejection', (reason) => reportStrayError(reason));

const argv = process.argv.slice(2);
watchOutputStreams(reportStrayError, () => outputIsTheResult(argv));
process.exitCode = await main(argv);

/** Commands whose standard output is what they produce; a run's own record is its audit log instead. */
function outputIsTheResult(args: string[]): boolean {
  return ['inventory', 'audit', 'help', '--help', '-h', '--version', undefined].includes(args[0]);
}
