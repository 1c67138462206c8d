/**
 * Jump hosts (ProxyJump) over real SSH: a second and third sshd on loopback act as bastions, and the
 * jump sshd's own log proves the target was reached through it.
 */
import { expect } from 'chai';
import { connectSsh } from '../../runner/transport/ssh.ts';
import { HostKeyError, UnreachableError, type ConnectionSpec } from '../../runner/transport/transport.ts';
import { establishedConnections, freePort, describeWithSshd, startSshd, type TestSshd } from '../support/sshd.ts';
import { eventually, runningMarker, specFor } from './fixtures.ts';

describeWithSshd('transport/ssh through jump hosts (real sshd)', function () {
  this.timeout(30_000);
  let target: TestSshd;
  let bastion: TestSshd;
  let outer: TestSshd;

  before(async () => {
    target = await startSshd();
    // DEBUG1 makes sshd log each direct-tcpip channel with its destination.
    bastion = await startSshd({ authorizedKeys: [target.clientKey?.publicKey ?? ''], logLevel: 'DEBUG1' });
    outer = await startSshd({ authorizedKeys: [target.clientKey?.publicKey ?? ''], logLevel: 'DEBUG1' });
  });
  after(async () => {
    await target?.stop();
    await bastion?.stop();
    await outer?.stop();
  });

  /** A spec for a server used as a jump host, logging in with the target's client key. */
  const hop = async (server: TestSshd, name: string, overrides: Partial<ConnectionSpec> = {}) => specFor(server, { name, privateKeyFile: target.clientKey?.privateKeyFile, ...overrides });

  it('reaches the target through the jump host, and closing the target closes the jump connection', async () => {
    const spec = await specFor(target, { jump: await hop(bastion, 'bastion') });
    const connection = await connectSsh(spec);
    try {
      expect((await connection.exec('echo via-jump', { timeoutMs: 5000 })).stdout).to.equal('via-jump\n');
      expect(bastion.log()).to.contain(`target 127.0.0.1 port ${target.port}`);
      expect(await establishedConnections(bastion.port)).to.equal(1);
    } finally {
      await connection.close();
    }
    await eventually(async () => (await establishedConnections(bastion.port)) === 0, 15_000, 'the jump connection to close');
    await eventually(async () => (await establishedConnections(target.port)) === 0, 15_000, 'the target connection to close');
  });

  it('crosses a chain of two jump hosts (ProxyJump outer,bastion)', async () => {
    const spec = await specFor(target, { jump: await hop(bastion, 'bastion', { jump: await hop(outer, 'outer') }) });
    const connection = await connectSsh(spec);
    try {
      expect((await connection.exec('echo two-hops', { timeoutMs: 5000 })).stdout).to.equal('two-hops\n');
      expect(outer.log()).to.contain(`target 127.0.0.1 port ${bastion.port}`);
    } finally {
      await connection.close();
    }
    await eventually(async () => (await establishedConnections(outer.port)) === 0, 15_000, 'the outer jump connection to close');
  });

  it("verifies the jump host's own key, naming the jump host", async () => {
    const jump = await hop(bastion, 'bastion');
    const spec = await specFor(target, { jump: { ...jump, knownHostsFiles: ['/nonexistent/known_hosts'] } });
    const error = await connectSsh(spec).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).to.be.instanceOf(HostKeyError);
    expect((error as HostKeyError).host).to.equal('bastion');
    expect((error as HostKeyError).message).to.contain(`bastion (127.0.0.1:${bastion.port})`);
  });

  it('reports a target the jump host cannot reach, naming the jump host, and closes the jump connection', async () => {
    const spec = await specFor(target, { name: 'hidden', port: await freePort(), jump: await hop(bastion, 'bastion') });
    const error = await connectSsh(spec).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).to.be.instanceOf(UnreachableError);
    expect((error as UnreachableError).message)
      .to.contain(`hidden (127.0.0.1:${spec.port} via jump host bastion)`)
      .and.contain('connection refused');
    await eventually(async () => (await establishedConnections(bastion.port)) === 0, 15_000, 'the jump connection to close');
  });

  it('marks commands on the target connectionLost when the jump connection dies', async () => {
    const spec = await specFor(target, { jump: await hop(bastion, 'bastion') });
    const connection = await connectSsh(spec);
    try {
      const marker = runningMarker();
      const running = connection.exec(`${marker.touch}; sleep 36.25`, { timeoutMs: 20_000 });
      await marker.running();
      marker.remove();
      await bastion.killSessions();
      const outcome = await running;
      expect(outcome.connectionLost).to.equal(true);
    } finally {
      await connection.close();
      // The target's session was cut off with its transport; its sleep goes with the sessions killed here.
      await target.killSessions();
    }
  });
});
