/**
 * The CLI run with a full disk under one directory: a mount namespace of its own (`unshare --mount`) with
 * an 8 KiB tmpfs at `dir`, filled to the last block, so that creating an (empty) file there works and the
 * first write fails with ENOSPC, as on a real full disk. Needs root (CAP_SYS_ADMIN) and unshare; `usable`
 * says whether this machine has them, for tests to skip otherwise. The mount goes away with the process.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ROOT, type CliRun } from './run-cli.ts';

export const fullDiskUsable: boolean = process.getuid?.() === 0 && spawnSync('unshare', ['--mount', 'true'], { stdio: 'ignore' }).status === 0;

/** Runs `drover ARGS…` with `dir` (which must exist, empty) a full 8 KiB tmpfs; `setup` is shell run there first. */
export function runCliOnFullDisk(dir: string, args: string[], setup = ''): CliRun & { listing: string } {
  const started = Date.now();
  const script = [
    'mount -t tmpfs -o size=8k tmpfs "$0" || exit 99',
    setup,
    'dd if=/dev/zero of="$0/fill" bs=1k count=64 2>/dev/null',
    `"${process.execPath}" "${resolve(ROOT, 'bin/drover.js')}" "$@"`,
    'code=$?',
    'echo "@@listing" >&2; ls -A "$0" >&2',
    'exit $code',
  ].join('\n');
  const run = spawnSync('unshare', ['--mount', 'sh', '-c', script, dir, ...args], {
    cwd: ROOT,
    env: { ...process.env, FORCE_COLOR: '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const [stderr = '', listing = ''] = run.stderr.split('@@listing\n');
  return { code: run.status, stdout: run.stdout, stderr, listing, timedOut: run.error !== undefined, durationMs: Date.now() - started };
}
