import { expect } from 'chai';
import { entryMatches, fingerprint, formatKnownHostsLine, judgeHostKey, keyTypeOf, knownHostsName, parseKnownHosts, recordedKeyTypes } from '../../runner/transport/known-hosts.ts';

// Keys and hashed lines made with ssh-keygen (-t ed25519 / -t ecdsa, then -H on a known_hosts file);
// the fingerprints are what `ssh-keygen -lf` printed for them.
const ED_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIARjJ6EehbegrHOMeVB3bJaxlC+2uHtqza96lOJrLdaA';
const ED_A_FINGERPRINT = 'SHA256:fc4xYW3ujZQy7utJN/B7tqvHrx7N3uAL6G6AOPkhyNQ';
const ED_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIOtCi0taqXoh7sjFbYT8LJmLQjdFwtt3/olpFZKKKFNY';
const ECDSA = 'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDedR+1KXQmblRjUjHVQENI2DDOwqmUjdOILUS0fh+ZutakWtxhqkPd8mH6q/6BWXaa6hNZ9mWQKDln/wiz2qCw=';
const ECDSA_FINGERPRINT = 'SHA256:bY6ZB2GIGM+csUYm4AJoVF4NhmehbVZcH+gfWGp+Tz0';
const HASHED_EXAMPLE = `|1|S/iG1I7+XfC8KwC8Pbb5BnyurLo=|46gW8HgZTIMPnm4jaWA1CN9rA2Y= ssh-ed25519 ${ED_A}`;
const HASHED_EXAMPLE_2222 = `|1|XWdNKCOmN71Wnyj/88ljXrF/EOc=|/zK1s6slV5/QReecyYiPBKw6g4s= ssh-ed25519 ${ED_A}`;

const blob = (base64: string): Buffer => Buffer.from(base64, 'base64');
const parse = (text: string) => parseKnownHosts(text, 'known_hosts');

describe('transport/known-hosts', () => {
  describe('keys', () => {
    it('reads the key type from a blob', () => {
      expect(keyTypeOf(blob(ED_A))).to.equal('ssh-ed25519');
      expect(keyTypeOf(blob(ECDSA))).to.equal('ecdsa-sha2-nistp256');
      expect(keyTypeOf(Buffer.from([0, 0, 0]))).to.equal(undefined);
      expect(keyTypeOf(Buffer.from([0, 0, 0, 9, 65]))).to.equal(undefined);
    });

    it('computes the fingerprint exactly as ssh-keygen -lf', () => {
      expect(fingerprint(blob(ED_A))).to.equal(ED_A_FINGERPRINT);
      expect(fingerprint(blob(ECDSA))).to.equal(ECDSA_FINGERPRINT);
    });
  });

  describe('names', () => {
    it('uses the bare host on port 22 and [host]:port otherwise, lowercased', () => {
      expect(knownHostsName('Node1.LAN', 22)).to.equal('node1.lan');
      expect(knownHostsName('10.0.0.5', 2222)).to.equal('[10.0.0.5]:2222');
      expect(knownHostsName('::1', 2222)).to.equal('[::1]:2222');
    });
  });

  describe('parsing', () => {
    it('skips blank lines and comments, and reports malformed lines with file and line', () => {
      const { entries, skipped } = parse(
        [
          '# a comment',
          '',
          `web ssh-ed25519 ${ED_A} a comment`,
          'broken-line-without-key',
          `web ssh-rsa ${ED_A}`,
          `web ssh-ed25519 not!base64`,
          `@bogus web ssh-ed25519 ${ED_A}`,
          `|2|abc|def ssh-ed25519 ${ED_A}`,
          'web 1024 35 1234567',
        ].join('\n'),
      );
      expect(entries.map((entry) => entry.line)).to.deep.equal([3]);
      expect(skipped).to.have.length(6);
      expect(skipped[0]).to.match(/^known_hosts:4: /);
      expect(skipped[1]).to.match(/^known_hosts:5: the key says it is ssh-ed25519, the line says ssh-rsa/);
      expect(skipped[3]).to.match(/unknown marker @bogus/);
      expect(skipped[5]).to.match(/RSA1/);
    });

    it('reads markers', () => {
      const { entries } = parse(`@revoked web ssh-ed25519 ${ED_A}\n@cert-authority *.lan ssh-ed25519 ${ED_B}`);
      expect(entries.map((entry) => entry.marker)).to.deep.equal(['revoked', 'cert-authority']);
    });
  });

  describe('matching', () => {
    const cases: Array<[string, string, boolean]> = [
      ['web', 'web', true],
      ['WEB', 'web', true],
      ['web,10.0.0.5', '10.0.0.5', true],
      ['web', '[web]:2222', false],
      ['[web]:2222', '[web]:2222', true],
      ['[web]:2222', 'web', false],
      ['*.lan,!db.lan', 'app.lan', true],
      ['*.lan,!db.lan', 'db.lan', false],
      ['node?', 'node7', true],
      ['[10.0.0.*]:2222', '[10.0.0.9]:2222', true],
    ];
    for (const [hosts, name, expected] of cases) {
      it(`"${hosts}" ${expected ? 'matches' : 'does not match'} ${name}`, () => {
        const [entry] = parse(`${hosts} ssh-ed25519 ${ED_A}`).entries;
        expect(entry && entryMatches(entry, name)).to.equal(expected);
      });
    }

    it('matches hashed entries made by ssh-keygen -H, with and without a port', () => {
      const { entries } = parse(`${HASHED_EXAMPLE}\n${HASHED_EXAMPLE_2222}`);
      const [plain, withPort] = entries;
      expect(plain && entryMatches(plain, 'example.com')).to.equal(true);
      expect(plain && entryMatches(plain, 'example.org')).to.equal(false);
      expect(plain && entryMatches(plain, '[example.com]:2222')).to.equal(false);
      expect(withPort && entryMatches(withPort, '[example.com]:2222')).to.equal(true);
      expect(withPort && entryMatches(withPort, 'example.com')).to.equal(false);
    });
  });

  describe('judging an offered key', () => {
    const file = [
      `web,app ssh-ed25519 ${ED_A}`,
      `db ssh-ed25519 ${ED_B}`,
      `db ecdsa-sha2-nistp256 ${ECDSA}`,
      `legacy ecdsa-sha2-nistp256 ${ECDSA}`,
      `@revoked * ssh-ed25519 ${ED_B}`,
      `@cert-authority * ssh-ed25519 ${ED_A}`,
      HASHED_EXAMPLE,
    ].join('\n');
    const { entries } = parse(file);

    it('knows a recorded key', () => {
      const verdict = judgeHostKey(entries, 'web', blob(ED_A));
      expect(verdict.kind).to.equal('known');
    });

    it('knows a key recorded under a hashed name', () => {
      expect(judgeHostKey(entries, 'example.com', blob(ED_A)).kind).to.equal('known');
    });

    it('calls a different key of the same type "changed", naming the recorded entries', () => {
      const verdict = judgeHostKey(entries, 'app', blob(ED_B));
      // ED_B is also revoked for every host: revocation is judged first.
      expect(verdict.kind).to.equal('revoked');
      const withoutRevocation = entries.filter((entry) => entry.marker !== 'revoked');
      const changed = judgeHostKey(withoutRevocation, 'app', blob(ED_B));
      expect(changed.kind).to.equal('changed');
      if (changed.kind === 'changed') expect(changed.recorded.map((entry) => entry.line)).to.deep.equal([1]);
    });

    it('calls a key of a type not recorded for the host "unknown", listing the other types', () => {
      const verdict = judgeHostKey(entries, 'legacy', blob(ED_A));
      expect(verdict).to.deep.equal({ kind: 'unknown', otherTypes: ['ecdsa-sha2-nistp256'] });
    });

    it('ignores @cert-authority lines', () => {
      expect(judgeHostKey(entries, 'nowhere', blob(ED_A))).to.deep.equal({ kind: 'unknown', otherTypes: [] });
    });

    it('lists recorded key types for the handshake to prefer', () => {
      expect(recordedKeyTypes(entries, 'db')).to.deep.equal(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
      expect(recordedKeyTypes(entries, 'nowhere')).to.deep.equal([]);
    });
  });

  it('formats a line that parses back to the same key and name', () => {
    const line = formatKnownHostsLine('[10.0.0.5]:2222', blob(ED_A));
    expect(line).to.equal(`[10.0.0.5]:2222 ssh-ed25519 ${ED_A}`);
    const [entry] = parse(line).entries;
    expect(entry && entryMatches(entry, '[10.0.0.5]:2222')).to.equal(true);
  });
});
