import { expect } from 'chai';
import { shlexSplit, ShlexError } from '../../inventory/shlex.ts';

const CASES: ReadonlyArray<readonly [string, string[]]> = [
  ['web1 a=1 b=2', ['web1', 'a=1', 'b=2']],
  ['web1   a=1\tb=2  ', ['web1', 'a=1', 'b=2']],
  ['web1 msg="a b" x=\'c d\'', ['web1', 'msg=a b', 'x=c d']],
  ['web1 a=1 # comment b=2', ['web1', 'a=1']],
  ['web1 pass=abc#def', ['web1', 'pass=abc']],
  ['web1 pass="abc#def"', ['web1', 'pass=abc#def']],
  ['web1 p="\'03#pa33w0rd\'"', ['web1', "p='03#pa33w0rd'"]],
  ['web1 a=x\\ y', ['web1', 'a=x y']],
  ['web1 a="q\\"q" b="back\\\\slash" c="keep\\n"', ['web1', 'a=q"q', 'b=back\\slash', 'c=keep\\n']],
  ["web1 a=''", ['web1', 'a=']],
  ["''", ['']],
  ['# only a comment', []],
];

describe('inventory: shell-like splitting of INI host lines', () => {
  for (const [line, words] of CASES) {
    it(`${JSON.stringify(line)} → ${JSON.stringify(words)}`, () => {
      expect(shlexSplit(line)).to.deep.equal(words);
    });
  }

  for (const line of ['web1 a="open', "web1 a='open", 'web1 a=\\']) {
    it(`refuses ${JSON.stringify(line)} without repeating it`, () => {
      expect(() => shlexSplit(line))
        .to.throw(ShlexError)
        .that.satisfies((error: Error) => !error.message.includes('open'));
    });
  }
});
