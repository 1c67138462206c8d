/** Command-line options: -v is counted as Ansible counts it. */
import { expect } from 'chai';
import { parseCommonOptions } from '../../../runner/cli/options.ts';

describe('options: verbosity', () => {
  it('counts -v in every spelling Ansible accepts; -vvv is 3, not 1', () => {
    const cases: Array<[string[], number]> = [
      [[], 0],
      [['-v'], 1],
      [['-vv'], 2],
      [['-vvv'], 3],
      [['-v', '-v'], 2],
      [['--verbose', '--verbose', '--verbose'], 3],
      [['-vC'], 1],
      [['-vvvvvv'], 3],
    ];
    for (const [argv, level] of cases) {
      const { options } = parseCommonOptions(argv);
      expect([argv.join(' '), options.verbosity, options.verbose], argv.join(' ')).to.deep.equal([argv.join(' '), level, level > 0]);
    }
  });

  it('gives the values of a repeatable extra option in order', () => {
    const { extraLists } = parseCommonOptions(['-e', 'a=1', 'book.ts', '--extra-vars', '@f.yaml'], { 'extra-vars': { type: 'string', short: 'e', multiple: true } });
    expect(extraLists['extra-vars']).to.deep.equal(['a=1', '@f.yaml']);
  });
});
