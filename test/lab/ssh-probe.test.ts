import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { sshBanner, waitForSsh } from '../../lab/ssh-probe.ts';

function listen(onConnection: (socket: import('node:net').Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((resolveListen) => {
    const server = createServer(onConnection);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolveListen({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

describe('lab/ssh-probe', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  it('reads an SSH identification line', async () => {
    const { server, port } = await listen((socket) => socket.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'));
    servers.push(server);
    expect(await sshBanner('127.0.0.1', 1000, port)).to.equal('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3');
  });

  it('does not take another protocol for sshd', async () => {
    const { server, port } = await listen((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    servers.push(server);
    expect(await sshBanner('127.0.0.1', 1000, port)).to.equal(undefined);
  });

  it('gives up on a silent port after its timeout', async () => {
    const { server, port } = await listen(() => undefined);
    servers.push(server);
    const started = Date.now();
    expect(await sshBanner('127.0.0.1', 200, port)).to.equal(undefined);
    // Not before its 200 ms; the upper bound only tells "gave up" from "hung", so a loaded machine passes it.
    expect(Date.now() - started).to.be.within(150, 10_000);
  });

  it('reports a closed port as not answering', async () => {
    const { server, port } = await listen(() => undefined);
    await new Promise((resolveClose) => server.close(resolveClose));
    expect(await sshBanner('127.0.0.1', 500, port)).to.equal(undefined);
  });

  it('stops waiting for a host whose process died', async () => {
    const result = await waitForSsh(['127.0.0.1'], 5000, () => false);
    expect(result).to.deep.equal({ silent: [], dead: ['127.0.0.1'] });
  });
});
