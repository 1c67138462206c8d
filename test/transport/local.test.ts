/**
 * The local connection: the same ExecOutcome as over SSH, from /bin/sh on the controller.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { renderCommand, sh } from '../../runner/command.ts';
import { Secret } from '../../runner/secret.ts';
import { connect } from '../../runner/transport/connect.ts';
import { connectLocal } from '../../runner/transport/local.ts';
import { UnreachableError, type Connection, type ConnectionSpec } from '../../runner/transport/transport.ts';
import { freePort } from '../support/sshd.ts';
import { eventually, runningMarker } from './fixtures.ts';

const run = promisify(execFile);

const localSpec: ConnectionSpec = {
  name: 'localhost',
  address: '127.0.0.1',
  port: 22,
  user: 'root',
  kind: 'local',
  knownHostsFiles: [],
  hostKeyPolicy: 'strict',
  connectTimeoutMs: 5000,
  keepaliveIntervalMs: 5000,
  connectRetries: 0,
  maxChannels: 8,
};

async function processRunning(marker: string): Promise<boolean> {
  const { stdout } = await run('ps', ['-eo', 'args']);
  return stdout.split('\n').some((line) => line.includes(marker) && !line.includes('ps -eo'));
}

describe('transport/local', function () {
  this.timeout(20_000);
  let connection: Connection;
  before(async () => {
    connection = await connectLocal(localSpec);
  });
  after(async () => connection.close());

  it('returns stdout, stderr and the exit code as one value', async () => {
    const outcome = await connection.exec('echo out; echo err >&2; exit 4', { timeoutMs: 5000 });
    expect(outcome).to.include({ exitCode: 4, stdout: 'out\n', stderr: 'err\n', timedOut: false, aborted: false, connectionLost: false });
  });

  it('carries every byte value through stdin unchanged', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    const outcome = await connection.exec('cat | base64 -w0', { stdin: bytes, timeoutMs: 5000 });
    expect(Buffer.from(outcome.stdout, 'base64').equals(bytes)).to.equal(true);
  });

  it('does not fail when the command ignores its stdin', async () => {
    const outcome = await connection.exec('exit 0', { stdin: randomBytes(1024 * 1024), timeoutMs: 5000 });
    expect(outcome.exitCode).to.equal(0);
  });

  it('runs a rendered command with its secret on stdin', async () => {
    const plain = `local-${randomBytes(6).toString('hex')}`;
    const rendered = renderCommand({ run: sh`printf '%s' ${new Secret(plain)} | sha256sum` });
    expect(rendered.line).not.to.contain(plain);
    const outcome = await connection.exec(rendered.line, { stdin: rendered.stdin, timeoutMs: 5000 });
    expect(outcome.stdout.split(' ')[0]).to.equal(createHash('sha256').update(plain).digest('hex'));
  });

  it('stops the whole process group at the time limit', async () => {
    const started = Date.now();
    const outcome = await connection.exec('sleep 37.25; echo never', { timeoutMs: 400 });
    expect(outcome).to.include({ timedOut: true, exitCode: null, signal: 'TERM', stdout: '' });
    // Generous: it only tells "stopped" from "ran its 37 s", and the machine may be loaded.
    expect(Date.now() - started).to.be.lessThan(15_000);
    await eventually(async () => !(await processRunning('sleep 37.25')), 15_000, 'the child sleep to end');
  });

  it('escalates to KILL when TERM is ignored', async () => {
    const outcome = await connection.exec("trap '' TERM; sleep 38.25", { timeoutMs: 300 });
    expect(outcome).to.include({ timedOut: true, signal: 'KILL' });
    await eventually(async () => !(await processRunning('sleep 38.25')), 15_000, 'the child sleep to end');
  });

  it('stops a command when its AbortSignal fires', async () => {
    const controller = new AbortController();
    const marker = runningMarker();
    // Aborted once it runs, not after a guessed delay.
    const running = connection.exec(`${marker.touch}; sleep 39.25`, { timeoutMs: 30_000, signal: controller.signal });
    await marker.running();
    controller.abort();
    const outcome = await running;
    marker.remove();
    expect(outcome).to.include({ aborted: true, timedOut: false, exitCode: null });
  });

  it('caps output', async () => {
    const outcome = await connection.exec("head -c 5000 /dev/zero | tr '\\0' z", { timeoutMs: 5000, maxOutputBytes: 100 });
    expect(outcome.stdout).to.match(/^z{100}\n\[drover: output truncated: kept the first 100 bytes, dropped 4900 more\]$/);
  });

  it('takes Infinity as no time limit, and refuses a limit that is not positive', async () => {
    expect((await connection.exec('true', { timeoutMs: Infinity })).exitCode).to.equal(0);
    let error: unknown;
    await connection.exec('true', { timeoutMs: 0 }).catch((thrown: unknown) => (error = thrown));
    expect(error).to.be.instanceOf(RangeError);
  });

  it('answers connectionLost after close', async () => {
    const closing = await connectLocal(localSpec);
    await closing.close();
    expect(await closing.exec('true', { timeoutMs: 5000 })).to.include({ connectionLost: true, exitCode: null });
  });
});

describe('transport/connect', () => {
  it('opens a local connection for kind local', async () => {
    const connection = await connect(localSpec);
    try {
      expect((await connection.exec('echo local', { timeoutMs: 5000 })).stdout).to.equal('local\n');
    } finally {
      await connection.close();
    }
  });

  it('goes over SSH for kind ssh', async () => {
    const error = await connect({ ...localSpec, kind: 'ssh', name: 'nowhere', port: await freePort(), privateKeyFile: '/dev/null' }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    // /dev/null is no key: the SSH transport (not the local one) refused before connecting.
    expect(error).to.be.instanceOf(UnreachableError);
    expect((error as UnreachableError).message)
      .to.contain('nowhere (127.0.0.1:')
      .and.contain('/dev/null is not a private key');
  });
});
