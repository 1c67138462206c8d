import { expect } from 'chai';
import { field, fromBase64, parseFieldLines, probeSections } from '../../../modules/lib/probe-output.ts';

describe('probe output', () => {
  describe('probeSections', () => {
    const table: Array<[string, string, Record<string, string>]> = [
      ['no marker: no section', 'kind=file\n', {}],
      ['lines before the first marker belong to none', 'noise\n@@unit\nId=a\n', { unit: 'Id=a\n' }],
      ['numbered sections', '@@unit\nId=a\n@@file 0\nkind=absent\n@@file 1\nkind=file\n', { unit: 'Id=a', 'file 0': 'kind=absent', 'file 1': 'kind=file\n' }],
      ['names with hyphens (iptables rehearsal)', '@@command-failed 2\nbad rule\n@@chain\n-N X\n', { 'command-failed 2': 'bad rule', chain: '-N X\n' }],
      ['an empty section is present and empty', '@@findmnt\n@@path\nkind=directory\n', { findmnt: '', path: 'kind=directory\n' }],
      ['a marker must be the whole line', '@@chain\n-A X -m comment --comment "@@save"\n @@save\n@@Save\n', { chain: '-A X -m comment --comment "@@save"\n @@save\n@@Save\n' }],
      ['a repeated marker starts afresh', '@@save\nold\n@@save\nnew\n', { save: 'new\n' }],
    ];
    for (const [what, stdout, sections] of table) {
      it(what, () => {
        expect(Object.fromEntries(probeSections(stdout))).to.deep.equal(sections);
      });
    }
  });

  it('parseFieldLines keeps every value of a repeated name, in order; field gives the first', () => {
    const fields = parseFieldLines('swap=/dev/a\nswap=/dev/b\n=x\nnoise\nk=a=b\n');
    expect(Object.fromEntries(fields)).to.deep.equal({ swap: ['/dev/a', '/dev/b'], k: ['a=b'] });
    expect(field(fields, 'swap')).to.equal('/dev/a');
    expect(field(fields, 'none')).to.equal(undefined);
    expect(fromBase64(Buffer.from('a b\n').toString('base64'))).to.equal('a b\n');
  });
});
