import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileState } from '../../modules/facts/file-state.ts';
import { escapeField, findFstabEntry, formatFstabEntry, parseFstab, removeFstabEntry, setFstabEntry, unescapeField, type FstabEntry } from '../../modules/facts/fstab.ts';
import { mountPointScript, parseFindmnt, parseMountPoint, type MountPointState } from '../../modules/facts/mount-point.ts';
import { mount, mountedSource, parseMountProbe, planMount, type MountParams } from '../../modules/mount.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Plan } from '../../runner/module.ts';
import { STRICT_PRELUDE } from '../../runner/command.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileProbe } from '../support/file-probe.ts';
import { absentFileState, fileStateWith } from '../support/file-state.ts';
import { changeSummaries, displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

const entry = (src: string, path: string, fstype = 'ext4', opts = 'defaults', dump = 0, passno = 0): FstabEntry => ({ src, path, fstype, opts, dump, passno });

const FSTAB = `# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=1111-2222  /               ext4    errors=remount-ro 0       1
UUID=3333       none            swap    sw              0       0
#/dev/sdb1      /mnt/old        ext4    defaults        0       2
/dev/sdc1	/mnt/data	xfs	defaults,noatime	0	2

tmpfs /tmp tmpfs size=1g
`;

describe('mount: fstab as data (pure)', () => {
  it('parses entries, keeping comments and odd lines as text', () => {
    const lines = parseFstab(FSTAB);
    expect(lines.map((line) => line.entry?.path ?? null)).to.deep.equal([null, null, null, '/', 'none', null, '/mnt/data', null, '/tmp', null]);
    expect(lines[6]!.entry).to.deep.equal(entry('/dev/sdc1', '/mnt/data', 'xfs', 'defaults,noatime', 0, 2));
    expect(lines[8]!.entry).to.deep.equal(entry('tmpfs', '/tmp', 'tmpfs', 'size=1g'));
    expect(parseFstab('/dev/sda1 /mnt\n')[0]!.entry, 'fewer than four fields is not an entry').to.equal(undefined);
  });

  it('escapes blanks, tabs, newlines, backslashes and # as octal, and reads them back', () => {
    const table: Array<[string, string]> = [
      ['/mnt/a b', '/mnt/a\\040b'],
      ['a\tb', 'a\\011b'],
      ['back\\slash', 'back\\134slash'],
      ['#hash', '\\043hash'],
      ['ünï ☃', 'ünï\\040☃'],
      ['$(touch x);`y`', '$(touch\\040x);`y`'],
    ];
    for (const [plain, escaped] of table) {
      expect(escapeField(plain), plain).to.equal(escaped);
      expect(unescapeField(escaped), escaped).to.equal(plain);
    }
  });

  type Row = { title: string; before: string; entry: FstabEntry; after: string };
  const setTable: Row[] = [
    { title: 'appends to an empty file', before: '', entry: entry('tmpfs', '/mnt/t', 'tmpfs', 'size=1m'), after: 'tmpfs /mnt/t tmpfs size=1m 0 0\n' },
    { title: 'appends after a last line without newline', before: '# only a comment', entry: entry('/dev/sdb1', '/mnt/b'), after: '# only a comment\n/dev/sdb1 /mnt/b ext4 defaults 0 0\n' },
    {
      title: 'replaces the entry for the mount point in place, keeping every other line',
      before: FSTAB,
      entry: entry('/dev/sdc1', '/mnt/data', 'xfs', 'defaults,noatime,nofail', 0, 2),
      after: FSTAB.replace('/dev/sdc1\t/mnt/data\txfs\tdefaults,noatime\t0\t2', '/dev/sdc1 /mnt/data xfs defaults,noatime,nofail 0 2'),
    },
    { title: 'keeps a line that already says the same, spacing and all', before: FSTAB, entry: entry('/dev/sdc1', '/mnt/data', 'xfs', 'defaults,noatime', 0, 2), after: FSTAB },
    { title: 'omitted dump and passno are 0', before: FSTAB, entry: entry('tmpfs', '/tmp', 'tmpfs', 'size=1g', 0, 0), after: FSTAB },
    { title: 'a commented-out entry is not the entry', before: FSTAB, entry: entry('/dev/sdb1', '/mnt/old', 'ext4', 'defaults', 0, 2), after: `${FSTAB}/dev/sdb1 /mnt/old ext4 defaults 0 2\n` },
    {
      title: 'removes later duplicates for the same mount point',
      before: 'a /m ext4 defaults 0 0\n# keep\nb /m/ ext4 defaults 0 0\nc /n ext4 defaults 0 0\n',
      entry: entry('x', '/m'),
      after: 'x /m ext4 defaults 0 0\n# keep\nc /n ext4 defaults 0 0\n',
    },
    { title: 'matches an escaped mount point', before: 'tmpfs /mnt/a\\040b tmpfs size=1m 0 0\n', entry: entry('tmpfs', '/mnt/a b', 'tmpfs', 'size=2m'), after: 'tmpfs /mnt/a\\040b tmpfs size=2m 0 0\n' },
    { title: 'matches a mount point written with a trailing slash', before: 'tmpfs /mnt/t/ tmpfs size=1m 0 0\n', entry: entry('tmpfs', '/mnt/t', 'tmpfs', 'size=1m'), after: 'tmpfs /mnt/t/ tmpfs size=1m 0 0\n' },
  ];
  for (const row of setTable) {
    it(`setFstabEntry ${row.title}`, () => {
      expect(setFstabEntry(row.before, row.entry)).to.equal(row.after);
      expect(setFstabEntry(row.after, row.entry), 'idempotent').to.equal(row.after);
      expect({ ...findFstabEntry(row.after, row.entry.path), path: row.entry.path }).to.deep.equal(row.entry);
    });
  }

  it('removeFstabEntry removes every line for the mount point and nothing else', () => {
    expect(removeFstabEntry(FSTAB, '/mnt/data')).to.equal(FSTAB.replace('/dev/sdc1\t/mnt/data\txfs\tdefaults,noatime\t0\t2\n', ''));
    expect(removeFstabEntry(FSTAB, '/mnt/old')).to.equal(FSTAB);
    expect(removeFstabEntry('a /m x y\nb /n x y\na /m/ x y', '/m')).to.equal('b /n x y');
    expect(formatFstabEntry(entry('my src', '/mnt/a b', 'tmpfs', 'size=1m'))).to.equal('my\\040src /mnt/a\\040b tmpfs size=1m 0 0');
  });
});

/** Probe output captured on a lab host (Debian 12 in systemd-nspawn) with mountProbeScript. */
const CAPTURED = {
  tmpfs: `@@findmnt
{
   "filesystems": [
      {
         "target": "/mnt/drover-test-a b",
         "source": "drover src",
         "fstype": "tmpfs",
         "options": "rw,relatime,size=1024k",
         "maj:min": "0:91"
      }
   ]
}
@@path
kind=directory
id=91:1
@@src
kind=name
`,
  bind: `@@findmnt
{
   "filesystems": [
      {
         "target": "/mnt/drover-test-a b",
         "source": "/dev/vda[/var/lib/drover-lab/hosts/lab-2/data/drover-test-src]",
         "fstype": "ext4",
         "options": "rw,relatime,discard,resv_strict,resuid=65534,resgid=65534",
         "maj:min": "254:0"
      }
   ]
}
@@path
kind=directory
id=65024:1573011
@@src
kind=directory
id=65024:1573011
`,
  nothing: `@@findmnt
@@path
kind=absent
@@src
kind=absent
`,
  image: `@@findmnt
@@path
kind=absent
@@src
kind=file
real=L3RtcC9kcm92ZXItdGVzdC5pbWcK
`,
};

function point(overrides: Partial<MountPointState> = {}): MountPointState {
  return { mounts: [], pathKind: 'directory', ...overrides };
}
const tmpfsAt = (path: string, source: string, options = 'rw,relatime,size=1024k') => ({ target: path, source, fstype: 'tmpfs', options, majMin: '0:91' });
function fstabFile(text: string | null): FileState {
  return text === null ? absentFileState('/etc/fstab') : fileStateWith('/etc/fstab', text);
}

describe('mount: probe parsing and source identity (pure)', () => {
  it('parses the probe output captured on a lab host', () => {
    expect(parseMountPoint('/mnt/drover-test-a b', CAPTURED.tmpfs)).to.deep.equal({
      mounts: [{ target: '/mnt/drover-test-a b', source: 'drover src', fstype: 'tmpfs', options: 'rw,relatime,size=1024k', majMin: '0:91' }],
      pathKind: 'directory',
      pathId: '91:1',
      source: { kind: 'name' },
    });
    const bind = parseMountPoint('/mnt/drover-test-a b', CAPTURED.bind);
    expect([bind.pathId, bind.source]).to.deep.equal(['65024:1573011', { kind: 'directory', id: '65024:1573011' }]);
    expect(parseMountPoint('/mnt/x', CAPTURED.nothing)).to.deep.equal({ mounts: [], pathKind: 'absent', source: { kind: 'absent' } });
    expect(parseMountPoint('/mnt/x', CAPTURED.image).source).to.deep.equal({ kind: 'file', realPath: '/tmp/drover-test.img' });
    const block = parseMountPoint('/mnt/x', '@@findmnt\n@@path\nkind=directory\n@@src\nkind=block\nrdev=fe:11\n');
    expect(block.source).to.deep.equal({ kind: 'block', majMin: '254:17' });
    const loop = parseMountPoint('/mnt/x', `@@findmnt\n@@path\nkind=directory\nloop=${Buffer.from('/srv/a b.img\n').toString('base64')}\n@@src\nkind=name\n`);
    expect(loop.loopBackingFile).to.equal('/srv/a b.img');
    expect(() => parseMountPoint('/mnt/x', 'garbage')).to.throw(/unexpected probe output/);
    expect(() => parseFindmnt('/mnt/x', '{"nope": 1}')).to.throw(/no filesystems list/);
  });

  it('splits the one probe into mount point and fstab', () => {
    const probed = parseMountProbe({ path: '/mnt/drover-test-a b', fstab: '/etc/fstab' }, `${CAPTURED.tmpfs}@@fstab\n${fileProbe(FSTAB)}`);
    expect(probed.point.mounts).to.have.length(1);
    expect(probed.fstab.content?.toString()).to.equal(FSTAB);
  });

  it('recognises the same source for every kind', () => {
    const table: Array<[string, Pick<MountParams, 'src' | 'fstype' | 'opts'>, MountPointState, string]> = [
      ['nothing mounted', { src: 'tmpfs', fstype: 'tmpfs' }, point(), 'absent'],
      ['tmpfs by name', { src: 'drover src', fstype: 'tmpfs' }, point({ mounts: [tmpfsAt('/m', 'drover src')], source: { kind: 'name' } }), 'same'],
      ['tmpfs with another name', { src: 'other', fstype: 'tmpfs' }, point({ mounts: [tmpfsAt('/m', 'drover src')], source: { kind: 'name' } }), 'different'],
      ['another filesystem type', { src: 'drover src', fstype: 'ramfs' }, point({ mounts: [tmpfsAt('/m', 'drover src')], source: { kind: 'name' } }), 'different'],
      ['the visible (top) mount decides', { src: 'a', fstype: 'tmpfs' }, point({ mounts: [tmpfsAt('/m', 'a'), tmpfsAt('/m', 'b')], source: { kind: 'name' } }), 'different'],
      ['bind: same directory', { src: '/srv/d', fstype: 'none', opts: 'bind' }, point({ mounts: [{ ...tmpfsAt('/m', '/dev/vda[/srv/d]'), fstype: 'ext4' }], pathId: '1:2', source: { kind: 'directory', id: '1:2' } }), 'same'],
      ['bind: another directory', { src: '/srv/d', fstype: 'none', opts: 'bind,ro' }, point({ mounts: [{ ...tmpfsAt('/m', '/dev/vda[/srv/e]'), fstype: 'ext4' }], pathId: '1:3', source: { kind: 'directory', id: '1:2' } }), 'different'],
      ['device by MAJ:MIN', { src: 'UUID=abc', fstype: 'ext4' }, point({ mounts: [{ target: '/m', source: '/dev/sdb1', fstype: 'ext4', options: 'rw', majMin: '8:17' }], source: { kind: 'block', majMin: '8:17' } }), 'same'],
      ['another device', { src: '/dev/sdc1', fstype: 'ext4' }, point({ mounts: [{ target: '/m', source: '/dev/sdb1', fstype: 'ext4', options: 'rw', majMin: '8:17' }], source: { kind: 'block', majMin: '8:33' } }), 'different'],
      [
        'loop image by backing file',
        { src: '/srv/i.img', fstype: 'ext4' },
        point({ mounts: [{ target: '/m', source: '/dev/loop0', fstype: 'ext4', options: 'rw', majMin: '7:0' }], loopBackingFile: '/srv/i.img', source: { kind: 'file', realPath: '/srv/i.img' } }),
        'same',
      ],
      [
        'loop image replaced on disk',
        { src: '/srv/i.img', fstype: 'ext4' },
        point({ mounts: [{ target: '/m', source: '/dev/loop0', fstype: 'ext4', options: 'rw', majMin: '7:0' }], loopBackingFile: '/srv/i.img (deleted)', source: { kind: 'file', realPath: '/srv/i.img' } }),
        'same',
      ],
      [
        'another image',
        { src: '/srv/j.img', fstype: 'ext4' },
        point({ mounts: [{ target: '/m', source: '/dev/loop0', fstype: 'ext4', options: 'rw', majMin: '7:0' }], loopBackingFile: '/srv/i.img', source: { kind: 'file', realPath: '/srv/j.img' } }),
        'different',
      ],
      ['nfs mounts as nfs4', { src: 'nas:/export', fstype: 'nfs' }, point({ mounts: [{ target: '/m', source: 'nas:/export', fstype: 'nfs4', options: 'rw', majMin: '0:50' }], source: { kind: 'name' } }), 'same'],
      ['fstype auto matches any', { src: 'nas:/export', fstype: 'auto' }, point({ mounts: [{ target: '/m', source: 'nas:/export', fstype: 'nfs4', options: 'rw', majMin: '0:50' }], source: { kind: 'name' } }), 'same'],
    ];
    for (const [title, p, state, expected] of table) expect(mountedSource(p, state), title).to.equal(expected);
  });
});

describe('mount: the probe with findmnt that answers in each way it can', () => {
  /** Runs the probe through /bin/sh with a findmnt of our own first on PATH: its stdout, stderr and status. */
  function probeWith(findmnt: string): { status: number | null; stdout: string; stderr: string } {
    const dir = mkdtempSync(join(tmpdir(), 'drover-findmnt-'));
    try {
      writeFileSync(join(dir, 'findmnt'), `#!/bin/sh\n${findmnt}\n`);
      chmodSync(join(dir, 'findmnt'), 0o755);
      return spawnSync('/bin/sh', ['-c', STRICT_PRELUDE + mountPointScript('/mnt/x').text], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('nothing mounted (exit 1, silent) is no mounts; a findmnt that fails with a message (no -J, as on EL7) stops the probe', () => {
    const none = probeWith('exit 1');
    expect(none.status).to.equal(0);
    expect(parseMountPoint('/mnt/x', none.stdout).mounts).to.deep.equal([]);
    const json = '{"filesystems": [{"target": "/mnt/x", "source": "tmpfs", "fstype": "tmpfs", "options": "rw", "maj:min": "0:50"}]}';
    const mounted = probeWith(`echo '${json}'`);
    expect(parseMountPoint('/mnt/x', mounted.stdout).mounts).to.deep.equal([{ target: '/mnt/x', source: 'tmpfs', fstype: 'tmpfs', options: 'rw', majMin: '0:50' }]);
    const old = probeWith('echo "findmnt: invalid option -- \'J\'" >&2; exit 1');
    expect(old.status).to.equal(1);
    expect(old.stderr).to.equal("findmnt failed (drover reads its JSON output, findmnt -J): findmnt: invalid option -- 'J'\n");
  });
});

describe('mount: parameters', () => {
  it('refuses paths and options that fstab or mount cannot carry', () => {
    const table: Array<[Record<string, unknown>, RegExp]> = [
      [{ path: 'mnt/x', src: 'tmpfs', fstype: 'tmpfs', state: 'mounted' }, /not an absolute path/],
      [{ path: '/mnt/../etc', src: 'tmpfs', fstype: 'tmpfs', state: 'mounted' }, /has a \.\. component/],
      [{ path: '//', state: 'absent' }, /root filesystem/],
      [{ path: '/mnt/..', state: 'unmounted' }, /has a \.\. component/],
      [{ path: '/mnt/a\nb', src: 'tmpfs', fstype: 'tmpfs', state: 'mounted' }, /no control characters/],
      [{ path: '/mnt/x', src: 'tmp\nfs', fstype: 'tmpfs', state: 'mounted' }, /mount source/],
      [{ path: '/mnt/x', src: 'tmpfs', fstype: 'tmpfs', opts: 'size=1m; touch /tmp/x', state: 'mounted' }, /without blanks/],
      [{ path: '/mnt/x', src: 'tmpfs', fstype: 'tmp fs', state: 'mounted' }, /filesystem type/],
      [{ path: '/mnt/x', fstype: 'tmpfs', state: 'mounted' }, /state mounted needs src and fstype/],
      [{ path: '/mnt/x', src: 'tmpfs', state: 'present' }, /state present needs src and fstype/],
      [{ path: '/mnt/x', src: 'tmpfs', fstype: 'tmpfs', state: 'mounted', passno: 10 }, /above the maximum 9/],
      [{ path: '/', state: 'absent' }, /root filesystem/],
      [{ path: '/mnt/x', src: 'tmpfs', fstype: 'tmpfs' }, /state: is required/],
    ];
    for (const [input, error] of table) expect(() => mount.params.parse(input, ''), JSON.stringify(input)).to.throw(SchemaError, error);
  });
});

describe('mount: planner (table)', () => {
  const TMP: MountParams = { path: '/mnt/t', src: 'drover', fstype: 'tmpfs', opts: 'size=1m', state: 'mounted' };
  const LINE = 'drover /mnt/t tmpfs size=1m 0 0\n';
  const plan = (input: MountParams, state: MountPointState, fstab: string | null): Plan => planMount(mount.params.parse(input, ''), state, fstabFile(fstab));

  type Row = { title: string; input: MountParams; point: MountPointState; fstab: string | null; changes: string[] };
  const mounted = point({ mounts: [tmpfsAt('/mnt/t', 'drover')], source: { kind: 'name' } });
  const table: Row[] = [
    {
      title: 'mounted: creates the mount point, mounts, then writes fstab',
      input: TMP,
      point: point({ pathKind: 'absent', source: { kind: 'name' } }),
      fstab: '# x\n',
      changes: ['create mount point /mnt/t', 'mount drover on /mnt/t (tmpfs, size=1m)', 'update /etc/fstab (4 → 36 bytes)'],
    },
    { title: 'mounted: nothing to do when mounted and in fstab', input: TMP, point: mounted, fstab: LINE, changes: [] },
    { title: 'mounted: new options remount and update fstab', input: { ...TMP, opts: 'size=2m' }, point: mounted, fstab: LINE, changes: ['remount /mnt/t with size=2m (fstab had size=1m)', 'update /etc/fstab (32 → 32 bytes)'] },
    { title: 'mounted: mounted by hand, not in fstab: remounted with the options, added', input: TMP, point: mounted, fstab: '', changes: ['remount /mnt/t with size=1m (no fstab entry before)', 'update /etc/fstab (0 → 32 bytes)'] },
    {
      title: 'mounted: another source is unmounted first',
      input: { ...TMP, src: 'other' },
      point: mounted,
      fstab: LINE,
      changes: ['unmount drover from /mnt/t', 'mount other on /mnt/t (tmpfs, size=1m)', 'update /etc/fstab (32 → 31 bytes)'],
    },
    {
      title: 'mounted: a bind mount of a single file gets a file as mount point',
      input: { path: '/etc/drover.conf', src: '/srv/drover.conf', fstype: 'none', opts: 'bind', state: 'mounted' },
      point: point({ pathKind: 'absent', source: { kind: 'file', realPath: '/srv/drover.conf' } }),
      fstab: '',
      changes: ['create mount point /etc/drover.conf (a file, for a file bind mount)', 'mount /srv/drover.conf on /etc/drover.conf (none, bind)', 'update /etc/fstab (0 → 48 bytes)'],
    },
    {
      title: 'mounted: a loop image already mounted is recognised',
      input: { path: '/mnt/t', src: '/srv/i.img', fstype: 'ext4', state: 'mounted' },
      point: point({ mounts: [{ target: '/mnt/t', source: '/dev/loop3', fstype: 'ext4', options: 'rw', majMin: '7:3' }], loopBackingFile: '/srv/i.img', source: { kind: 'file', realPath: '/srv/i.img' } }),
      fstab: '/srv/i.img /mnt/t ext4 defaults 0 0\n',
      changes: [],
    },
    {
      title: 'unmounted: every stacked mount comes off; fstab untouched',
      input: { path: '/mnt/t', state: 'unmounted' },
      point: point({ mounts: [tmpfsAt('/mnt/t', 'a'), tmpfsAt('/mnt/t', 'b')] }),
      fstab: LINE,
      changes: ['unmount b from /mnt/t (and 1 mount(s) under it)'],
    },
    { title: 'unmounted: nothing mounted, nothing to do', input: { path: '/mnt/t', state: 'unmounted' }, point: point(), fstab: LINE, changes: [] },
    { title: 'present: fstab only', input: { ...TMP, state: 'present' }, point: point({ pathKind: 'absent' }), fstab: '', changes: ['update /etc/fstab (0 → 32 bytes)'] },
    { title: 'present: creates a missing fstab file', input: { ...TMP, state: 'present' }, point: point({ pathKind: 'absent' }), fstab: null, changes: ['create /etc/fstab (32 bytes)'] },
    { title: 'absent: unmounts and removes the entry; the directory stays', input: { path: '/mnt/t', state: 'absent' }, point: mounted, fstab: `# keep\n${LINE}`, changes: ['unmount drover from /mnt/t', 'update /etc/fstab (39 → 7 bytes)'] },
    { title: 'absent: nothing there, nothing to do', input: { path: '/mnt/t', state: 'absent' }, point: point(), fstab: '# keep\n', changes: [] },
    { title: 'remounted: every time', input: { path: '/mnt/t', state: 'remounted' }, point: mounted, fstab: LINE, changes: ['remount /mnt/t'] },
  ];
  for (const row of table) {
    it(row.title, () => {
      const result = plan(row.input, row.point, row.fstab);
      expect(changeSummaries(result)).to.deep.equal(row.changes);
      if (row.changes.length === 0) expect(result.reason).to.be.a('string');
    });
  }

  it('keeps other fstab lines and writes the entry escaped', () => {
    const result = plan({ path: '/mnt/a b', src: 'my src', fstype: 'tmpfs', opts: 'size=1m', state: 'present' }, point(), FSTAB);
    expect(result.changes[0]!.diff).to.deep.equal({ kind: 'file', path: '/etc/fstab', before: FSTAB, after: `${FSTAB}my\\040src /mnt/a\\040b tmpfs size=1m 0 0\n` });
  });

  it('quotes every value in the commands, and mounts with source and mount point so fstab is not read', () => {
    const result = plan({ path: '/mnt/a b', src: "it's $(x)", fstype: 'tmpfs', opts: 'size=1m,mode=0700', state: 'mounted' }, point({ pathKind: 'absent', source: { kind: 'name' } }), '');
    expect(displayedCommands(result).slice(0, 2)).to.deep.equal(["mkdir -p -- '/mnt/a b'", "mount -t tmpfs -o size=1m,mode=0700 -- 'it'\\''s $(x)' '/mnt/a b'"]);
    const remount = plan({ path: '/mnt/t', src: 'drover', fstype: 'tmpfs', opts: 'size=2m', state: 'mounted' }, mounted, LINE);
    expect(displayedCommands(remount)[0]).to.equal('mount -o remount,size=2m -- drover /mnt/t');
    const unmount = plan({ path: '/mnt/t', state: 'unmounted' }, point({ mounts: [tmpfsAt('/mnt/t', 'a'), tmpfsAt('/mnt/t', 'b')] }), '');
    expect(displayedCommands(unmount)).to.deep.equal(['umount -- /mnt/t\numount -- /mnt/t']);
  });

  it('refuses impossible requests while planning', () => {
    expect(() => plan({ ...TMP, src: '/dev/drover-missing', fstype: 'ext4' }, point({ source: { kind: 'absent' } }), '')).to.throw(ModuleError, 'cannot mount /dev/drover-missing on /mnt/t: /dev/drover-missing does not exist');
    expect(() => plan({ path: '/mnt/t', state: 'remounted' }, point(), '')).to.throw(ModuleError, /is not mounted, so it cannot be remounted/);
    expect(() => planMount(mount.params.parse({ ...TMP, state: 'present' }, ''), point(), { path: '/etc/fstab', resolved: false, kind: 'directory', parentExists: true })).to.throw(ModuleError, /not a regular file/);
  });

  it('plans through one probe on a recorded host', async () => {
    const host = new RecordedHost([{ match: '@@findmnt', output: { stdout: `${CAPTURED.tmpfs}@@fstab\n${fileProbe(`${FSTAB}drover\\040src /mnt/drover-test-a\\040b tmpfs size=1m 0 0\n`)}` } }]);
    const result = await planOn(mount, { path: '/mnt/drover-test-a b', src: 'drover src', fstype: 'tmpfs', opts: 'size=1m', state: 'mounted' }, host);
    expect(result.changes).to.deep.equal([]);
    expect(host.probes).to.have.length(1);
  });
});
