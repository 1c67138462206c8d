import { expect } from 'chai';
import { classifyConnectError, DROPPED_RETRY_WINDOW_MS } from '../../runner/transport/connect-errors.ts';

const target = { name: 'node1', address: '10.0.0.5', port: 22, connectTimeoutMs: 10_000 };
const auth = { user: 'admin', offered: ['key /k', 'password'] };

function errorWith(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

describe('transport/connect-errors', () => {
  const table: Array<[string, Error, RegExp, boolean]> = [
    ['refused', errorWith('connect ECONNREFUSED 10.0.0.5:22', 'ECONNREFUSED'), /connection refused/, true],
    ['reset', errorWith('read ECONNRESET', 'ECONNRESET'), /dropped before the SSH handshake/, true],
    ['dropped before the banner', errorWith('Connection lost before handshake'), /dropped before the SSH handshake/, true],
    ['timed out', errorWith('Timed out while waiting for handshake'), /no SSH handshake within 10000 ms/, true],
    ['no route', errorWith('connect EHOSTUNREACH', 'EHOSTUNREACH'), /no route/, true],
    ['unknown name', errorWith('getaddrinfo ENOTFOUND nohost', 'ENOTFOUND'), /does not resolve/, false],
    ['authentication', errorWith('All configured authentication methods failed'), /authentication as admin failed \(offered: key \/k, password\)/, false],
    ['too many keys tried', errorWith('Too many authentication failures'), /too many failed attempts/, false],
    ['a tunnel refused by the jump host', errorWith('(SSH) Channel open failure: Connection refused'), /connection refused/, true],
    ['a tunnel forbidden by the jump host', errorWith('(SSH) Channel open failure: administratively prohibited'), /could not open a tunnel/, false],
    ['no common algorithms', errorWith('Handshake failed: no matching host key format'), /no common SSH algorithms/, false],
  ];
  for (const [what, cause, message, transient] of table) {
    it(`classifies ${what} (${transient ? 'retried' : 'not retried'})`, () => {
      const failure = classifyConnectError(target, cause, auth);
      expect(failure.transient).to.equal(transient);
      expect(failure.error.host).to.equal('node1');
      expect(failure.error.message)
        .to.match(/^node1 \(10\.0\.0\.5:22\): /)
        .and.match(message);
      expect(failure.error.hint).to.be.a('string').and.not.equal('');
      expect(failure.error.cause).to.equal(cause);
    });
  }

  it('gives a drop before the handshake (sshd restarting or throttling) a retry window of seconds, and nothing else one', () => {
    for (const [, cause] of table) {
      const dropped = /dropped before the SSH handshake/.test(classifyConnectError(target, cause, auth).error.message);
      expect(classifyConnectError(target, cause, auth).retryWindowMs).to.equal(dropped ? DROPPED_RETRY_WINDOW_MS : undefined);
    }
    expect(DROPPED_RETRY_WINDOW_MS).to.be.at.least(5_000);
  });

  it('names the jump host in the target description', () => {
    const failure = classifyConnectError({ ...target, jumpName: 'bastion' }, errorWith('x', 'ECONNREFUSED'), auth);
    expect(failure.error.message).to.match(/^node1 \(10\.0\.0\.5:22 via jump host bastion\): connection refused$/);
  });
});
