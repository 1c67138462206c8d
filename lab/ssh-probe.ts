/**
 * Is sshd answering? A TCP connect that reads the server's identification line ("SSH-2.0-…"): cheap
 * enough to poll 100 hosts at once, and it proves sshd itself is up, not only that the port is open.
 */
import { connect } from 'node:net';

export function sshBanner(address: string, timeoutMs = 1000, port = 22): Promise<string | undefined> {
  return new Promise((resolveProbe) => {
    const socket = connect({ host: address, port });
    let received = '';
    const finish = (banner: string | undefined) => {
      socket.destroy();
      resolveProbe(banner);
    };
    socket.setTimeout(timeoutMs, () => finish(undefined));
    socket.on('error', () => finish(undefined));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const line = received.split('\r\n')[0] ?? '';
      if (!received.includes('\n')) return;
      if (line.startsWith('SSH-')) {
        // Answering with our own identification line makes sshd log a plain disconnect at info level
        // instead of an error in the host's journal on every probe.
        socket.end('SSH-2.0-drover-lab-probe\r\n');
        resolveProbe(line.trim());
        setTimeout(() => socket.destroy(), 100).unref();
      } else {
        finish(undefined);
      }
    });
    socket.on('end', () => finish(undefined));
  });
}

/**
 * Polls every address until each has answered or the deadline passes; returns the ones that never did.
 * `stillRunning` lets the caller stop waiting for a host whose process has already died.
 */
export async function waitForSsh(
  addresses: readonly string[],
  timeoutMs: number,
  stillRunning: (address: string) => boolean = () => true,
): Promise<{ silent: string[]; dead: string[] }> {
  const deadline = Date.now() + timeoutMs;
  const waiting = new Set(addresses);
  const dead: string[] = [];
  while (waiting.size > 0 && Date.now() < deadline) {
    await Promise.all(
      [...waiting].map(async (address) => {
        if (!stillRunning(address)) {
          waiting.delete(address);
          dead.push(address);
        } else if (await sshBanner(address)) {
          waiting.delete(address);
        }
      }),
    );
    if (waiting.size > 0) await new Promise((resolveWait) => setTimeout(resolveWait, 300));
  }
  return { silent: [...waiting], dead };
}
