/**
 * The journal diagnosis script against a stand-in `journalctl` on PATH that, like journald under load,
 * has not written a failed unit's last line on the first read.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sh } from '../../../runner/command.ts';
import { unitJournalScript } from '../../../modules/lib/journal.ts';

const run = promisify(execFile);
/** The read: journalctl --unit's matches, with UNIT= from any sender (systemd's forked child writes it). */
const READ = '-n 20 --no-pager _SYSTEMD_UNIT=x.service + UNIT=x.service + COREDUMP_UNIT=x.service _UID=0 + OBJECT_SYSTEMD_UNIT=x.service _UID=0';

describe("modules/lib/journal: a unit's journal for a diagnosis", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-journal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A journalctl that logs its arguments. With `sync`, the unit's error line is there once --sync ran
   * (journald flushed); without, --sync fails (systemd 219) and the line appears from read `lateRead` on.
   */
  function fakeJournalctl(options: { sync: boolean; lateRead?: number; unreadable?: boolean }): void {
    writeFileSync(
      join(dir, 'journalctl'),
      `#!/bin/sh
echo "$*" >> ${dir}/calls
case "$1" in --sync) ${options.sync ? 'exit 0' : 'echo "journalctl: unrecognized option --sync" >&2; exit 1'} ;; esac
${options.unreadable ? 'exit 1' : ''}
reads=$(grep -c -- _SYSTEMD_UNIT= ${dir}/calls)
echo "systemd[1]: Starting x.service..."
if grep -q -- --sync ${dir}/calls && ${options.sync}; then echo "sh[42]: drover-test-boom"; fi
if [ "$reads" -ge ${options.lateRead ?? 99} ]; then echo "sh[42]: drover-test-boom"; fi
exit 0
`,
    );
    chmodSync(join(dir, 'journalctl'), 0o755);
  }

  async function diagnose(fallback?: string): Promise<{ stdout: string; calls: string[] }> {
    const script = unitJournalScript('x.service', fallback ? { fallback: sh`echo ${fallback}` } : {});
    const { stdout } = await run('/bin/sh', ['-c', `set -eu\n${script.text}`], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    return { stdout, calls: readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') };
  }

  it('asks journald to flush, then reads the journal once', async () => {
    fakeJournalctl({ sync: true });
    const { stdout, calls } = await diagnose();
    expect(stdout).to.equal('systemd[1]: Starting x.service...\nsh[42]: drover-test-boom\n');
    expect(calls).to.deep.equal(['--sync', READ]);
  });

  it('without --sync, reads until two reads agree, so a line journald writes late is shown', async () => {
    fakeJournalctl({ sync: false, lateRead: 2 });
    const { stdout, calls } = await diagnose();
    expect(stdout).to.equal('systemd[1]: Starting x.service...\nsh[42]: drover-test-boom\n');
    expect(calls).to.deep.equal(['--sync', ...Array<string>(3).fill(READ)]);
  });

  it('shows the fallback where the journal cannot be read', async () => {
    fakeJournalctl({ sync: true, unreadable: true });
    const { stdout } = await diagnose('status instead');
    expect(stdout).to.equal('status instead\n');
  });
});
