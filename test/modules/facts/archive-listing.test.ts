import { expect } from 'chai';
import { escapingMembers, parseTarComparison, parseZipComparison, unquoteC, type ArchiveComparison } from '../../../modules/facts/archive-listing.ts';
import { sniffFormat } from '../../../modules/unarchive.ts';

// Captured from `LC_ALL=C tar --compare -vv --quoting-style=c -z -f a.tgz -C dest` (GNU tar 1.34).
const STDOUT = `drwxr-xr-x root/root         0 2026-12-06 23:24 "./"
-rw-r--r-- root/root         1 2026-12-06 23:24 "./we ird\\nname"
lrwxrwxrwx root/root         0 2026-12-06 23:24 "./lnk" -> "d/a"
drwxr-xr-x root/root         0 2026-12-06 23:24 "./d/"
-rw-r--r-- root/root         5 2026-12-06 23:24 "./d/a"
"./we ird\\nname": Mode differs
"./lnk": Symlink differs
"./d/a": Mod time differs
"./d/a": Size differs
hrw-r--r-- 0/0               0 1970-01-01 00:00 "hl" link to "d/a"
`;
const STDERR = `tar: "./caf\\303\\251": Warning: Cannot stat: No such file or directory
tar: Removing leading \`/' from member names
`;

describe('archive listings (tar --compare, zip helper)', () => {
  it('C-unquotes names to their exact bytes', () => {
    expect(unquoteC('"a\\nb"')).to.deep.equal(Buffer.from('a\nb'));
    expect(unquoteC('"caf\\303\\251 \\"q\\" \\\\"')).to.deep.equal(Buffer.from('café "q" \\'));
    expect(unquoteC('"\\377"')).to.deep.equal(Buffer.from([0xff]));
  });

  it('reads members, differences, absent members and name rewrites from tar --compare', () => {
    const comparison = parseTarComparison(STDOUT, STDERR);
    expect(comparison.members.map((member) => [member.name, member.type, member.size, member.target])).to.deep.equal([
      ['./', 'directory', 0, undefined],
      ['./we ird\nname', 'file', 1, undefined],
      ['./lnk', 'symlink', 0, 'd/a'],
      ['./d/', 'directory', 0, undefined],
      ['./d/a', 'file', 5, undefined],
      ['hl', 'hardlink', 0, 'd/a'],
    ]);
    expect([...comparison.differences]).to.deep.equal([
      ['we ird\nname', ['mode differs']],
      ['lnk', ['symlink differs']],
      ['d/a', ['mod time differs', 'size differs']],
      ['café', ['absent']],
    ]);
    expect(comparison.rewrites).to.deep.equal(["Removing leading `/' from member names"]);
  });

  it('reads the zip helper JSON lines', () => {
    const comparison = parseZipComparison('{"name": "a/", "type": "directory", "mode": "0755", "size": 0, "target": null, "differs": []}\n{"name": "a/b", "type": "file", "mode": "0640", "size": 3, "target": null, "differs": ["absent"]}\n');
    expect(comparison.members.map((member) => member.name)).to.deep.equal(['a/', 'a/b']);
    expect([...comparison.differences]).to.deep.equal([['a/b', ['absent']]]);
  });

  const listing = (members: Array<[string, 'file' | 'directory' | 'symlink' | 'hardlink', string?]>): ArchiveComparison => ({
    members: members.map(([name, type, target]) => ({ name, bytes: Buffer.from(name), type, mode: 'rw-r--r--', size: 0, ...(target !== undefined && { target }) })),
    differences: new Map(),
    rewrites: [],
  });
  const table: Array<[string, ArchiveComparison, string[]]> = [
    [
      'plain members',
      listing([
        ['./a/', 'directory'],
        ['./a/b', 'file'],
        ['./a/l', 'symlink', '../a/b'],
        ['./a/h', 'hardlink', 'a/b'],
      ]),
      [],
    ],
    ['an absolute name', listing([['/etc/x', 'file']]), ['"/etc/x" is an absolute path']],
    ['a .. component', listing([['a/../../x', 'file']]), ['"a/../../x" has a .. component']],
    ['an absolute link', listing([['l', 'symlink', '/etc']]), ['"l" is a symbolic link to the absolute path "/etc"']],
    ['a link that climbs out', listing([['d/l', 'symlink', '../..']]), ['"d/l" is a symbolic link to "../..", outside dest']],
    [
      "a member below the archive's link",
      listing([
        ['l', 'symlink', 'd'],
        ['l/x', 'file'],
      ]),
      ['"l/x" lies below the archive\'s symbolic link "l"'],
    ],
    ['a hard link out', listing([['h', 'hardlink', '../x']]), ['"h" is a hard link to "../x", outside dest']],
  ];
  for (const [what, comparison, problems] of table) {
    it(`escape rule: ${what}`, () => expect(escapingMembers(comparison)).to.deep.equal(problems));
  }

  it('tells formats apart by their first bytes', () => {
    expect(sniffFormat(Buffer.from([0x1f, 0x8b, 8]))).to.equal('tar.gz');
    expect(sniffFormat(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).to.equal('tar.xz');
    expect(sniffFormat(Buffer.from('PK\x03\x04'))).to.equal('zip');
    expect(sniffFormat(Buffer.from('app/\0\0\0'))).to.equal('tar');
  });
});
