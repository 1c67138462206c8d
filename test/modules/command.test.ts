import { expect } from 'chai';
import { command, interpret, planRun, planRunFrom, type RunSpec } from '../../modules/command.ts';
import { shell } from '../../modules/shell.ts';
import { renderCommand, sh } from '../../runner/command.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { Secret } from '../../runner/secret.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { planCommands } from '../support/plan-display.ts';

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

  it("passes chdir, timeout, stdin (with Ansible's added newline) and env; secrets only on stdin", () => {
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
    ['failedWhen over rc', { failedWhen: (r) => r.rc === 3 }, outcome(3, '', 'boom'), { changed: true, failed: 'failedWhen matched (exit code 3)', failedOutput: { text: 'boom', lines: 5 } }],
    ['failedWhen false accepts any exit', { failedWhen: false }, outcome(9), { changed: true }],
    [
      'a predicate that throws fails the task, saying so',
      {
        changedWhen: () => {
          throw new Error('bad predicate');
        },
      },
      outcome(0),
      { failed: 'changedWhen threw: bad predicate' },
    ],
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
    // A script of blanks runs nothing: refused as an empty one is, not reported as run.
    expect(() => shell.params.parse({ cmd: '' }, '')).to.throw(SchemaError, /^cmd: must not be empty/);
    expect(() => shell.params.parse({ cmd: ' \n\t' }, '')).to.throw(SchemaError, /^cmd: " \\n\\t" is not a shell script$/);
    const fn = (r: { rc: number }) => r.rc === 0;
    expect(command.params.parse({ argv: ['x'], changed_when: fn, failed_when: 'false' }, '', { fromText: true })).to.deep.include({ changedWhen: fn, failedWhen: false });
  });
});

describe("shell's executable", () => {
  const executable = (value: string) => (shell.params.parse({ cmd: 'true', executable: value }, 'shell') as { executable?: string }).executable;

  it('is a host path: normalised, and refused when it means / or climbs with ..', () => {
    expect(executable('/bin//bash')).to.equal('/bin/bash');
    expect(() => executable('/')).to.throw(SchemaError, /the root directory/);
    expect(() => executable('/usr/../bin/bash')).to.throw(SchemaError, /\.\. component/);
    expect(() => executable('bash')).to.throw(SchemaError, /not an absolute path/);
  });
});
