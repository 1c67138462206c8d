import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy } from '../../modules/copy.ts';
import { planFileContent, planFileContentFrom, SECRET_CONTENT } from '../../modules/lib/file-content.ts';
import { formatMode, parseMode } from '../../modules/lib/mode.ts';
import { showable } from '../../modules/lib/showable.ts';
import { parseFileState, type FileState } from '../../modules/facts/file-state.ts';
import { renderCommand } from '../../runner/command.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { Secret } from '../../runner/secret.ts';
import { fileProbe } from '../support/file-probe.ts';
import { planCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

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

  it('refuses content that is not the whole file stat measured (cut off, or changed while read), and hashes what it takes', () => {
    const cut = fileProbe('full content\n').replace(/content=.*/, `content=${b64('full cont')}`);
    expect(() => state('/x', cut)).to.throw(/content read \(9 bytes\) is not the whole file \(13 bytes\)/);
    expect(state('/x', fileProbe('full content\n')).sha256).to.equal(createHash('sha256').update('full content\n').digest('hex'));
    const hashedOnly = `parent=yes\nkind=file\nstat=644 0 0 13 root root\nsha256=${'ab'.repeat(32)}\n`;
    const hashed = state('/x', hashedOnly);
    expect(hashed.sha256).to.equal('ab'.repeat(32));
    expect(hashed.content).to.equal(undefined);
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

  it("gives a new file without an asked mode the umask default, not mktemp's 0600", () => {
    const [command] = planCommands(planFileContentFrom({ path: '/etc/drover-t.conf', content: 'new' }, absent));
    expect(renderCommand(command!).display).to.include(`chmod "$(printf '%o' $(( 0666 & ~$(umask) )))"`).and.not.include('chown');
  });

  it('keeps a secret and its length out of everything shown', () => {
    const plan = planFileContentFrom({ path: '/etc/drover-t.conf', content: new Secret('hunter2-password') }, absent);
    const [command] = planCommands(plan);
    const rendered = renderCommand(command!);
    expect(JSON.stringify(plan.changes.map((change) => [change.summary, change.diff, command!.description])))
      .not.to.include('hunter2')
      .and.not.include('16');
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
