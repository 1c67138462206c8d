import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { command, interpret, planRun, planRunFrom, type CommandParams, type RunSpec } from '../../modules/command.ts';
import { shell } from '../../modules/shell.ts';
import { renderCommand, sh } from '../../runner/command.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { Secret } from '../../runner/secret.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { expectNoCanary, HOSTILE, q, removeScratchDir, scratchDirTarget, snapshot } from '../support/file-test-support.ts';
import { planCommands } from '../support/plan-display.ts';
import { applyModule, onHost, type LabTarget } from '../support/targets.ts';

const spec = (extra: Partial<RunSpec> = {}): RunSpec => ({ body: sh`exec ${['echo', 'a b']}`, label: 'echo', stdinAddNewline: true, readOnly: false, ...extra });

describe('command/shell planner (table)', () => {
  it('runs an argv with every word quoted, uncertain in check mode, judged by interpret', () => {
    const plan = planRunFrom(spec());
    expect(plan.uncertain).to.equal(true);
    expect(plan.readOnly).to.equal(undefined);
    const [only] = planCommands(plan);
    expect(renderCommand(only!).display).to.equal("exec echo 'a b'");
    expect(only!.readOnly).to.equal(undefined);
  });

  it('marks a read-only command so it runs in check mode and never reports a change', () => {
    const plan = planRunFrom(spec({ readOnly: true }));
    expect(plan).to.deep.include({ readOnly: true, uncertain: undefined });
    expect(plan.changes[0]!.commands[0]!.readOnly).to.equal(true);
    expect(plan.interpret!([{ exitCode: 0, stdout: '', stderr: '' }])).to.deep.equal({ changed: false });
  });

  it('passes chdir, timeout, stdin (with Ansible\'s added newline) and env; secrets only on stdin', () => {
    const token = new Secret('tok-secret-1', 'token');
    const plan = planRunFrom(spec({ chdir: '/srv', timeout: 1.5, stdin: 'input', env: { PLAIN: 'a b', TOKEN: token } }));
    const only = plan.changes[0]!.commands[0]!;
    expect(only).to.deep.include({ cwd: '/srv', timeoutMs: 1500, stdin: 'input\n' });
    const rendered = renderCommand(only);
    expect(rendered.display).to.match(/^export PLAIN='a b'\nexport TOKEN="\$DROVER_SECRET_\d+"\nexec echo 'a b'$/);
    expect(rendered.line).not.to.include('tok-secret-1');
    // Each secret is its line count, then its lines (multi-line secrets arrive whole), then the data.
    expect(rendered.stdin.toString()).to.equal('1\ntok-secret-1\ninput\n');
    expect(planRunFrom(spec({ stdin: 'x', stdinAddNewline: false })).changes[0]!.commands[0]!.stdin).to.equal('x');
  });

  it('lets failedWhen decide failures: every exit code is accepted by the runner then', () => {
    expect(planRunFrom(spec()).changes[0]!.commands[0]!.okExitCodes).to.equal(undefined);
    expect(planRunFrom(spec({ failedWhen: (r) => r.rc > 1 })).changes[0]!.commands[0]!.okExitCodes).to.have.length(256);
  });

  const outcome = (exitCode: number, stdout = '', stderr = '') => [{ exitCode, stdout, stderr }];
  const verdicts: Array<[string, Partial<RunSpec>, ReturnType<typeof outcome>, object]> = [
    ['a run command changed by default', {}, outcome(0), { changed: true }],
    ['changedWhen false (Ansible changed_when: false)', { changedWhen: false }, outcome(0), { changed: false }],
    ['changedWhen over stdout', { changedWhen: (r) => !r.stdout.includes('unchanged') }, outcome(0, 'x unchanged'), { changed: false }],
    ['failedWhen over rc', { failedWhen: (r) => r.rc === 3 }, outcome(3, '', 'boom'), { changed: true, failed: 'failedWhen matched (exit code 3): boom' }],
    ['failedWhen false accepts any exit', { failedWhen: false }, outcome(9), { changed: true }],
    ['a predicate that throws fails the task, saying so', { changedWhen: () => { throw new Error('bad predicate'); } }, outcome(0), { failed: 'changedWhen threw: bad predicate' }],
  ];
  for (const [title, extra, outcomes, expected] of verdicts) {
    it(`interprets: ${title}`, () => {
      expect(interpret({ readOnly: false, ...extra }, outcomes)).to.deep.equal(expected);
    });
  }

  it('skips on creates/removes with one probe, relative paths taken from chdir', async () => {
    const host = new RecordedHost([{ match: 'creates=', output: { stdout: 'creates=yes\nremoves=yes\n' } }]);
    const plan = await planRun(spec({ creates: 'done.flag', removes: '/tmp/in', chdir: '/srv/app' }), host);
    expect(plan).to.deep.equal({ changes: [], reason: 'skipped: /srv/app/done.flag exists' });
    expect(host.probes).to.have.length(1);
    expect(host.probes[0]).to.include('[ -e /srv/app/done.flag ]');
    const removes = await planRun(spec({ removes: '/tmp/in' }), new RecordedHost([{ match: 'removes=', output: { stdout: 'removes=no\n' } }]));
    expect(removes.reason).to.equal('skipped: /tmp/in does not exist');
    try {
      await planRun(spec({ creates: 'relative' }), host);
      expect.fail('accepted a relative creates without chdir');
    } catch (error) {
      expect(error).to.be.instanceOf(ModuleError);
    }
  });

  it('validates parameters, including functions', () => {
    expect(() => command.params.parse({ argv: [] }, '')).to.throw(SchemaError, /^argv: must not be an empty list/);
    expect(() => command.params.parse({ argv: ['x'], changedWhen: 'yes please' }, '')).to.throw(SchemaError, /^changedWhen: expected true or false or a function/);
    expect(() => command.params.parse({ argv: ['x'], env: { 'BAD-NAME': 'v' } }, '')).to.throw(SchemaError, /"BAD-NAME" is not a valid environment variable name/);
    expect(() => shell.params.parse({ cmd: 'x', executable: 'bash' }, '')).to.throw(SchemaError, /^executable: .*absolute path/);
    const fn = (r: { rc: number }) => r.rc === 0;
    expect(command.params.parse({ argv: ['x'], changed_when: fn, failed_when: 'false' }, '', { fromText: true })).to.deep.include({ changedWhen: fn, failedWhen: false });
  });
});

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
    expect(slow.durationMs).to.be.below(10_000);
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
        expect(real.commands.every((record) => record.executed), label).to.equal(true);
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

