/**
 * Every test run gets a temp directory of its own, removed when the run ends: loaded by mocha before the
 * specs (.mocharc's `require`), it points TMPDIR there, so every `mkdtemp(join(tmpdir(), …))` of a test,
 * and every drover a test starts (they inherit the environment), makes its files inside it. Tests that
 * remove their own temp files still do; what one forgets, or leaves when it fails, no longer piles up in
 * /tmp run after run (hundreds of directories did). Spawned tsx processes keep their transform cache
 * there too, built once per run.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const scratch = mkdtempSync(join(process.env.TMPDIR || '/tmp', 'drover-tests-'));
// As open as /tmp itself, so that a test running a command as another user reaches its own files as it did.
chmodSync(scratch, 0o1777);
process.env.TMPDIR = scratch;

function removeScratch(): void {
  rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
}

export const mochaHooks = { afterAll: removeScratch };

// A run stopped from outside (`timeout`, a cancelled CI job, a closed terminal) never reaches afterAll:
// the directory goes first, then the signal is raised again with no listener, so it ends the run as before.
for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    removeScratch();
    process.kill(process.pid, signal);
  });
}
