import { expect } from 'chai';
import { inspect } from 'node:util';
import { MASK, Redactor, secret } from '../../runner/secret.ts';

describe('secrets', () => {
  it('never show their value through String, JSON or inspect', () => {
    const token = secret('abcdef.0123456789abcdef', 'token');
    expect(String(token)).to.equal(MASK);
    expect(JSON.stringify({ token })).to.equal(`{"token":"${MASK}"}`);
    expect(inspect(token)).to.not.include('abcdef');
    expect(token.reveal()).to.equal('abcdef.0123456789abcdef');
  });

  it('are masked wherever the redactor sees them, longest first', () => {
    const redactor = new Redactor();
    redactor.add('abc123xyz');
    redactor.add(secret('abc123xyz-longer'));
    expect(redactor.redact('join --token abc123xyz-longer and abc123xyz')).to.equal(`join --token ${MASK} and ${MASK}`);
    expect(redactor.redactValue({ a: ['x abc123xyz'], b: secret('zzzz') })).to.deep.equal({ a: [`x ${MASK}`], b: MASK });
  });

  it('ignores values too short to mask safely', () => {
    const redactor = new Redactor();
    redactor.add('ab');
    expect(redactor.redact('abc')).to.equal('abc');
  });
});
