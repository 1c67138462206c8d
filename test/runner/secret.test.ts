import { expect } from 'chai';
import { inspect } from 'node:util';
import { shellQuote } from '../../runner/command.ts';
import { looksLikeKeyMaterial, MASK, Redactor, Secret, secret, secretOutputValues } from '../../runner/secret.ts';

describe('secrets', () => {
  it('never show their value through String, JSON or inspect', () => {
    const token = secret('abcdef.0123456789abcdef', 'token');
    expect(String(token)).to.equal(MASK);
    expect(JSON.stringify({ token })).to.equal(`{"token":"${MASK}"}`);
    expect(inspect(token)).to.not.include('abcdef');
    expect(token.reveal()).to.equal('abcdef.0123456789abcdef');
  });

  it('made from bytes, give those bytes back exactly, and their text to mask', () => {
    const bytes = Buffer.from('key\xff\xfe\x80-material\n', 'latin1');
    const made = Secret.fromBytes(bytes, 'key file');
    expect(made.revealBytes().equals(bytes)).to.equal(true);
    expect(made.reveal()).to.equal('key\ufffd\ufffd\ufffd-material\n');
    expect(String(made)).to.equal(MASK);
    bytes[0] = 0x21; // a copy: the caller's buffer changing later does not change the secret
    expect(made.revealBytes().toString('latin1').startsWith('key')).to.equal(true);
    expect(new Secret('pässword').revealBytes().equals(Buffer.from('pässword'))).to.equal(true);
  });

  it('are masked in the forms drover writes them in: a single-quoted shell word, a JSON string', () => {
    const redactor = new Redactor();
    redactor.add("it's a Secr3t");
    redactor.add('ab\\Secr3tPin');
    // As shellQuote writes the first into a command line, and as a schema error quotes the second.
    expect(redactor.redact("exec echo pw 'it'\\''s a Secr3t'")).to.equal(`exec echo pw '${MASK}'`);
    expect(redactor.redact(`got ${JSON.stringify('ab\\Secr3tPin')}`)).to.equal(`got "${MASK}"`);
    // Nested: the command's word inside the script's `/bin/sh -c '…'`, and that under sudo.
    const once = `echo ${shellQuote("it's a Secr3t")}`;
    for (const line of [shellQuote(once), shellQuote(`sudo sh -c ${shellQuote(once)}`)]) expect(redactor.redact(line)).to.not.include('Secr3t');
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

describe('secret output and multi-line secrets', () => {
  it('a secret output registers itself whole and its key material, never its plain words', () => {
    const token = 'abcdef.0123456789abcdef';
    const output = `root\ntrue\n/etc\n/etc/kubernetes/admin.conf\nkubeadm join 10.0.0.1:6443 --token ${token} --discovery-token-ca-cert-hash sha256:5f2b0c4e9a1d7e3f\n`;
    const values = secretOutputValues(output);
    expect(values).to.include(output.trim());
    expect(values).to.include(token);
    expect(values).to.include('sha256:5f2b0c4e9a1d7e3f');
    for (const word of ['root', 'true', '/etc', '/etc/kubernetes/admin.conf', '--discovery-token-ca-cert-hash', '10.0.0.1:6443']) expect(values).to.not.include(word);
    const redactor = new Redactor();
    redactor.addOutput(output);
    expect(redactor.redact('ls -d /etc/ssh as root: true')).to.equal('ls -d /etc/ssh as root: true');
    expect(redactor.redact(`token ${token}`)).to.equal(`token ${MASK}`);
  });

  it('looks like key material: long, letters and digits, varied', () => {
    expect(looksLikeKeyMaterial('MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7')).to.equal(true);
    expect(looksLikeKeyMaterial('-----BEGIN PRIVATE KEY-----')).to.equal(false);
    expect(looksLikeKeyMaterial('aaaaaaaaaaaaaaaa1111111111')).to.equal(false);
    expect(looksLikeKeyMaterial('short1a')).to.equal(false);
  });

  it('masks each long line of a multi-line secret alone, and not its short lines', () => {
    const redactor = new Redactor();
    redactor.add(secret('-----BEGIN KEY-----\nline-one-of-key-9f8e\nab\n-----END KEY-----\n'));
    expect(redactor.redact('x line-one-of-key-9f8e y ab')).to.equal(`x ${MASK} y ab`);
  });

  it('masks before cutting: a tail through a secret shows no piece of it', () => {
    const redactor = new Redactor();
    redactor.add('s3cret-value-1234567890');
    const text = `s3cret-value-1234567890${'y'.repeat(95)}`;
    expect(redactor.tail(text, 10, 100)).to.not.include('1234567890');
  });
});
