import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { command, type CommandParams } from '../../modules/command.ts';
import { shell } from '../../modules/shell.ts';
import { Secret } from '../../runner/secret.ts';
import { expectNoCanary, HOSTILE, q, removeScratchDir, scratchDirTarget, snapshot } from '../support/file-test-support.ts';
import { applyModule, onHost, type LabTarget } from '../support/targets.ts';

const ROOT = '/tmp/drover-test-files/command';

describe('command and shell on a lab host', function () {
  let target: LabTarget;
  before(async function () {
    target = await scratchDirTarget(this, ROOT);
  });
  after(async () => removeScratchDir(target, ROOT));

  it('runs, returns rc/stdout/stderr, is skipped by creates the second time, and check mode runs nothing', async () => {
    const params: CommandParams = { argv: ['sh', '-c', 'touch "$1"; echo made; echo warn >&2', 'sh', `${ROOT}/flag`], creates: `${ROOT}/flag` };
    const first = await applyModule(target, command, params);
    expect(first).to.deep.include({ status: 'changed', changed: true, rc: 0, stdout: 'made\n', stderr: 'warn\n' });
    expect((await onHost(target, `test -e ${ROOT}/flag`)).exitCode).to.equal(0);
    const again = await applyModule(target, command, params);
    expect(again).to.deep.include({ status: 'ok', changed: false, msg: `skipped: ${ROOT}/flag exists` });
    expect(again.commands).to.deep.equal([]);

    const before = await snapshot(target, ROOT);
    const check = await applyModule(target, command, { argv: ['touch', `${ROOT}/other`] }, { check: true });
    expect(check).to.deep.include({ status: 'changed', uncertain: true, checkMode: true });
    expect(check.msg).to.match(/^would run: run touch /);
    expect(check.commands.map((record) => record.executed)).to.deep.equal([false]);
    expect(await snapshot(target, ROOT)).to.equal(before);
  });

  it('runs a readOnly probe in check mode too, never changed', async () => {
    const result = await applyModule(target, command, { argv: ['cat', '/etc/hostname'], readOnly: true }, { check: true });
    expect(result).to.deep.include({ status: 'ok', changed: false, rc: 0 });
    expect(result.stdout.trim()).to.equal((await onHost(target, 'cat /etc/hostname')).stdout.trim());
  });

  it('applies changedWhen and failedWhen functions to the real output', async () => {
    const unchanged = await applyModule(target, command, { argv: ['echo', 'configured (unchanged)'], changedWhen: (r) => !r.stdout.includes('unchanged') });
    expect(unchanged).to.deep.include({ status: 'ok', changed: false });
    const tolerated = await applyModule(target, command, { argv: ['sh', '-c', 'exit 3'], failedWhen: (r) => r.rc > 3 });
    expect(tolerated).to.deep.include({ status: 'changed', rc: 3 });
    const failed = await applyModule(target, command, { argv: ['sh', '-c', 'echo nope >&2; exit 3'], failedWhen: (r) => r.rc === 3 });
    expect(failed).to.deep.include({ status: 'failed', msg: 'failedWhen matched (exit code 3): nope' });
  });

  it('feeds stdin, sets env and chdir, and kills at the timeout', async () => {
    const withStdin = await applyModule(target, command, { argv: ['cat'], stdin: 'line one', readOnly: true });
    expect(withStdin.stdout).to.equal('line one\n');
    const envAndDir = await applyModule(target, shell, { cmd: 'printf "%s|%s" "$GREETING" "$(pwd)"', env: { GREETING: 'hi there' }, chdir: ROOT, readOnly: true });
    expect(envAndDir.stdout).to.equal(`hi there|${ROOT}`);
    const secretEnv = await applyModule(target, shell, { cmd: 'printf %s "$TOKEN" | sha256sum', env: { TOKEN: new Secret('s3cr3t-value') }, readOnly: true });
    expect(secretEnv.stdout).to.equal(`${createHash('sha256').update('s3cr3t-value').digest('hex')}  -\n`);
    expect(JSON.stringify(secretEnv.commands)).not.to.include('s3cr3t-value');
    const slow = await applyModule(target, command, { argv: ['sleep', '30'], timeout: 1 });
    expect(slow.status).to.equal('failed');
    expect(slow.commands[0]?.timedOut).to.equal(true);
    // Stopped at its 1 s limit, not after its 30 s (generous: the machine may be loaded).
    expect(slow.durationMs).to.be.below(20_000);
  });

  it('shell stops at the first failing line and on an unset variable (set -eu)', async () => {
    const stops = await applyModule(target, shell, { cmd: `echo before\nfalse\necho after > ${ROOT}/after` });
    expect(stops).to.deep.include({ status: 'failed', stdout: 'before\n' });
    expect((await onHost(target, `test -e ${ROOT}/after`)).exitCode).to.equal(1);
    const unset = await applyModule(target, shell, { cmd: 'echo "$DROVER_SURELY_UNSET"' });
    expect(unset.status).to.equal('failed');
    expect(unset.stderr).to.match(/DROVER_SURELY_UNSET/);
    const bash = await applyModule(target, shell, { cmd: 'arr=(a b); [[ ${#arr[@]} == 2 ]] && echo bash-ok; case $- in *e*u*|*u*e*) echo strict;; esac', executable: '/bin/bash', readOnly: true });
    expect(bash.stdout).to.equal('bash-ok\nstrict\n');
  });

  it('check mode predicts what the real run does (seeded sample); changedWhen is reported as uncertain', async () => {
    const samples: Array<CommandParams> = [
      { argv: ['touch', `${ROOT}/s1`], creates: `${ROOT}/s1` },
      { argv: ['rm', '-f', `${ROOT}/s1`], removes: `${ROOT}/s1` },
      { argv: ['true'], readOnly: true },
      { argv: ['touch', `${ROOT}/s2`] },
      { argv: ['echo', 'x'], changedWhen: false },
    ];
    let seed = 11;
    for (let sample = 0; sample < 12; sample++) {
      seed = (seed * 48271) % 2147483647;
      const params = samples[seed % samples.length]!;
      const predicted = await applyModule(target, command, params, { check: true });
      const real = await applyModule(target, command, params);
      const label = `sample ${sample}: ${JSON.stringify(params)}`;
      expect(real.status, `${label}: ${real.msg}`).to.be.oneOf(['ok', 'changed']);
      if (predicted.uncertain) {
        expect(
          real.commands.every((record) => record.executed),
          label,
        ).to.equal(true);
        expect(predicted.msg, label).to.match(/^would run: /);
      } else {
        expect(predicted.changed, label).to.equal(real.changed);
        expect(predicted.diffs, label).to.deep.equal(real.diffs);
      }
    }
  });

  it('passes hostile strings literally through argv, creates, chdir, env and stdin', async () => {
    for (const [index, hostile] of HOSTILE.entries()) {
      const dir = `${ROOT}/h${index} ${hostile.replace(/\//g, '_')}`;
      await onHost(target, `mkdir -p ${q(dir)}`);
      const echoed = await applyModule(target, command, { argv: ['printf', '%s|', hostile, hostile], chdir: dir, creates: `${dir}/never`, readOnly: true });
      expect(echoed.stdout, JSON.stringify(hostile)).to.equal(`${hostile}|${hostile}|`);
      const viaEnv = await applyModule(target, shell, { cmd: 'printf "%s" "$V"; cat; pwd', env: { V: hostile }, stdin: hostile, stdinAddNewline: false, chdir: dir, readOnly: true });
      expect(viaEnv.stdout, JSON.stringify(hostile)).to.equal(`${hostile}${hostile}${dir}\n`);
      const skipped = await applyModule(target, shell, { cmd: 'exit 1', creates: dir });
      expect(skipped.msg).to.equal(`skipped: ${dir} exists`);
    }
    await expectNoCanary(target);
  });

  it('fails with the exit code and stderr of a failing command, and names a missing program', async () => {
    const failed = await applyModule(target, command, { argv: ['ls', `${ROOT}/no-such-entry`] });
    expect(failed).to.deep.include({ status: 'failed', rc: 2 });
    expect(failed.msg).to.match(/^command exited with 2: ls .*\nstderr:\n.*No such file or directory/);
    const missing = await applyModule(target, command, { argv: ['drover-no-such-program'] });
    expect(missing.status).to.equal('failed');
    expect(missing.rc).to.equal(127);
    expect(missing.stderr).to.match(/drover-no-such-program.*not found/);
  });
});
