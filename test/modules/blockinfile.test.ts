import { expect } from 'chai';
import { blockinfile, DEFAULT_MARKER, editBlock, type BlockEdit } from '../../modules/blockinfile.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

const B = '# BEGIN DROVER MANAGED BLOCK\n';
const E = '# END DROVER MANAGED BLOCK\n';
const base: BlockEdit = { state: 'present', block: '', marker: DEFAULT_MARKER, markerBegin: 'BEGIN', markerEnd: 'END' };

/**
 * (file text, edit) → new text, following Ansible's blockinfile documentation
 * (https://docs.ansible.com/ansible/latest/collections/ansible/builtin/blockinfile_module.html).
 */
const TABLE: Array<{ title: string; before: string | null; edit: Partial<BlockEdit>; after: string; message?: string }> = [
  { title: 'inserts at the end by default', before: 'a\n', edit: { block: 'x\ny' }, after: `a\n${B}x\ny\n${E}`, message: 'block inserted' },
  { title: 'ends an unterminated last line before inserting', before: 'a', edit: { block: 'x' }, after: `a\n${B}x\n${E}` },
  { title: 'updates a block in place, keeping what surrounds it', before: `a\n${B}old\n${E}z\n`, edit: { block: 'new\nlines\n' }, after: `a\n${B}new\nlines\n${E}z\n` },
  { title: 'leaves an identical block alone', before: `a\n${B}x\n${E}z\n`, edit: { block: 'x' }, after: `a\n${B}x\n${E}z\n`, message: '' },
  { title: 'absent removes markers and block', before: `a\n${B}x\n${E}z\n`, edit: { state: 'absent' }, after: 'a\nz\n', message: 'block removed' },
  { title: 'an empty block removes markers and block (as Ansible)', before: `a\n${B}x\n${E}`, edit: { block: '' }, after: 'a\n' },
  { title: 'absent with no block: nothing to do', before: 'a\n', edit: { state: 'absent' }, after: 'a\n', message: '' },
  { title: 'insertbefore BOF', before: 'a\n', edit: { block: 'x', insertbefore: 'BOF' }, after: `${B}x\n${E}a\n` },
  { title: 'insertafter a regexp: after the last matching line', before: '[s]\nk\n[s]\nk\n', edit: { block: 'x', insertafter: '^\\[s\\]' }, after: `[s]\nk\n[s]\n${B}x\n${E}k\n` },
  { title: 'insertbefore a regexp: before the last matching line', before: 'a\nb\nc\n', edit: { block: 'x', insertbefore: '^b' }, after: `a\n${B}x\n${E}b\nc\n` },
  { title: 'a regexp matching nothing: at the end', before: 'a\n', edit: { block: 'x', insertafter: '^nothing' }, after: `a\n${B}x\n${E}` },
  { title: 'a multi-line (?m) insertafter is searched across lines', before: 'A =\n  (LIST =\nrest\n', edit: { block: 'x', insertafter: '(?m)A =\\n.*\\(LIST =' }, after: `A =\n  (LIST =\n${B}x\n${E}rest\n` },
  { title: 'markers found are kept in place even when insertafter says elsewhere', before: `${B}old\n${E}a\n`, edit: { block: 'new', insertafter: 'EOF' }, after: `${B}new\n${E}a\n` },
  {
    title: 'custom marker with markerBegin/markerEnd',
    before: '<x>\n</x>\n',
    edit: { block: '<y/>', marker: '<!-- {mark} drover -->', markerBegin: 'start', markerEnd: 'stop', insertafter: '^<x>' },
    after: '<x>\n<!-- start drover -->\n<y/>\n<!-- stop drover -->\n</x>\n',
  },
  { title: 'prependNewline and appendNewline add blank lines around a new block', before: 'a\nb\n', edit: { block: 'x', insertafter: '^a', prependNewline: true, appendNewline: true }, after: `a\n\n${B}x\n${E}\nb\n` },
  { title: 'prependNewline does not double an existing blank line', before: 'a\n\n', edit: { block: 'x', prependNewline: true }, after: `a\n\n${B}x\n${E}` },
  { title: 'create: a new file holds the block', before: null, edit: { block: 'x' }, after: `${B}x\n${E}`, message: 'file created' },
  { title: 'reversed markers are repaired', before: `a\n${E}x\n${B}z\n`, edit: { block: 'y' }, after: `a\n${B}y\n${E}z\n` },
];

describe('blockinfile: editBlock (Ansible semantics)', () => {
  for (const row of TABLE) {
    it(row.title, () => {
      const result = editBlock(row.before, { ...base, ...row.edit });
      expect(result.text).to.equal(row.after);
      if (row.message !== undefined) expect(result.message).to.equal(row.message);
    });
  }

  it('is idempotent: the second application of each edit changes nothing', () => {
    for (const row of TABLE) {
      const edit = { ...base, ...row.edit };
      const once = editBlock(row.before, edit).text;
      expect(editBlock(once, edit).text, row.title).to.equal(once);
    }
  });

  it('validates markers and placement', () => {
    const parse = (input: unknown) => blockinfile.params.parse(input, '');
    expect(() => parse({ path: '/x', marker: '# no placeholder' })).to.throw(SchemaError, /^marker: .*containing \{mark\}/);
    expect(() => parse({ path: '/x', marker: '# {mark}\nmore' })).to.throw(SchemaError, /one line/);
    expect(() => parse({ path: '/x', markerBegin: 'X', markerEnd: 'X' })).to.throw(SchemaError, /must differ/);
    expect(() => parse({ path: '/x', insertafter: 'a', insertbefore: 'b' })).to.throw(SchemaError, /at most one/);
    expect(parse({ path: '/x', marker_begin: 'start', append_newline: true })).to.deep.include({ markerBegin: 'start', appendNewline: true });
  });
});

describe('blockinfile: the change in words', () => {
  it('says what it does in the imperative, so that a dry run reads "would …" (it said "would block inserted in …")', async () => {
    const marked = `a\n${B}x\n${E}`;
    const table: Array<[string, string | null, Parameters<typeof planOn<typeof blockinfile>>[1], RegExp]> = [
      ['inserted', 'a\n', { path: '/etc/x.conf', block: 'x' }, /^update \/etc\/x\.conf \(2 → \d+ bytes\), writing the block$/],
      ['updated in place', marked, { path: '/etc/x.conf', block: 'y' }, /^update \/etc\/x\.conf \(\d+ → \d+ bytes\), writing the block$/],
      ['a new file', null, { path: '/etc/x.conf', block: 'x', create: true }, /^create \/etc\/x\.conf \(\d+ bytes\), writing the block$/],
      ['removed', marked, { path: '/etc/x.conf', state: 'absent' }, /^update \/etc\/x\.conf \(\d+ → 2 bytes\), removing the block$/],
    ];
    for (const [what, before, params, summary] of table) {
      const plan = await planOn(blockinfile, params, new RecordedHost([fileProbeAnswer(before)]));
      expect(plan.changes, what).to.have.length(1);
      expect(plan.changes[0]!.summary, what).to.match(summary);
    }
  });
});
