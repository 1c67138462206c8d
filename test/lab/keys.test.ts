import { expect } from 'chai';
import { parsePublicKey, renderKnownHosts } from '../../lab/keys.ts';

describe('lab/keys', () => {
  it('drops the comment of a public key', () => {
    expect(parsePublicKey('ssh-ed25519 AAAAC3Nza root@lab-1\n')).to.equal('ssh-ed25519 AAAAC3Nza');
  });

  for (const bad of ['', 'AAAAC3Nza', '-----BEGIN OPENSSH PRIVATE KEY-----', 'ssh-ed25519']) {
    it(`refuses ${JSON.stringify(bad)} as a public key`, () => {
      expect(() => parsePublicKey(bad)).to.throw(/not an OpenSSH public key/);
    });
  }

  it('writes one known_hosts line per address', () => {
    expect(
      renderKnownHosts([
        { address: '10.231.0.11', hostKey: 'ssh-ed25519 AAAA1' },
        { address: '10.231.0.12', hostKey: 'ssh-ed25519 AAAA2' },
      ]),
    ).to.equal('10.231.0.11 ssh-ed25519 AAAA1\n10.231.0.12 ssh-ed25519 AAAA2\n');
  });
});
