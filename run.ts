/**
 * Entry point, so that `npx tsx run …` works from the project's root (tsx resolves `run` to run.ts).
 * tsx's CLI kills a child that does not acknowledge a signal within ~30 ms, which a busy run cannot
 * promise; so this process only supervises drover proper (bin/drover.js) and passes signals on.
 */
import { fileURLToPath } from 'node:url';
import { supervise } from './runner/cli/supervise.ts';

supervise(fileURLToPath(new URL('./bin/drover.js', import.meta.url)), process.argv.slice(2));
