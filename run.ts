/**
 * Entry point, so that `npx tsx run …` works from the project's root (tsx resolves `run` to run.ts).
 */
import { main } from './runner/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
