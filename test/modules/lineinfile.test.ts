import { expect } from 'chai';
import { editLines, expandBackrefs, lineinfile, pythonRegex, type LineEdit } from '../../modules/lineinfile.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

/**
 * (file text, edit) → new text, following Ansible's lineinfile documentation and examples
 * (https://docs.ansible.com/ansible/latest/collections/ansible/builtin/lineinfile_module.html).
 */
const TABLE: Array<{ title: string; before: string | null; edit: Partial<LineEdit>; after: string; message?: string }> = [
  { title: 'regexp: replaces the last matching line', before: 'a=1\nb=2\na=3\n', edit: { regexp: '^a=', line: 'a=9' }, after: 'a=1\nb=2\na=9\n', message: 'line replaced' },
  { title: 'regexp + firstmatch: replaces the first matching line', before: 'a=1\nb=2\na=3\n', edit: { regexp: '^a=', line: 'a=9', firstmatch: true }, after: 'a=9\nb=2\na=3\n' },
  { title: 'regexp matching nothing: appends at the end', before: 'x\n', edit: { regexp: '^a=', line: 'a=9' }, after: 'x\na=9\n', message: 'line added' },
  { title: 'appending to a file without a final newline adds one first', before: 'x', edit: { line: 'a=9' }, after: 'x\na=9\n' },
  { title: 'regexp matching nothing, but the exact line is there: nothing to do', before: 'a=9\n', edit: { regexp: '^zzz', line: 'a=9' }, after: 'a=9\n', message: '' },
  { title: 'regexp matching a line that is already right: nothing to do', before: 'a=9\nb\n', edit: { regexp: '^a=', line: 'a=9' }, after: 'a=9\nb\n', message: '' },
  { title: 'no regexp, line present: nothing to do', before: 'x\ny\n', edit: { line: 'x' }, after: 'x\ny\n' },
  { title: 'insertafter: after the last line matching', before: '#x\n#x\nend\n', edit: { line: 'L', insertafter: '^#x' }, after: '#x\n#x\nL\nend\n' },
  { title: 'insertafter + firstmatch: after the first line matching', before: '#x\n#x\nend\n', edit: { line: 'L', insertafter: '^#x', firstmatch: true }, after: '#x\nL\n#x\nend\n' },
  { title: 'insertafter matching the last line of a file without final newline', before: 'a\n[main]', edit: { line: 'k=v', insertafter: '^\\[main\\]' }, after: 'a\n[main]\nk=v\n' },
  { title: 'insertafter matching nothing: at the end', before: 'a\n', edit: { line: 'L', insertafter: '^nothing' }, after: 'a\nL\n' },
  { title: 'insertafter BOF', before: 'a\n', edit: { line: 'L', insertafter: 'BOF' }, after: 'L\na\n' },
  { title: 'insertbefore: before the last line matching', before: 'a\nb\nb\n', edit: { line: 'L', insertbefore: '^b' }, after: 'a\nb\nL\nb\n' },
  { title: 'insertbefore + firstmatch', before: 'a\nb\nb\n', edit: { line: 'L', insertbefore: '^b', firstmatch: true }, after: 'a\nL\nb\nb\n' },
  { title: 'insertbefore BOF', before: 'a\n', edit: { line: 'L', insertbefore: 'BOF' }, after: 'L\na\n' },
  { title: 'insertafter is ignored when regexp matches', before: 'k=1\n[s]\n', edit: { regexp: '^k=', line: 'k=2', insertafter: '^\\[s\\]' }, after: 'k=2\n[s]\n' },
  { title: 'backrefs: expands groups of the match', before: 'host=old\n', edit: { regexp: '^(host=).*', line: '\\1new', backrefs: true }, after: 'host=new\n' },
  { title: 'backrefs with a Python named group', before: 'port = 22\n', edit: { regexp: '^(?P<key>port)\\s*=.*', line: '\\g<key> = 2222', backrefs: true }, after: 'port = 2222\n' },
  { title: 'backrefs matching nothing: file untouched (no insert)', before: 'a\n', edit: { regexp: '^zzz(.*)', line: 'x\\1', backrefs: true }, after: 'a\n' },
  {
    title: 'backrefs commenting out swap lines, idempotent',
    before: 'UUID=1 / ext4 0 1\n/swap none swap sw 0 0\n',
    edit: { regexp: '^([^#].*\\sswap\\s.*)$', line: '# \\1', backrefs: true },
    after: 'UUID=1 / ext4 0 1\n# /swap none swap sw 0 0\n',
  },
  { title: 'a CRLF line equal to line is rewritten with LF (as Ansible)', before: 'a\r\nb\n', edit: { line: 'a' }, after: 'a\nb\n' },
  { title: 'create: a new file holds the line', before: null, edit: { line: 'x' }, after: 'x\n', message: 'line added' },
  { title: 'searchString: replaces the line containing it', before: 'a b c\nd\n', edit: { searchString: ' b ', line: 'B' }, after: 'B\nd\n' },
  { title: 'regexp with a leading (?i) flag', before: 'PasswordAuthentication yes\n', edit: { regexp: '(?i)^passwordauthentication', line: 'PasswordAuthentication no' }, after: 'PasswordAuthentication no\n' },
  { title: '$ is the end of the line', before: 'a=1\n', edit: { regexp: '^a=1$', line: 'a=2' }, after: 'a=2\n' },
  { title: 'absent + regexp: removes every matching line', before: 'a\nb=1\n#b\nb=2\n', edit: { state: 'absent', regexp: '^b' }, after: 'a\n#b\n', message: '2 line(s) removed' },
  { title: 'absent + line: removes exact lines only', before: 'a\nab\na\r\n', edit: { state: 'absent', line: 'a' }, after: 'ab\n' },
  { title: 'absent + searchString', before: 'keep\ndrop me\n', edit: { state: 'absent', searchString: 'drop' }, after: 'keep\n' },
  { title: 'absent matching nothing', before: 'a\n', edit: { state: 'absent', regexp: '^z' }, after: 'a\n', message: '' },
];

describe('lineinfile: editLines (Ansible semantics)', () => {
  for (const row of TABLE) {
    it(row.title, () => {
      const result = editLines(row.before, { state: 'present', ...row.edit });
      expect(result.text).to.equal(row.after);
      if (row.message !== undefined) expect(result.message).to.equal(row.message);
    });
  }

  it('is idempotent: the second application of each edit changes nothing', () => {
    for (const row of TABLE) {
      const edit = { state: 'present' as const, ...row.edit };
      const once = editLines(row.before, edit).text;
      expect(editLines(once, edit).text, row.title).to.equal(once);
    }
  });

  it('translates Python regexp syntax and refuses what it cannot', () => {
    expect(pythonRegex('(?P<a>x)(?P=a)', 'regexp').exec('xx')?.groups?.a).to.equal('x');
    expect(pythonRegex('(?im)^A', 'regexp').flags).to.include('i').and.include('m');
    expect(pythonRegex('end\\Z', 'regexp').test('the end')).to.equal(true);
    // An escaped backslash before A or Z is a backslash and a letter (it became `C:\^pps`).
    expect(pythonRegex(String.raw`^path=C:\\Apps`, 'regexp').test(String.raw`path=C:\Apps`)).to.equal(true);
    expect(pythonRegex(String.raw`dir\\Z$`, 'regexp').test(String.raw`dir\Z`)).to.equal(true);
    expect(pythonRegex(String.raw`\(?P<a>`, 'regexp').test('P<a>')).to.equal(true);
    // \A and \Z are the ends of the string even under (?m).
    expect(pythonRegex(String.raw`(?m)\Afoo`, 'regexp').test('bar\nfoo')).to.equal(false);
    expect(pythonRegex(String.raw`(?m)\Afoo`, 'regexp').test('foo\nbar')).to.equal(true);
    expect(pythonRegex(String.raw`(?m)foo\Z`, 'regexp').test('foo\nbar')).to.equal(false);
    expect(() => pythonRegex('(?x) a', 'regexp')).to.throw(ModuleError, /Python flag \(\?x\)/);
    expect(() => pythonRegex('(unclosed', 'insertafter')).to.throw(ModuleError, /^insertafter "\(unclosed" is not a valid regular expression/);
  });

  it('expands backreferences as Python does, and names a missing group', () => {
    const match = /^(a)(?<n>b)?(c)?/.exec('ab')!;
    expect(expandBackrefs('\\1-\\g<n>-\\3-\\g<2>\\t\\\\', match)).to.equal('a-b--b\t\\');
    expect(() => expandBackrefs('\\7', match)).to.throw(ModuleError, /group 7, but the regexp has 3/);
    expect(() => expandBackrefs('\\g<zz>', match)).to.throw(ModuleError, /group zz/);
  });

  it("validates parameter combinations with Ansible's rules", () => {
    const parse = (input: unknown) => lineinfile.params.parse(input, '');
    expect(() => parse({ path: '/x' })).to.throw(SchemaError, /line is required with state=present/);
    expect(() => parse({ path: '/x', state: 'absent' })).to.throw(SchemaError, /needs one of line, regexp or searchString/);
    expect(() => parse({ path: '/x', line: 'a', insertafter: 'a', insertbefore: 'b' })).to.throw(SchemaError, /at most one of insertafter and insertbefore/);
    expect(() => parse({ path: '/x', line: 'a', backrefs: true })).to.throw(SchemaError, /backrefs needs regexp/);
    expect(parse({ path: '/x', line: 'a', insertafter: 'EOF', search_string: 'q' })).to.deep.include({ insertafter: 'EOF', searchString: 'q' });
  });
});

describe('lineinfile: a file that starts with a byte order mark', () => {
  it('is already as asked when the line is there (it was rewritten without its first three bytes)', async () => {
    const plan = await planOn(lineinfile, { path: '/etc/x.conf', line: 'b=2' }, new RecordedHost([fileProbeAnswer('\ufeffa=1\nb=2\n')]));
    expect(plan.changes).to.deep.equal([]);
  });
});

describe('lineinfile: the change in words', () => {
  it('says what it does in the imperative, so that a dry run reads "would …" (it said "would line replaced in …")', async () => {
    const table: Array<[string, string | null, Parameters<typeof planOn<typeof lineinfile>>[1], string]> = [
      ['replaced', 'a=1\nb=2\n', { path: '/etc/x.conf', regexp: '^a=', line: 'a=5' }, 'update /etc/x.conf (8 → 8 bytes), replacing the matched line'],
      ['added', 'a=1\nb=2\n', { path: '/etc/x.conf', line: 'c=3' }, 'update /etc/x.conf (8 → 12 bytes), adding the line'],
      ['added to a new file', null, { path: '/etc/x.conf', line: 'c=3', create: true }, 'create /etc/x.conf (4 bytes), adding the line'],
      ['removed', 'a=1\nb=2\nb=3\n', { path: '/etc/x.conf', regexp: '^b=', state: 'absent' }, 'update /etc/x.conf (12 → 4 bytes), removing 2 line(s)'],
      ['only the mode', 'a=1\n', { path: '/etc/x.conf', line: 'a=1', mode: '0600' }, 'set mode of /etc/x.conf 0644 → 0600'],
      // A UTF-8 byte order mark is the file's, kept and counted (it was dropped, the file rewritten without it).
      ['added after a byte order mark', '\ufeffa=1\nb=2\n', { path: '/etc/x.conf', line: 'c=3' }, 'update /etc/x.conf (11 → 15 bytes), adding the line'],
    ];
    for (const [what, before, params, summary] of table) {
      const plan = await planOn(lineinfile, params, new RecordedHost([fileProbeAnswer(before)]));
      expect(
        plan.changes.map((change) => change.summary),
        what,
      ).to.deep.equal([summary]);
    }
  });
});
