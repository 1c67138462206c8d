import { expect } from 'chai';
import { parseTarComparison } from '../../modules/facts/archive-listing.ts';
import { planExtraction, readProbe, unarchive } from '../../modules/unarchive.ts';

const parse = (params: unknown) => unarchive.params.parse(params, '');
const LISTING = `drwxr-xr-x 0/0               0 2023-11-14 22:13 "app/"
-rw-r----- 0/0              21 2023-11-14 22:13 "app/tool"
lrwxrwxrwx 0/0               0 2023-11-14 22:13 "app/current" -> "tool"
`;
const output = (stdout: string, stderr = '', exitCode = 1) => ({ exitCode, stdout, stderr });

describe('unarchive planner', () => {
  it('takes exactly one of src and remoteSrc, and host paths normalised', () => {
    expect(() => parse({ dest: '/opt' })).to.throw('give exactly one of src');
    expect(() => parse({ src: 'a.tgz', remoteSrc: '/a.tgz', dest: '/opt' })).to.throw('give exactly one of src');
    expect(() => parse({ remoteSrc: '/tmp/../a.tgz', dest: '/opt' })).to.throw('.. component');
    expect(parse({ remoteSrc: '/tmp//a.tgz', dest: '/opt/' }).dest).to.equal('/opt');
  });

  const p = parse({ remoteSrc: '/tmp/a.tgz', dest: '/opt/app', creates: '/opt/app/app/tool' });
  it('reads the probe: creates, a missing dest or archive, a missing tool, an unreadable archive', () => {
    expect(readProbe(output('created=yes\n', '', 0), p, 'h')).to.deep.equal({ done: '/opt/app/app/tool exists; nothing extracted' });
    expect(readProbe(output('src=missing\n', '', 0), p, 'h')).to.deep.equal({ srcMissing: true });
    // No dest yet (a dry run's earlier task would make it): the archive is listed, every member absent.
    const listed = readProbe(output(`format=tar.gz\ndest=missing\n@@compare\n${LISTING}`, '', 0), p, 'h');
    expect(listed).to.include({ format: 'tar.gz', destMissing: true });
    expect([...(listed as { comparison: { differences: Map<string, string[]> } }).comparison.differences.keys()]).to.deep.equal(['app', 'app/tool', 'app/current']);
    expect(() => readProbe(output('format=tar.xz\ntool=missing:xz\n', '', 0), p, 'h')).to.throw('h has no xz, which a tar.xz archive needs');
    expect(() => readProbe(output('format=tar.gz\n@@compare\n', 'gzip: stdin: not in gzip format\ntar: Error is not recoverable', 2), p, 'h')).to.throw(/cannot read \/tmp\/a\.tgz as tar\.gz on h \(exit code 2\)/);
  });

  const table: Array<[string, string, string, unknown, string | undefined]> = [
    ['nothing differs: nothing to do', '', '', {}, undefined],
    [
      'an absent member and a changed one: the listing diff shows both',
      '"app/tool": Size differs\n',
      'tar: "app/current": Warning: Cannot readlink: No such file or directory\n',
      {},
      'extract /tmp/a.tgz into /opt/app (1 absent, 1 differing of 3 members)',
    ],
    ["owner asked: uid and gid lines are the chown's business", '"app/tool": Uid differs\n"app/tool": Gid differs\n', '', { owner: 'daemon' }, undefined],
    ['no owner asked: a different uid is extracted again', '"app/tool": Uid differs\n', '', {}, 'extract /tmp/a.tgz into /opt/app (1 differing of 3 members)'],
  ];
  for (const [what, differences, stderr, extra, summary] of table) {
    it(`plans: ${what}`, () => {
      const params = parse({ remoteSrc: '/tmp/a.tgz', dest: '/opt/app', ...(extra as object) });
      const changes = planExtraction(params, 'tar.gz', parseTarComparison(LISTING + differences, stderr));
      expect(changes.map((change) => change.summary)).to.deep.equal(summary ? [summary] : []);
    });
  }

  it('the diff: before as dest has the differing members, after as the archive has them', () => {
    const [change] = planExtraction(p, 'tar.gz', parseTarComparison(`${LISTING}"app/tool": Size differs\n`, 'tar: "app/current": Warning: Cannot readlink: No such file or directory\n'));
    expect(change!.diff).to.deep.equal({ kind: 'file', path: '/opt/app (archive members)', before: 'app/tool  (size differs)\n', after: 'app/tool  rw-r----- 21 bytes\napp/current -> tool\n' });
    expect(change!.commands.map((command) => command.description)).to.deep.equal(['extract /tmp/a.tgz into /opt/app']);
  });
});
