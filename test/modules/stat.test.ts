import { expect } from 'chai';
import { describe as describeStat, parseStat, stat, statScript, type StatValue } from '../../modules/stat.ts';
import { auditBody } from '../../runner/audit/writer.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { TaskResult } from '../../runner/result.ts';
import { SchemaError } from '../../runner/schema.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('stat: probe output → value (captured from a Debian 12 lab host, stat 9.1)', () => {
  const cases: Array<[string, string, StatValue]> = [
    [
      'a regular file with checksum',
      `stat=81a4 644 0 0 6 1796587992\nowner=${b64('root')}\ngroup=${b64('root')}\nsha256=${'ab'.repeat(32)}\n`,
      { path: '/p', exists: true, type: 'file', mode: '0644', uid: 0, gid: 0, owner: 'root', group: 'root', size: 6, mtime: 1796587992, sha256: 'ab'.repeat(32) },
    ],
    [
      'a sticky directory',
      `stat=43ff 1777 0 0 160 1796589119\nowner=${b64('root')}\ngroup=${b64('root')}\n`,
      { path: '/p', exists: true, type: 'directory', mode: '1777', uid: 0, gid: 0, owner: 'root', group: 'root', size: 160, mtime: 1796589119 },
    ],
    [
      'a symbolic link, not followed',
      `stat=a1ff 777 0 0 21 1783019100\nowner=${b64('root')}\ngroup=${b64('root')}\nlink=${b64('../usr/lib/os-release\n')}\n`,
      { path: '/p', exists: true, type: 'link', mode: '0777', uid: 0, gid: 0, owner: 'root', group: 'root', size: 21, mtime: 1783019100, linkTarget: '../usr/lib/os-release' },
    ],
    [
      'a character device whose ids have no names',
      `stat=21b6 666 4242 4343 0 1796587992\nowner=${b64('UNKNOWN')}\ngroup=${b64('UNKNOWN')}\n`,
      { path: '/p', exists: true, type: 'char-device', mode: '0666', uid: 4242, gid: 4343, size: 0, mtime: 1796587992 },
    ],
    ['a missing path', 'absent=yes\n', { path: '/p', exists: false, type: 'absent' }],
    ['a dangling link, followed', `absent=yes\nlink=${b64('/gone\n')}\n`, { path: '/p', exists: false, type: 'absent', linkTarget: '/gone' }],
  ];
  for (const [label, stdout, value] of cases) {
    it(label, () => expect(parseStat('/p', stdout)).to.deep.equal(value));
  }

  it('refuses output it does not understand, naming the path', () => {
    expect(() => parseStat('/p', 'stat=garbage\n')).to.throw(ModuleError, /stat \/p: unexpected probe output/);
    expect(() => parseStat('/p', 'stat=f1ff 777 0 0 0 0\n')).to.throw(ModuleError, /unknown file type/);
  });

  it('describes the value in one line for the report', () => {
    expect(describeStat(parseStat('/p', cases[2]![1]))).to.equal('link → ../usr/lib/os-release 0777 root:root 21 bytes');
    expect(describeStat({ path: '/p', exists: false, type: 'absent' })).to.equal('absent');
  });
});

describe('stat: paths and parameters', () => {
  // The shared hostPath schema (modules/lib/host-path.ts, tested in test/modules/lib/host-path.test.ts) normalises.
  it('takes the path through the shared hostPath schema: normalised, .. refused', () => {
    expect(stat.params.parse({ path: '/etc//ssh/./sshd_config/' }, '').path).to.equal('/etc/ssh/sshd_config');
    expect(() => stat.params.parse({ path: '/a/link/../b' }, '')).to.throw(SchemaError, /\.\. component/);
  });

  it('refuses a relative path through the schema', () => {
    expect(() => stat.params.parse({ path: 'etc/passwd' }, '')).to.throw(SchemaError, /absolute path/);
  });

  it('quotes a hostile path as one word, and follow/checksum are fixed words', () => {
    const text = statScript("/tmp/x'$(touch /tmp/pwned)`id`\n", true, true).text;
    expect(text).to.contain(`p='/tmp/x'\\''$(touch /tmp/pwned)\`id\`\n'`);
    expect(text).to.contain('if [ yes = yes ]; then set -- -L');
  });

  it('plans nothing and returns the value from one probe; a refused stat fails with the reason and a hint', async () => {
    const host = new RecordedHost([{ match: 'stat', output: { stdout: 'absent=yes\n' } }]);
    const plan = await planOn(stat, { path: '/etc//nothing/' }, host);
    expect(plan.changes).to.deep.equal([]);
    expect(plan.value).to.deep.equal({ path: '/etc/nothing', exists: false, type: 'absent' });
    expect(host.probes).to.have.length(1);

    const denied = new RecordedHost([{ match: 'stat', output: { exitCode: 3, stdout: "error=stat: cannot statx '/root/x': Permission denied\n" } }]);
    const error = await planOn(stat, { path: '/root/x' }, denied).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as ModuleError).message).to.equal("could not examine /root/x on recorded: stat: cannot statx '/root/x': Permission denied");
    expect((error as ModuleError).hint).to.match(/may search every directory/);
  });

  it('the value reaches the audit record', () => {
    const value: StatValue = { path: '/p', exists: false, type: 'absent' };
    const result: TaskResult = {
      host: 'h',
      task: 't',
      module: 'stat',
      status: 'ok',
      changed: false,
      checkMode: false,
      uncertain: false,
      msg: 'absent',
      changes: [],
      diffs: [],
      commands: [],
      rc: 0,
      stdout: '',
      stderr: '',
      durationMs: 1,
      value,
    };
    const body = auditBody({ kind: 'task-result', result, params: { path: '/p' }, handler: false, runId: 'r', time: 't' }, { tail: (text: string) => text });
    expect(body?.value).to.deep.equal(value);
  });
});
