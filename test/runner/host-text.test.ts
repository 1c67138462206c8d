import { expect } from 'chai';
import { decodeHostText, encodeHostText } from '../../runner/host-text.ts';
import { seededBelow } from '../support/seeded-random.ts';

describe('host text: bytes that are not UTF-8 survive an edit', () => {
  it('decodes UTF-8 as usual and escapes each stray byte as U+DC80–U+DCFF', () => {
    expect(decodeHostText(Buffer.from('café ✓ 😀\n'))).to.equal('café ✓ 😀\n');
    expect(decodeHostText(Buffer.from('caf\xe9\n', 'latin1'))).to.equal('caf\udce9\n');
    // A truncated sequence, an overlong form and an encoded surrogate are each byte by byte.
    expect(decodeHostText(Buffer.from([0xe2, 0x9c, 0x0a]))).to.equal('\udce2\udc9c\n');
    expect(decodeHostText(Buffer.from([0xc0, 0xaf]))).to.equal('\udcc0\udcaf');
    expect(decodeHostText(Buffer.from([0xed, 0xa0, 0x80]))).to.equal('\udced\udca0\udc80');
  });

  it('round-trips every byte string, including escapes next to astral characters', () => {
    const samples = [Buffer.from('caf\xe9 LABEL=\xff\xfe\n', 'latin1'), Buffer.concat([Buffer.from('😀'), Buffer.from([0x80, 0xdc]), Buffer.from('😀')]), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.alloc(0)];
    const below = seededBelow(8);
    for (let round = 0; round < 300; round++) {
      samples.push(Buffer.from(Array.from({ length: below(40) }, () => (below(3) === 0 ? below(256) : [0x0a, 0x41, 0xc3, 0xa9, 0xe2, 0x80, 0xf0, 0x9f][below(8)]!))));
    }
    for (const bytes of samples) expect(encodeHostText(decodeHostText(bytes)).equals(bytes), bytes.toString('hex')).to.equal(true);
  });

  it('keeps stray bytes on unmanaged lines when a managed line is added', () => {
    const before = Buffer.from('# caf\xe9\nvm.swappiness = 10\n', 'latin1');
    const after = encodeHostText(`${decodeHostText(before)}net.ipv4.ip_forward = 1\n`);
    expect(after.equals(Buffer.concat([before, Buffer.from('net.ipv4.ip_forward = 1\n')]))).to.equal(true);
  });
});
