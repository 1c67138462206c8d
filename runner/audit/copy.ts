/**
 * Copies of the audit log that leave the controller as each record is written (`--audit-copy DEST`), so a
 * root user on the controller cannot quietly rewrite history: the records are already elsewhere. The local
 * file stays the log of record (it is what is verified and signed); each copy receives the same lines,
 * byte for byte, right after the file does.
 *
 *   command:CMD              each record line on CMD's standard input (run by /bin/sh), e.g.
 *                            `command:ssh audit@vault 'cat >> drover/$(hostname).jsonl'`
 *   syslog                   the local syslog (through logger(1); needs /dev/log)
 *   journald                 the systemd journal (through systemd-cat(1)), identifier drover-audit
 *   syslog://HOST[:PORT]     a remote syslog over TCP (RFC 5424 messages, RFC 6587 octet counting; port 514)
 *   syslog+udp://HOST[:PORT] the same over UDP (one datagram per record; port 514)
 *
 * Every destination is opened before the run starts (a command spawned, a connection made), so an unreachable
 * one stops the run before anything happens on a host. A copy that fails during the run is reported at once
 * and at the end (exit status 5 when the run itself was ok); the run goes on, since stopping halfway through a
 * change is worse than a gap in a copy whose local original is whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { connect, isIPv6, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { Reporter, StampedEvent } from '../events.ts';

/** A destination that cannot be parsed or opened; the message names it, the hint what to do. */
export class AuditCopyError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AuditCopyError';
  }
}

export type AuditCopyDestination =
  | { kind: 'command'; text: string; argv: string[] }
  | { kind: 'syslog-tcp' | 'syslog-udp'; text: string; host: string; port: number };

const FORMS = 'command:CMD, syslog, journald, syslog://HOST[:PORT] (TCP) or syslog+udp://HOST[:PORT]';
const LOCAL_SOCKETS = { syslog: '/dev/log', journald: '/run/systemd/journal/stdout' } as const;
const OPEN_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 30_000;

export function parseAuditCopy(text: string): AuditCopyDestination {
  if (text.startsWith('command:')) {
    const command = text.slice('command:'.length).trim();
    if (!command)
      throw new AuditCopyError(`--audit-copy ${JSON.stringify(text)} names no command`, `give one, e.g. --audit-copy 'command:logger -t drover-audit'`);
    return { kind: 'command', text, argv: ['/bin/sh', '-c', command] };
  }
  if (text === 'syslog' || text === 'syslog:' || text === 'journald') {
    const local = text === 'journald' ? 'journald' : 'syslog';
    if (!existsSync(LOCAL_SOCKETS[local])) {
      throw new AuditCopyError(
        `--audit-copy ${text}: there is no ${local} on this controller (${LOCAL_SOCKETS[local]} does not exist)`,
        `start ${local === 'journald' ? 'systemd-journald' : 'a syslog daemon (rsyslog)'}, or send the records to a remote syslog with --audit-copy syslog://HOST`,
      );
    }
    // logger cuts messages at 1 KiB unless told otherwise; a record with output tails can be 16 KiB.
    const argv =
      local === 'journald' ? ['systemd-cat', '--identifier=drover-audit'] : ['logger', '--tag', 'drover-audit', '--size', '65536', '--socket-errors=on'];
    return { kind: 'command', text, argv };
  }
  const match = /^syslog(\+udp|\+tcp)?:\/\//.exec(text);
  if (match) {
    let url: URL;
    try {
      url = new URL(text.replace(/^syslog(\+udp|\+tcp)?:/, 'syslog:'));
    } catch {
      throw new AuditCopyError(`--audit-copy ${JSON.stringify(text)} is not a syslog address`, 'write it as syslog://HOST[:PORT] or syslog+udp://HOST[:PORT]');
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port === '' ? 514 : Number(url.port);
    if (!host || url.pathname.replace(/^\//, '') !== '' || !(port >= 1 && port <= 65535)) {
      throw new AuditCopyError(
        `--audit-copy ${JSON.stringify(text)} is not a syslog address`,
        'write it as syslog://HOST[:PORT] or syslog+udp://HOST[:PORT], nothing after the port',
      );
    }
    return { kind: match[1] === '+udp' ? 'syslog-udp' : 'syslog-tcp', text, host, port };
  }
  throw new AuditCopyError(`--audit-copy ${JSON.stringify(text)} is not a destination drover knows`, `use one of ${FORMS}`);
}

/** One open destination. `failure` is set once, at the first thing that goes wrong. */
export interface AuditCopySink {
  label: string;
  failure?: string;
  send(line: string, runId: string): void;
  end(): Promise<void>;
}

/** Opens every destination, or none: the ones already open are closed again when a later one fails. */
export async function openAuditCopies(texts: string[]): Promise<AuditCopySink[]> {
  const destinations = texts.map(parseAuditCopy);
  const sinks: AuditCopySink[] = [];
  try {
    for (const destination of destinations) sinks.push(await openSink(destination));
  } catch (error) {
    await Promise.all(sinks.map((sink) => sink.end()));
    throw error;
  }
  return sinks;
}

function openSink(destination: AuditCopyDestination): Promise<AuditCopySink> {
  switch (destination.kind) {
    case 'command':
      return commandSink(destination.text, destination.argv);
    case 'syslog-tcp':
      return tcpSink(destination.text, destination.host, destination.port);
    case 'syslog-udp':
      return udpSink(destination.text, destination.host, destination.port);
  }
}

/** The promise, or after `ms` what onTimeout returns (or throws, as a rejection). */
function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(Promise.resolve().then(onTimeout)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function commandSink(label: string, argv: string[]): Promise<AuditCopySink> {
  // Its own process group: a Ctrl-C at the terminal must not kill the copy before the run writes its last records.
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = `${stderr}${chunk.toString()}`.slice(-2000)));
  const exited = new Promise<string | undefined>((resolve) => {
    child.on('close', (code, signal) =>
      resolve(
        code === 0
          ? undefined
          : `${argv[0] === '/bin/sh' ? 'the command' : argv[0]} exited with ${signal ?? `status ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`,
      ),
    );
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) =>
      reject(
        new AuditCopyError(
          `--audit-copy ${label}: cannot start ${argv[0]} (${(error as NodeJS.ErrnoException).code ?? error.message})`,
          `install it, or choose another destination (${FORMS})`,
          { cause: error },
        ),
      ),
    );
  });
  const sink: AuditCopySink = {
    label,
    send(line) {
      if (sink.failure || child.stdin!.destroyed) return;
      child.stdin!.write(`${line}\n`);
    },
    async end() {
      child.stdin!.end();
      const failure = await withTimeout(exited, CLOSE_TIMEOUT_MS, () => {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
        return `it did not finish within ${CLOSE_TIMEOUT_MS / 1000} s after its input ended, and was killed`;
      });
      sink.failure ??= failure ?? (pipeError ? `it stopped reading its input (${pipeError})` : undefined);
    },
  };
  // A command that dies early leaves a broken pipe: the records from then on reach only the local log.
  // Its exit status says more than the EPIPE does, so that is what is reported when it comes.
  let pipeError: string | undefined;
  child.stdin!.on('error', (error) => (pipeError ??= (error as NodeJS.ErrnoException).code ?? error.message));
  void exited.then((failure) => {
    if (!child.stdin!.writableEnded) fail(sink, failure ?? 'it exited (status 0) before the run ended');
  });
  return sink;
}

/** RFC 5424: facility 13 (log audit), severity 6 (informational); the run id as MSGID. */
function syslogMessage(line: string, runId: string): Buffer {
  return Buffer.from(`<110>1 ${new Date().toISOString()} ${hostname() || '-'} drover-audit ${process.pid} ${runId.slice(0, 32) || '-'} - ${line}`);
}

async function tcpSink(label: string, host: string, port: number): Promise<AuditCopySink> {
  const socket: Socket = connect({ host, port });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (error) =>
        reject(
          new AuditCopyError(
            `--audit-copy ${label}: cannot connect to ${host} port ${port} (${(error as NodeJS.ErrnoException).code ?? error.message})`,
            'check that the syslog server listens on TCP there (rsyslog: module(load="imtcp") input(type="imtcp" port="514")), or use syslog+udp://',
            { cause: error },
          ),
        ),
      );
    }),
    OPEN_TIMEOUT_MS,
    () => {
      socket.destroy();
      throw new AuditCopyError(
        `--audit-copy ${label}: no connection to ${host} port ${port} within ${OPEN_TIMEOUT_MS / 1000} s`,
        'check the address and any firewall between here and there',
      );
    },
  );
  const sink: AuditCopySink = {
    label,
    send(line, runId) {
      if (sink.failure || socket.destroyed) return;
      const message = syslogMessage(line, runId);
      socket.write(Buffer.concat([Buffer.from(`${message.length} `), message]));
    },
    async end() {
      if (!socket.destroyed) socket.end();
      await withTimeout(closed, CLOSE_TIMEOUT_MS, () => {
        socket.destroy();
        fail(sink, `the server did not close the connection within ${CLOSE_TIMEOUT_MS / 1000} s`);
      });
    },
  };
  socket.on('error', (error) => fail(sink, `the connection failed (${(error as NodeJS.ErrnoException).code ?? error.message})`));
  // The server hanging up before we are done means the records from then on are not there.
  socket.on('end', () => {
    if (!socket.writableEnded) fail(sink, 'the server closed the connection during the run');
  });
  return sink;
}

async function udpSink(label: string, host: string, port: number): Promise<AuditCopySink> {
  const socket: UdpSocket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (error) =>
      reject(
        new AuditCopyError(
          `--audit-copy ${label}: cannot send to ${host} port ${port} (${(error as NodeJS.ErrnoException).code ?? error.message})`,
          'check the host name',
          { cause: error },
        ),
      ),
    );
    socket.connect(port, host, () => resolve());
  });
  let pending = 0;
  let drained: (() => void) | undefined;
  const sink: AuditCopySink = {
    label,
    send(line, runId) {
      if (sink.failure) return;
      pending++;
      socket.send(syslogMessage(line, runId), (error) => {
        if (error) fail(sink, `a record could not be sent (${(error as NodeJS.ErrnoException).code ?? error.message})`);
        if (--pending === 0) drained?.();
      });
    },
    async end() {
      if (pending > 0) await withTimeout(new Promise<void>((resolve) => (drained = resolve)), CLOSE_TIMEOUT_MS, () => undefined);
      socket.close();
    },
  };
  socket.on('error', (error) => fail(sink, `sending failed (${(error as NodeJS.ErrnoException).code ?? error.message})`));
  return sink;
}

function fail(sink: AuditCopySink, failure: string): void {
  if (sink.failure) return;
  sink.failure = failure;
  // Said at once, not only at the end: the operator may want to stop the run.
  process.stderr.write(`drover: audit copy to ${sink.label} failed: ${failure}; the records from here on are only in the local log\n`);
}

/**
 * Sends each line the audit writer wrote to every copy. It comes right after the writer among the
 * reporters and reads the writer's last line, so the copies get exactly the sealed bytes of the file.
 */
export class AuditCopyReporter implements Reporter {
  #sent: string | undefined;

  constructor(
    private readonly writer: { readonly lastLine: string | undefined },
    readonly sinks: AuditCopySink[],
  ) {}

  handle(event: StampedEvent): void {
    const line = this.writer.lastLine;
    // Not every event makes a record (task starts do not); consecutive records always differ (prev, seq).
    if (line === undefined || line === this.#sent) return;
    this.#sent = line;
    for (const sink of this.sinks) sink.send(line, event.runId);
  }

  async close(): Promise<void> {
    await Promise.all(this.sinks.map((sink) => sink.end()));
  }

  /** What went wrong, per destination, for the end of the run. */
  failures(): string[] {
    return this.sinks.filter((sink) => sink.failure).map((sink) => `audit copy to ${sink.label} failed: ${sink.failure}`);
  }
}
