/**
 * Entry point, so that `npx tsx run …` works from the project's root (tsx resolves `run` to run.ts).
 * tsx's CLI kills a child that does not acknowledge a signal within ~30 ms, which a busy run cannot
 * promise; so this process only supervises drover proper (bin/drover.js) and passes signals on. The main
 * help and the version it prints itself: they do no work to protect, and starting drover for them would
 * cost a node process and tsx's loader (issue 13).
 */
import { fileURLToPath } from 'node:url';
import { answerWithoutCommand } from './runner/cli/main-help.ts';
import { watchOutputStreams } from './runner/cli/output-streams.ts';
import { supervise } from './runner/cli/supervise.ts';

const argv = process.argv.slice(2);
// One argument at most: drover checks a longer command line's arguments before it answers.
const answer = argv.length <= 1 ? answerWithoutCommand(argv) : undefined;
if (answer) {
  watchOutputStreams(
    () => undefined,
    () => true,
  );
  process.stdout.write(`${answer.text}\n`);
  process.exitCode = answer.status;
} else {
  supervise(fileURLToPath(new URL('./bin/drover.js', import.meta.url)), argv);
}
