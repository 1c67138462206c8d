import { expect } from 'chai';
import { jumpChain } from '../../runner/transport/jump-chain.ts';
import { Secret } from '../../runner/secret.ts';
import type { ConnectionSpec } from '../../runner/transport/transport.ts';

const TARGET: ConnectionSpec = {
  name: 'node1',
  address: '10.0.0.5',
  port: 22,
  user: 'root',
  kind: 'ssh',
  privateKeyFile: '/keys/fleet',
  passphrase: new Secret('fleet passphrase', 'key passphrase'),
  password: new Secret('root password', 'password'),
  knownHostsFiles: ['/etc/drover/known_hosts'],
  hostKeyPolicy: 'strict',
  connectTimeoutMs: 10_000,
  keepaliveIntervalMs: 15_000,
  connectRetries: 2,
  maxChannels: 8,
};

const exists = (path: string) => path.startsWith('/keys/');

describe('transport/jump-chain', () => {
  it('gives nothing without hops', () => {
    expect(jumpChain(TARGET, [], 'alice', exists)).to.equal(undefined);
  });

  it('resolves an alias through its own config block, as ssh does, and never sends the password', () => {
    const jump = jumpChain(TARGET, [{ hop: { host: 'bastion' }, config: { hostName: 'bastion.example.net', port: 2222, user: 'ops', identityFiles: ['/keys/bastion'] } }], 'alice', exists)!;
    expect(jump).to.deep.include({ name: 'node1 (via jump host bastion)', address: 'bastion.example.net', port: 2222, user: 'ops', privateKeyFile: '/keys/bastion', password: undefined, passphrase: undefined, jump: undefined });
    expect(jump.knownHostsFiles).to.deep.equal(['/etc/drover/known_hosts']);
  });

  it("takes what the hop says over its config, and the local user and the target's key by default", () => {
    const written = jumpChain(TARGET, [{ hop: { host: 'b', user: 'jim', port: 2200 }, config: { user: 'ops', port: 2222, identityFiles: ['/nowhere/key'] } }], 'alice', exists)!;
    expect(written).to.deep.include({ address: 'b', port: 2200, user: 'jim', privateKeyFile: '/keys/fleet' });
    expect(written.passphrase).to.equal(TARGET.passphrase);
    const bare = jumpChain(TARGET, [{ hop: { host: 'b' }, config: { identityFiles: [] } }], 'alice', exists)!;
    expect(bare).to.deep.include({ port: 22, user: 'alice' });
  });

  it('chains hops in crossing order: the first hop is reached first, the target through the last', () => {
    const jump = jumpChain(
      TARGET,
      [
        { hop: { host: 'outer' }, config: { identityFiles: [] } },
        { hop: { host: 'inner' }, config: { identityFiles: [] } },
      ],
      'alice',
      exists,
    )!;
    expect(jump.address).to.equal('inner');
    expect(jump.jump?.address).to.equal('outer');
    expect(jump.jump?.jump).to.equal(undefined);
  });
});
