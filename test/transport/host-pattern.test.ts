import { expect } from 'chai';
import { matchPattern, matchPatternList } from '../../runner/transport/host-pattern.ts';

describe('transport/host-pattern', () => {
  const single: Array<[string, string, boolean]> = [
    ['node1', 'node1', true],
    ['node1', 'node10', false],
    ['node*', 'node10', true],
    ['node*', 'node', true],
    ['node?', 'node1', true],
    ['node?', 'node10', false],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*', 'anything', true],
    ['N*DE?', 'node1', true],
    ['[10.0.0.1]:2222', '[10.0.0.1]:2222', true],
    ['[10.0.0.?]:22*', '[10.0.0.7]:2201', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
  ];
  for (const [pattern, value, expected] of single) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${value}`, () => {
      expect(matchPattern(pattern, value)).to.equal(expected);
    });
  }

  const lists: Array<[string[], string, string]> = [
    [['*.lan', '!db.lan'], 'web.lan', 'match'],
    [['*.lan', '!db.lan'], 'db.lan', 'negated'],
    [['!db.lan', '*.lan'], 'db.lan', 'negated'],
    [['*.lan'], 'web.org', 'none'],
    [['!db.lan'], 'web.lan', 'none'],
    [['a', 'b'], 'b', 'match'],
  ];
  for (const [patterns, value, expected] of lists) {
    it(`list ${patterns.join(',')} gives ${expected} for ${value}`, () => {
      expect(matchPatternList(patterns, value)).to.equal(expected);
    });
  }
});
