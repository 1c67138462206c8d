import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy, type CopyParams } from '../../modules/copy.ts';
import { planFileContent, planFileContentFrom, SECRET_CONTENT } from '../../modules/lib/file-content.ts';
import { formatMode, parseMode } from '../../modules/lib/mode.ts';
import { showable } from '../../modules/lib/showable.ts';
import { parseFileState, type FileState } from '../../modules/facts/file-state.ts';
import { renderCommand } from '../../runner/command.ts';
import { defineModule } from '../../runner/module.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { s, SchemaError } from '../../runner/schema.ts';
import { Secret } from '../../runner/secret.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { fileProbe } from '../support/file-probe.ts';
import { expectNoCanary, HOSTILE, readBack, removeScratchDir, scratchDirTarget, snapshot as snapshotOf } from '../support/file-test-support.ts';
import { planCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { seededSampler } from '../support/seeded-random.ts';
import { applyModule, onHost, type LabTarget } from '../support/targets.ts';

const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

function state(path: string, stdout: string): FileState {
  return parseFileState(path, stdout);
}

describe('file state probe parser', () => {
  it('reads a regular file with its content', () => {
    const parsed = state('/etc/x', fileProbe('hello\n', '640 0 4 root adm'));
    expect(parsed).to.deep.include({ path: '/etc/x', kind: 'file', mode: '640', uid: 0, gid: 4, owner: 'root', group: 'adm', size: 6, parentExists: true, resolved: false });
    expect(parsed.content?.toString()).to.equal('hello\n');
  });

  it('reads an absent path, a directory and a link', () => {
    expect(state('/a', 'parent=no\nkind=absent\n')).to.deep.equal({ path: '/a', resolved: false, kind: 'absent', parentExists: false });
    expect(state('/d', 'parent=yes\nkind=directory\nstat=1777 0 0 4096 root root\n')).to.deep.include({ kind: 'directory', mode: '1777' });
    expect(state('/l', `parent=yes\nkind=link\nlink=${b64('../x y\n')}\n`)).to.deep.include({ kind: 'link', linkTarget: '../x y' });
  });

  it('takes the resolved path of a followed link', () => {
    const parsed = state('/etc/l', `resolved=${b64('/srv/real\nname')}\nparent=yes\nkind=absent\n`);
    expect(parsed).to.deep.include({ path: '/srv/real\nname', resolved: true });
  });

  it('refuses output it does not understand, showing it', () => {
    expect(() => state('/x', 'garbage')).to.throw(/unexpected probe output.*garbage/);
    expect(() => state('/x', 'parent=yes\nkind=file\nstat=644 0 0 1 root root\n')).to.throw(/no sha256/);
  });

  it('refuses content that is not the bytes hashed (cut off, or changed while read)', () => {
    const cut = fileProbe('full content\n').replace(/content=.*/, `content=${b64('full cont')}`);
    expect(() => state('/x', cut)).to.throw(/does not match the file's sha256 \(13 bytes\)/);
  });
});

describe('planFileContent (table)', () => {
  const absent = state('/etc/drover-t.conf', 'parent=yes\nkind=absent\n');
  const existing = state('/etc/drover-t.conf', fileProbe('a=1\n', '600 0 0 root root'));

  const cases: Array<{ title: string; options: Partial<Parameters<typeof planFileContentFrom>[0]>; from: FileState; changes: number; diff?: unknown; reason?: RegExp }> = [
    { title: 'creates an absent file', options: { content: 'a=1\n' }, from: absent, changes: 1, diff: { kind: 'file', path: '/etc/drover-t.conf', before: null, after: 'a=1\n' } },
    { title: 'leaves a file with the same content', options: { content: 'a=1\n' }, from: existing, changes: 0, reason: /already has the wanted content \(4 bytes\)/ },
    { title: 'leaves a file whose mode is the asked one (any spelling)', options: { content: 'a=1\n', mode: '600' }, from: existing, changes: 0 },
    { title: 'rewrites a file with other content', options: { content: 'a=2\n' }, from: existing, changes: 1, diff: { kind: 'file', path: '/etc/drover-t.conf', before: 'a=1\n', after: 'a=2\n' } },
    { title: 'changes only the mode', options: { content: 'a=1\n', mode: '0644' }, from: existing, changes: 1, diff: { kind: 'value', name: '/etc/drover-t.conf mode', before: '0600', after: '0644' } },
    { title: 'changes only the group', options: { content: 'a=1\n', group: 'adm' }, from: existing, changes: 1, diff: { kind: 'value', name: '/etc/drover-t.conf owner', before: 'root:root', after: 'root:adm' } },
    { title: 'accepts a numeric owner equal to the current one', options: { content: 'a=1\n', owner: '0' }, from: existing, changes: 0 },
    { title: 'hides secret content', options: { content: new Secret('token-1234') }, from: existing, changes: 1, diff: { kind: 'file', path: '/etc/drover-t.conf', before: SECRET_CONTENT, after: SECRET_CONTENT } },
    { title: 'force off leaves an existing file', options: { content: 'other', onlyIfMissing: true }, from: existing, changes: 0, reason: /force is off/ },
  ];
  for (const item of cases) {
    it(item.title, () => {
      const plan = planFileContentFrom({ path: '/etc/drover-t.conf', content: '', ...item.options }, item.from);
      expect(plan.changes).to.have.length(item.changes);
      if (item.diff) expect(plan.changes[0]!.diff).to.deep.equal(item.diff);
      if (item.reason) expect(plan.reason).to.match(item.reason);
    });
  }

  it('writes with one command whose content travels on stdin, never in the script', () => {
    const plan = planFileContentFrom({ path: '/etc/drover-t.conf', content: 'SECRET-LOOKING $(x) ;\n', mode: '0640', owner: 'root', backup: true }, existing);
    const [command] = planCommands(plan);
    const rendered = renderCommand(command!);
    expect(rendered.line).not.to.include('SECRET-LOOKING');
    expect(rendered.stdin.toString()).to.equal('22\nSECRET-LOOKING $(x) ;\n');
    expect(rendered.display).to.match(/mktemp \/etc\/\.drover\."\$\$"\.X+/);
    expect(rendered.display).to.include('chmod 0640 -- "$tmp"');
    expect(rendered.display).to.include('chown root:0 -- "$tmp"');
    expect(rendered.display).to.match(/cp -p -- \/etc\/drover-t\.conf \/etc\/drover-t\.conf\."\$\$\.\$\(date/);
    expect(rendered.display).to.include('mv -f -- "$tmp" /etc/drover-t.conf');
  });

  it('keeps the existing mode and owner when none is asked', () => {
    const [command] = planCommands(planFileContentFrom({ path: '/etc/drover-t.conf', content: 'new' }, existing));
    expect(renderCommand(command!).display).to.include('chmod 0600 -- "$tmp"').and.include('chown 0:0 -- "$tmp"');
  });

  it('gives a new file without an asked mode the umask default, not mktemp\'s 0600', () => {
    const [command] = planCommands(planFileContentFrom({ path: '/etc/drover-t.conf', content: 'new' }, absent));
    expect(renderCommand(command!).display).to.include(`chmod "$(printf '%o' $(( 0666 & ~$(umask) )))"`).and.not.include('chown');
  });

  it('keeps a secret and its length out of everything shown', () => {
    const plan = planFileContentFrom({ path: '/etc/drover-t.conf', content: new Secret('hunter2-password') }, absent);
    const [command] = planCommands(plan);
    const rendered = renderCommand(command!);
    expect(JSON.stringify(plan.changes.map((change) => [change.summary, change.diff, command!.description]))).not.to.include('hunter2').and.not.include('16');
    expect(rendered.line).not.to.include('hunter2');
    expect(rendered.stdin.toString()).to.equal('16\nhunter2-password');
  });

  it('creates missing parents only when asked', () => {
    const orphan = state('/srv/new/x.conf', 'parent=no\nkind=absent\n');
    expect(() => planFileContentFrom({ path: '/srv/new/x.conf', content: 'x' }, orphan)).to.throw(ModuleError, /directory \/srv\/new does not exist/);
    const [command] = planCommands(planFileContentFrom({ path: '/srv/new/x.conf', content: 'x', createParents: true }, orphan));
    expect(renderCommand(command!).display).to.match(/^mkdir -p -- \/srv\/new\n/);
  });

  it('refuses a directory or a special file at the path', () => {
    expect(() => planFileContentFrom({ path: '/etc', content: 'x' }, state('/etc', 'parent=yes\nkind=directory\nstat=755 0 0 4096 root root\n'))).to.throw(ModuleError, /\/etc is a directory/);
    expect(() => planFileContentFrom({ path: '/dev/null', content: 'x' }, state('/dev/null', 'parent=yes\nkind=other\n'))).to.throw(ModuleError, /FIFO or socket/);
  });

  it('replaces a symbolic link (follow off), showing what it was', () => {
    const link = state('/etc/l', `parent=yes\nkind=link\nlink=${b64('/srv/target\n')}\n`);
    const plan = planFileContentFrom({ path: '/etc/l', content: 'x' }, link);
    expect(plan.changes[0]!.summary).to.match(/^replace symbolic link \/etc\/l/);
    expect(plan.changes[0]!.diff).to.deep.include({ before: '(symbolic link to /srv/target)', after: 'x' });
  });

  it('shows large or binary content by size and hash', () => {
    expect(showable(Buffer.from([0, 1, 2]))).to.match(/^\(binary content, 3 bytes, sha256 [0-9a-f]{64}\)$/);
    expect(showable(Buffer.alloc(300 * 1024, 'a'))).to.match(/too large to show/);
    const big = state('/x', 'parent=yes\nkind=file\nstat=644 0 0 999999 root root\nsha256=' + 'a'.repeat(64) + '\n');
    expect(planFileContentFrom({ path: '/x', content: 'y' }, big).changes[0]!.diff).to.deep.include({ before: `(999999 bytes, sha256 ${'a'.repeat(64)}; too large to show)` });
  });

  it('parses and formats octal modes', () => {
    expect(parseMode('0644')).to.equal(0o644);
    expect(parseMode('1777')).to.equal(0o1777);
    expect(formatMode('644')).to.equal('0644');
    for (const bad of ['644x', '8', '77777', 'u+x', '']) expect(() => parseMode(bad), bad).to.throw(ModuleError, /octal/);
  });

  it('checks that an asked owner exists, with one more probe, only when it must change', async () => {
    const host = new RecordedHost([
      { match: 'kind=', output: { stdout: fileProbe('a\n', '644 0 0 root root') } },
      { match: 'getent', output: { stdout: 'missing=passwd\n' } },
    ]);
    await planFileContent({ path: '/etc/drover-t.conf', content: 'a\n', owner: 'root' }, host);
    expect(host.probes).to.have.length(1);
    try {
      await planFileContent({ path: '/etc/drover-t.conf', content: 'a\n', owner: 'nosuchuser' }, host);
      expect.fail('planned a chown to a user that does not exist');
    } catch (error) {
      expect(error).to.be.instanceOf(ModuleError);
      expect((error as Error).message).to.equal('user "nosuchuser" does not exist on recorded');
    }
  });
});

describe('copy parameters', () => {
  it('needs exactly one of content and src', () => {
    expect(() => copy.params.parse({ dest: '/x' }, '')).to.throw(SchemaError, /exactly one of content and src/);
    expect(() => copy.params.parse({ dest: '/x', content: 'a', src: 'b' }, '')).to.throw(SchemaError, /exactly one/);
  });
  it('validates mode, owner and dest, naming the parameter', () => {
    expect(() => copy.params.parse({ dest: '/x', content: '', mode: 644 }, '')).to.throw(SchemaError, /^mode: expected an octal mode/);
    expect(() => copy.params.parse({ dest: '/x', content: '', owner: 'root;rm' }, '')).to.throw(SchemaError, /^owner: "root;rm" is not a user name or uid/);
    expect(() => copy.params.parse({ dest: 'relative', content: '' }, '')).to.throw(SchemaError, /^dest:/);
  });
  it('reads src on the controller at plan time, and names a missing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-copy-'));
    writeFileSync(join(dir, 'bin'), Buffer.from([0, 255, 10]));
    const host = new RecordedHost([{ match: 'kind=', output: { stdout: 'parent=yes\nkind=absent\n' } }]);
    const plan = await planOn(copy, { dest: '/x', src: join(dir, 'bin') }, host);
    expect(renderCommand(planCommands(plan)[0]!).stdin).to.deep.equal(Buffer.from([51, 10, 0, 255, 10]));
    try {
      await planOn(copy, { dest: '/x', src: join(dir, 'nope') }, host);
      expect.fail('read a missing src');
    } catch (error) {
      expect((error as Error).message).to.match(/cannot read copy src .*nope on the controller \(ENOENT\)/);
    }
  });
});

// ── On a real lab host ────────────────────────────────────────────────────────────────────────────

const ROOT = '/tmp/drover-test-files/copy';
const snapshot = (target: LabTarget) => snapshotOf(target, ROOT);

describe('copy on a lab host', function () {
  let target: LabTarget;
  before(async function () {
    target = await scratchDirTarget(this, ROOT, ['/tmp/pwned']);
  });
  after(async () => removeScratchDir(target, ROOT));

  it('writes, reads back, does nothing the second time, and check mode changes nothing', async () => {
    const params: CopyParams = { dest: `${ROOT}/a.conf`, content: 'a=1\nb=2\n', mode: '0640', owner: 'root', group: 'daemon' };
    const first = await applyModule(target, copy, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(first.diffs).to.deep.equal([{ kind: 'file', path: `${ROOT}/a.conf`, before: null, after: 'a=1\nb=2\n' }]);
    expect(await readBack(target, `${ROOT}/a.conf`)).to.deep.equal({ content: 'a=1\nb=2\n', stat: '640 root daemon' });

    const again = await applyModule(target, copy, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands.filter((command) => command.executed)).to.deep.equal([]);

    const before = await snapshot(target);
    const check = await applyModule(target, copy, { ...params, content: 'a=1\nb=3\n', mode: '0600' }, { check: true });
    expect(check.changed).to.equal(true);
    expect(check.diffs).to.deep.equal([{ kind: 'file', path: `${ROOT}/a.conf`, before: 'a=1\nb=2\n', after: 'a=1\nb=3\n' }]);
    expect(check.commands.every((command) => !command.executed)).to.equal(true);
    expect(await snapshot(target)).to.equal(before);
  });

  it('changes only the mode or owner of a file whose content is right', async () => {
    const path = `${ROOT}/meta.conf`;
    await applyModule(target, copy, { dest: path, content: 'x\n', mode: '0644' });
    const result = await applyModule(target, copy, { dest: path, content: 'x\n', mode: '0600', group: 'daemon' });
    expect(result.status).to.equal('changed');
    expect(result.diffs).to.deep.equal([
      { kind: 'value', name: `${path} mode`, before: '0644', after: '0600' },
      { kind: 'value', name: `${path} owner`, before: 'root:root', after: 'root:daemon' },
    ]);
    expect((await readBack(target, path)).stat).to.equal('600 root daemon');
  });

  it('keeps a timestamped backup and keeps the old mode when none is asked', async () => {
    const path = `${ROOT}/backed.conf`;
    await onHost(target, `printf 'old\\n' > ${path} && chmod 0604 ${path}`);
    const result = await applyModule(target, copy, { dest: path, content: 'new\n', backup: true });
    expect(result.status).to.equal('changed');
    expect(await readBack(target, path)).to.deep.equal({ content: 'new\n', stat: '604 root root' });
    const backups = await onHost(target, `for f in ${path}.*~; do cat "$f"; stat -c %a "$f"; done`);
    expect(backups.stdout).to.equal('old\n604\n');
  });

  it('predicts in check mode exactly what the real run does (seeded sample)', async () => {
    const { next: random, pick } = seededSampler(4242);
    for (let sample = 0; sample < 12; sample++) {
      const params: CopyParams = {
        dest: `${ROOT}/sample-${pick(['a', 'b'])}.conf`,
        content: pick(['one\n', 'two\n', 'one\n', '', 'x'.repeat(100)]),
        ...(random() < 0.5 ? { mode: pick(['0644', '0600', '0640']) } : {}),
        ...(random() < 0.3 ? { group: pick(['root', 'daemon']) } : {}),
      };
      await predictThenApply(target, copy, params, `sample ${sample}: ${JSON.stringify(params)}`);
    }
  });

  it('carries hostile strings in dest and content literally', async () => {
    for (const [index, hostile] of HOSTILE.entries()) {
      const path = `${ROOT}/h${index} ${hostile.replace(/\//g, '_')}`;
      const result = await applyModule(target, copy, { dest: path, content: `${hostile}\n` });
      expect(result.status, `${JSON.stringify(hostile)}: ${result.msg}`).to.equal('changed');
      expect((await readBack(target, path)).content).to.equal(`${hostile}\n`);
      expect((await applyModule(target, copy, { dest: path, content: `${hostile}\n` })).status).to.equal('ok');
    }
    await expectNoCanary(target);
  });

  it('writes a secret without showing it anywhere in the result', async () => {
    const path = `${ROOT}/token`;
    const result = await applyModule(target, copy, { dest: path, content: new Secret('s3cr3t-t0ken-value'), mode: '0600' });
    expect(result.status, result.msg).to.equal('changed');
    expect(JSON.stringify(result)).not.to.include('s3cr3t-t0ken-value');
    expect(result.diffs[0]).to.deep.include({ before: null, after: SECRET_CONTENT });
    expect((await readBack(target, path)).content).to.equal('s3cr3t-t0ken-value');
  });

  it('fails clearly when the directory does not exist or the owner is unknown', async () => {
    const missingDir = await applyModule(target, copy, { dest: `${ROOT}/no/such/dir/x`, content: 'x' });
    expect(missingDir.status).to.equal('failed');
    expect(missingDir.msg).to.equal(`cannot write ${ROOT}/no/such/dir/x: its directory ${ROOT}/no/such/dir does not exist`);
    expect(missingDir.failure?.hint).to.match(/createParents/);
    const badOwner = await applyModule(target, copy, { dest: `${ROOT}/x`, content: 'x', owner: 'drover-no-such-user' });
    expect(badOwner.status).to.equal('failed');
    expect(badOwner.msg).to.match(/user "drover-no-such-user" does not exist/);
    expect((await onHost(target, `test -e ${ROOT}/x`)).exitCode).to.equal(1);
  });

  it('leaves the old file or the new one, never half, and no temp file, when a write is cut off', async function () {
    this.timeout(120_000);
    // The real planner, its write command given a time limit far too short for 256 MiB.
    const slowCopy = defineModule({
      name: 'copy-with-timeout',
      summary: 'test only',
      params: s.object({ dest: s.string(), size: s.int(), timeoutMs: s.int() }),
      async plan(p, host) {
        const plan = await planFileContent({ path: p.dest, content: Buffer.alloc(p.size, 'n') }, host);
        for (const command of planCommands(plan)) command.timeoutMs = p.timeoutMs;
        return plan;
      },
    });
    const path = `${ROOT}/interrupted`;
    await onHost(target, `printf 'old content\\n' > ${path}`);
    const result = await applyModule(target, slowCopy, { dest: path, size: 256 * 1024 * 1024, timeoutMs: 300 });
    expect(result.status).to.equal('failed');
    expect(result.commands[0]?.timedOut).to.equal(true);
    // Give the host a moment: the command's traps run as it is stopped.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await onHost(target, `sha256sum < ${path} | cut -d' ' -f1; ls -A ${ROOT} | grep -c '^\\.drover\\.' || true`);
    const [hash, temps] = after.stdout.trim().split('\n');
    expect([sha('old content\n'), sha(Buffer.alloc(256 * 1024 * 1024, 'n'))]).to.include(hash);
    expect(temps).to.equal('0');
  });
});
