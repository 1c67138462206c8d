import { expect } from 'chai';
import { parseFileState } from '../../modules/facts/file-state.ts';
import { file, planFile, type FileParams } from '../../modules/file.ts';
import { encodeHostText } from '../../runner/host-text.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { PredictedState } from '../../runner/predicted-state.ts';
import type { Plan } from '../../runner/module.ts';
import { SchemaError } from '../../runner/schema.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const ABSENT = 'parent=yes\nkind=absent\n';
const DIR = 'parent=yes\nkind=directory\nstat=755 0 0 4096 root root\n';
const FILE = `parent=yes\nkind=file\nstat=644 0 0 1 root root\nsha256=${'0'.repeat(64)}\n`;
const LINK = (to: string) => `parent=yes\nkind=link\nlink=${b64(`${to}\n`)}\n`;

function plan(input: FileParams, probe: string): Plan {
  const params = file.params.parse(input, '');
  return planFile(params, parseFileState(params.path, probe));
}

function script(result: Plan): string {
  return displayedCommands(result).join('\n');
}

describe('file: planFile (table)', () => {
  const rows: Array<{ title: string; params: FileParams; probe: string; changes: string[]; script?: RegExp }> = [
    {
      title: 'directory: creates a missing one with parents and attributes',
      params: { path: '/srv/a', state: 'directory', mode: '0750', owner: 'daemon' },
      probe: ABSENT,
      changes: ['create directory /srv/a (mode 0750, owner daemon)'],
      script: /^mkdir -p -- \/srv\/a\nchown daemon -- \/srv\/a\nchmod 00750 -- \/srv\/a$/,
    },
    { title: 'directory: an existing one as asked', params: { path: '/srv/a', state: 'directory', mode: '755' }, probe: DIR, changes: [] },
    { title: 'directory: an existing one with another mode', params: { path: '/srv/a', state: 'directory', mode: '0700' }, probe: DIR, changes: ['set mode of /srv/a 0755 → 0700'] },
    { title: 'file: attributes of an existing file', params: { path: '/srv/f', group: 'adm' }, probe: FILE, changes: ['set owner of /srv/f root:root → root:adm'] },
    { title: 'touch: creates a missing file without truncating a racing one', params: { path: '/srv/t', state: 'touch' }, probe: ABSENT, changes: ['create file /srv/t'], script: /^: >> \/srv\/t$/ },
    { title: 'touch: an existing file is left as it is (timestamps preserved)', params: { path: '/srv/t', state: 'touch' }, probe: FILE, changes: [] },
    {
      title: 'link: creates a missing link atomically',
      params: { path: '/usr/local/bin/k', state: 'link', src: '/opt/k' },
      probe: ABSENT,
      changes: ['create /usr/local/bin/k → /opt/k'],
      script: /ln -s -- \/opt\/k "\$tmp"\nmv -Tf -- "\$tmp" \/usr\/local\/bin\/k/,
    },
    { title: 'link: already pointing there', params: { path: '/l', state: 'link', src: '../x' }, probe: LINK('../x'), changes: [] },
    { title: 'link: pointing elsewhere is replaced', params: { path: '/l', state: 'link', src: '/new' }, probe: LINK('/old'), changes: ['replace /l → /new (was symbolic link to /old)'] },
    { title: 'link: force replaces a regular file', params: { path: '/l', state: 'link', src: '/new', force: true }, probe: FILE, changes: ['replace /l → /new (was file)'] },
    { title: 'absent: removes a directory recursively', params: { path: '/srv/a', state: 'absent' }, probe: DIR, changes: ['remove directory /srv/a'], script: /^rm -rf -- \/srv\/a$/ },
    { title: 'absent: removes a link, not its target', params: { path: '/l', state: 'absent' }, probe: LINK('/x'), changes: ['remove symbolic link to /x /l'] },
    { title: 'absent: nothing there', params: { path: '/srv/a', state: 'absent' }, probe: ABSENT, changes: [] },
  ];
  for (const row of rows) {
    it(row.title, () => {
      const result = plan(row.params, row.probe);
      expect(result.changes.map((change) => change.summary)).to.deep.equal(row.changes);
      if (row.script) expect(script(result)).to.match(row.script);
    });
  }

  it('diffs states as values', () => {
    expect(plan({ path: '/srv/a', state: 'absent' }, DIR).changes[0]!.diff).to.deep.equal({ kind: 'value', name: '/srv/a state', before: 'directory', after: 'absent' });
    expect(plan({ path: '/l', state: 'link', src: '/n' }, ABSENT).changes[0]!.diff).to.deep.equal({ kind: 'value', name: '/l state', before: 'absent', after: 'symbolic link to /n' });
  });

  it('refuses impossible requests with what to do', () => {
    expect(() => plan({ path: '/srv/f' }, ABSENT)).to.throw(ModuleError, /does not exist/);
    expect(() => plan({ path: '/srv/a', state: 'directory' }, FILE)).to.throw(ModuleError, /exists and is a file, not a directory/);
    expect(() => plan({ path: '/l', state: 'link', src: '/x' }, FILE)).to.throw(ModuleError, /regular file, not a link/);
    expect(() => plan({ path: '/l', state: 'link', src: '/x', force: true }, DIR)).to.throw(ModuleError, /never replaced by a link/);
    expect(() => plan({ path: '/a/b', state: 'touch' }, 'parent=no\nkind=absent\n')).to.throw(ModuleError, /directory \/a does not exist/);
  });

  it('validates parameters', () => {
    for (const root of ['/', '//', '/.', '/./', '///.//']) {
      expect(() => file.params.parse({ path: root, state: 'absent' }, ''), root).to.throw(SchemaError, /^path: .*means \/ \(the root directory\)/);
      expect(() => file.params.parse({ path: root, state: 'directory', recurse: true, owner: 'root' }, ''), root).to.throw(SchemaError, /means \//);
    }
    expect(() => file.params.parse({ path: '/tmp/..', state: 'absent' }, '')).to.throw(SchemaError, /has a \.\. component/);
    expect(file.params.parse({ path: '/tmp//x/./', state: 'absent' }, '').path).to.equal('/tmp/x');
    // Below the schema, the planner itself never removes / (whatever path text reached it).
    const raw = { ...file.params.parse({ path: '/x', state: 'absent' }, ''), path: '//' };
    expect(() => planFile(raw, parseFileState('//', DIR))).to.throw(ModuleError, /refusing to remove \/ \(the root directory\)/);
    expect(() => file.params.parse({ path: '/x', state: 'link' }, '')).to.throw(SchemaError, /needs src/);
    expect(() => file.params.parse({ path: '/x', recurse: true }, '')).to.throw(SchemaError, /recurse is only used with state=directory/);
    expect(() => file.params.parse({ path: '/x', state: 'absent', mode: '0644' }, '')).to.throw(SchemaError, /mean nothing with state=absent/);
  });

  it('probes recursive attributes in one more round trip and fixes them with find', async () => {
    const host = new RecordedHost([
      { match: 'kind=', output: { stdout: 'parent=yes\nkind=directory\nstat=755 1 1 4096 daemon daemon\n' } },
      { match: 'find', output: { stdout: 'owner=3\nmode=0\n' } },
    ]);
    const result = await planOn(file, { path: '/srv/a', state: 'directory', owner: 'daemon', mode: '0755', recurse: true }, host);
    expect(host.probes).to.have.length(2);
    expect(result.changes.map((change) => change.summary)).to.deep.equal(['set owner of 3 entries under /srv/a to daemon']);
    expect(script(result)).to.equal('find /srv/a -mindepth 1 ! -type l -exec chown daemon -- {} +');
  });

  it('in a dry run, depends on the task that would make entries below (find failed on a directory still to be made)', async () => {
    const predictions = new PredictedState();
    predictions.record('app directory', [{ kind: 'path', path: '/srv/app', state: { kind: 'directory', mode: '0755' } }]);
    predictions.record('config in it', [{ kind: 'path', path: '/srv/app/app.conf', state: { kind: 'file', sha256: 'a'.repeat(64), size: 3 } }]);
    const view = predictions.view();
    // The host has neither yet: the directory is read as absent, and no find may run.
    const host = new RecordedHost([
      { match: 'kind=', output: { stdout: 'parent=yes\nkind=absent\n' } },
      { match: 'getent passwd daemon', output: { stdout: '' } },
    ]);
    host.predicted = view;
    const result = await planOn(file, { path: '/srv/app', state: 'directory', owner: 'daemon', mode: '0750', recurse: true }, host);
    expect(host.probes.filter((probe) => probe.includes('find'))).to.deep.equal([]);
    expect(view.unknowns.map((unknown) => unknown.by)).to.include('config in it');
    expect(result.changes.map((change) => change.summary)).to.include.members(['set owner of the entries under /srv/app to daemon', 'set mode of the entries under /srv/app to 0750']);
  });
});

describe('file: a link whose target is not UTF-8', () => {
  const bytes = Buffer.concat([Buffer.from('/opt/caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
  const probe = `parent=yes\nkind=link\nlink=${bytes.toString('base64')}\n`;

  it('reads the target without loss: it encodes back to the bytes the host has, not to U+FFFD', () => {
    const state = parseFileState('/opt/current', probe);
    expect(encodeHostText(state.linkTarget!)).to.deep.equal(bytes.subarray(0, -1));
    expect(state.linkTarget).to.not.include('\ufffd');
  });
  it('so a link asked to point at "/opt/caf\\ufffd" (a different name) is replaced, not taken as already right', () => {
    const planned = plan({ path: '/opt/current', state: 'link', src: '/opt/caf\ufffd' }, probe);
    expect(planned.changes).to.have.length(1);
  });
});
