import { expect } from 'chai';
import { iniValue, type PythonLiteral } from '../../inventory/python-literal.ts';

// Each row: the text after `=` and what Ansible's INI plugin (ast.literal_eval, else the text) makes of it.
const CASES: ReadonlyArray<readonly [string, PythonLiteral]> = [
  ['2222', 2222],
  ['-5', -5],
  ['+7', 7],
  ['1_000', 1000],
  ['0x1F', 31],
  ['0o17', 15],
  ['0b101', 5],
  ['00', 0],
  ['1.5', 1.5],
  ['.5', 0.5],
  ['1e3', 1000],
  ['True', true],
  ['False', false],
  ['None', null],
  ["'a b'", 'a b'],
  ['"x\\ty"', 'x\ty'],
  ["'\\u00e9'", 'é'],
  ["b'\\xc3\\xa9'", 'é'],
  ["r'a\\nb'", 'a\\nb'],
  ['\'a\' "b"', 'ab'],
  ["u'x'", 'x'],
  ['[1, 2]', [1, 2]],
  ["['a', [True, None]]", ['a', [true, null]]],
  ['80,443', [80, 443]],
  ['(1,)', [1]],
  ['(1)', 1],
  ['()', []],
  ["{'a': 1, 'b': [2]}", { a: 1, b: [2] }],
  ['{1, 2, 1}', [1, 2]],
  ['{}', {}],
  ['set()', []],
  ['...', '...'],
  ['8080 # the web port', 8080],
  // What literal_eval refuses stays the text, exactly as written.
  ['true', 'true'],
  ['yes', 'yes'],
  ['web01', 'web01'],
  ['10-5', '10-5'],
  ['0777', '0777'],
  ['56L', '56L'],
  ['1.2.3', '1.2.3'],
  ['10.0.0.5', '10.0.0.5'],
  ['/etc/hosts', '/etc/hosts'],
  ['hello # not a comment here', 'hello # not a comment here'],
  ["f'x'", "f'x'"],
  ['"unterminated', '"unterminated'],
  ['--1', '--1'],
  ['-True', '-True'],
  ['[1, 2', '[1, 2'],
  ['{[1]: 2}', '{[1]: 2}'],
  ['', ''],
  ['1j', '1j'],
  ['99999999999999999999', '99999999999999999999'],
  ['1e999', '1e999'],
];

describe('inventory: INI value typing (Python literals)', () => {
  for (const [text, expected] of CASES) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => {
      expect(iniValue(text)).to.deep.equal(expected);
    });
  }
});
