/**
 * The SSH transport against a real OpenSSH sshd on 127.0.0.1: running commands, stdin, output, time
 * limits, the channel bound, connection reuse and loss, and connect failures.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { renderCommand, sh, type Command } from '../../runner/command.ts';
import { Secret } from '../../runner/secret.ts';
import { connectSsh, handshakeQueue } from '../../runner/transport/ssh.ts';
import { UnreachableError, type Connection } from '../../runner/transport/transport.ts';
import { establishedConnections, freePort, describeWithSshd, startSshd, type TestSshd } from '../support/sshd.ts';
import { countMatches, countRetries, eventually, processRunning, runningMarker, specFor } from './fixtures.ts';

const run = promisify(execFile);

/**
 * Upper bounds in this file only tell "stopped" from "not stopped at all" (the commands sleep 30 s and
 * more): they are generous so a loaded machine cannot fail them. Lower bounds and counts are exact.
 */
const GENEROUS_MS = 15_000;

describeWithSshd('transport/ssh (real sshd)', function () {
  this.timeout(30_000);
  let server: TestSshd;
  let connection: Connection;

  before(async () => {
    server = await startSshd({ maxSessions: 10 });
    connection = await connectSsh(await specFor(server));
  });
  after(async () => {
    await connection?.close();
    await server?.stop();
  });

  describe('running commands', () => {
    it('returns stdout, stderr and the exit code as one value', async () => {
      const outcome = await connection.exec('echo out; echo err >&2; exit 3', { timeoutMs: 5000 });
      expect(outcome).to.include({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false, aborted: false, connectionLost: false });
      expect(outcome.signal).to.equal(undefined);
      expect(outcome.durationMs).to.be.a('number').and.be.lessThan(5000);
    });

    it('reports exit code 0 and UTF-8 output', async () => {
      const outcome = await connection.exec("printf 'h\\303\\251llo \\342\\234\\223'", { timeoutMs: 5000 });
      expect(outcome.exitCode).to.equal(0);
      expect(outcome.stdout).to.equal('héllo ✓');
    });

    it('carries every byte value through stdin unchanged', async () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
      const outcome = await connection.exec('cat | base64 -w0', { stdin: bytes, timeoutMs: 5000 });
      expect(outcome.exitCode).to.equal(0);
      expect(Buffer.from(outcome.stdout, 'base64').equals(bytes)).to.equal(true);
    });

    it('carries a large stdin (8 MiB, beyond the SSH window) intact', async () => {
      const data = randomBytes(8 * 1024 * 1024);
      const outcome = await connection.exec('sha256sum', { stdin: data, timeoutMs: 20_000 });
      expect(outcome.stdout.split(' ')[0]).to.equal(createHash('sha256').update(data).digest('hex'));
    });

    it('collects a large output (16 MiB) in full', async () => {
      const outcome = await connection.exec("head -c 16777216 /dev/zero | tr '\\0' x", { timeoutMs: 20_000 });
      expect(outcome.stdout.length).to.equal(16 * 1024 * 1024);
      expect(outcome.stdout.slice(0, 3)).to.equal('xxx');
    });

    it('caps output it keeps and says how much it dropped', async () => {
      const outcome = await connection.exec("head -c 100000 /dev/zero | tr '\\0' a; head -c 50 /dev/zero | tr '\\0' b >&2", {
        timeoutMs: 5000,
        maxOutputBytes: 1000,
      });
      expect(outcome.exitCode).to.equal(0);
      expect(outcome.stdout.startsWith('a'.repeat(1000) + '\n[drover: output truncated')).to.equal(true);
      expect(outcome.stdout).to.contain('kept the first 1000 bytes, dropped 99000 more');
      expect(outcome.stderr).to.equal('b'.repeat(50));
    });
  });

  describe('rendered commands', () => {
    it('runs what renderCommand produces, with the secret on stdin and never on the target process list', async () => {
      const plain = `s3cret-${randomBytes(6).toString('hex')}`;
      const token = new Secret(plain, 'join token');
      const marker = runningMarker();
      const release = runningMarker();
      // The script holds still (after saying it runs) until the test has looked at the process list.
      const command: Command = {
        run: sh`printf '%s' ${token} | sha256sum; cat; touch ${marker.path}; i=0; while [ ! -e ${release.path} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`,
        stdin: 'file contents\n',
      };
      const rendered = renderCommand(command, { loginUser: 'root' });
      expect(rendered.line).not.to.contain(plain);

      const running = connection.exec(rendered.line, { stdin: rendered.stdin, timeoutMs: 10_000 });
      // While it waits, look at every process's arguments on the target, through the same connection.
      await marker.running();
      const ps = await connection.exec('ps -eo args', { timeoutMs: 5000 });
      await writeFile(release.path, '');
      expect(ps.stdout, 'the script must be visible in ps, or the check proves nothing').to.contain('DROVER_SECRET_');
      expect(ps.stdout).not.to.contain(plain);

      const outcome = await running;
      expect(outcome.exitCode).to.equal(0);
      const [hashLine, rest] = [outcome.stdout.split('\n')[0], outcome.stdout.split('\n').slice(1).join('\n')];
      expect(hashLine?.split(' ')[0]).to.equal(createHash('sha256').update(plain).digest('hex'));
      expect(rest).to.equal('file contents\n');
      marker.remove();
      release.remove();
    });

    it('fails a rendered script at the first failing command (set -eu)', async () => {
      const rendered = renderCommand({ run: sh`echo before; false; echo after` });
      const outcome = await connection.exec(rendered.line, { stdin: rendered.stdin, timeoutMs: 5000 });
      expect(outcome.exitCode).to.equal(1);
      expect(outcome.stdout).to.equal('before\n');
    });
  });

  describe('time limits and aborts', () => {
    it('stops a command at its time limit and kills it on the target', async () => {
      const started = Date.now();
      const outcome = await connection.exec('sleep 31.25', { timeoutMs: 500 });
      const elapsed = Date.now() - started;
      expect(outcome).to.include({ timedOut: true, aborted: false, connectionLost: false, exitCode: null });
      expect(outcome.signal).to.equal('TERM');
      // TERM at 500 ms, counted from when the command got its channel.
      expect(elapsed).to.be.within(495, GENEROUS_MS);
      await eventually(async () => !(await processRunning('sleep 31.25')), GENEROUS_MS, 'the remote sleep to end');
    });

    it('escalates to KILL when TERM is ignored', async () => {
      const started = Date.now();
      // The shell ignores TERM, and so does the sleep it starts (an ignored signal stays ignored across exec).
      const outcome = await connection.exec("trap '' TERM; sleep 32.25", { timeoutMs: 300 });
      const elapsed = Date.now() - started;
      await run('pkill', ['-f', 'sleep 32.25']).catch(() => undefined);
      expect(outcome.timedOut).to.equal(true);
      expect(outcome.signal).to.equal('KILL');
      // KILL only after the limit (300 ms) and the TERM grace (1 s).
      expect(elapsed).to.be.within(1295, GENEROUS_MS);
    });

    it('stops a rendered script and the commands it started (the whole process group)', async () => {
      const rendered = renderCommand({ run: sh`sleep 33.25; echo never` });
      const started = Date.now();
      const outcome = await connection.exec(rendered.line, { stdin: rendered.stdin, timeoutMs: 400 });
      expect(outcome).to.include({ timedOut: true, stdout: '' });
      expect(Date.now() - started).to.be.lessThan(GENEROUS_MS);
      // The script is in the shell's own argv, so this one marker covers both the shell and the sleep it
      // started. (Matching on 'set -eu' alone would also catch unrelated shells on the machine, such as CI's.)
      await eventually(async () => !(await processRunning('sleep 33.25; echo never')) && !(await processRunning('sleep 33.25')), GENEROUS_MS, 'the remote shell and its sleep to end');
    });

    it('stops eight commands timing out together, kills included, within MaxSessions 10', async () => {
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, index) => connection.exec(`sleep 41.${index}5; echo never`, { timeoutMs: 400 })));
      for (const outcome of outcomes) expect(outcome).to.include({ timedOut: true, signal: 'TERM', stdout: '' });
      await eventually(async () => !(await processRunning('sleep 41.')), GENEROUS_MS, 'every remote sleep to end');
      // The connection is still fully usable: no session was left behind on the server.
      const after = await Promise.all(Array.from({ length: 8 }, () => connection.exec('true', { timeoutMs: 5000 })));
      for (const outcome of after) expect(outcome.exitCode).to.equal(0);
    });

    it('stops a command when its AbortSignal fires', async () => {
      const controller = new AbortController();
      const marker = runningMarker();
      // Aborted once it runs (an abort before it starts is the next test's case).
      const running = connection.exec(`${marker.touch}; sleep 34.25`, { timeoutMs: 20_000, signal: controller.signal });
      await marker.running();
      controller.abort();
      const outcome = await running;
      marker.remove();
      expect(outcome).to.include({ aborted: true, timedOut: false, exitCode: null });
      expect(outcome.durationMs).to.be.lessThan(GENEROUS_MS);
    });

    it('never sends a command whose signal aborted while it waited for a channel', async () => {
      const narrow = await connectSsh(await specFor(server, { maxChannels: 1 }));
      try {
        const marker = `/tmp/drover-never-${randomBytes(4).toString('hex')}`;
        const controller = new AbortController();
        const blocker = narrow.exec('sleep 0.6', { timeoutMs: 5000 });
        const queued = narrow.exec(`touch ${marker}`, { timeoutMs: 5000, signal: controller.signal });
        controller.abort();
        expect(await queued).to.include({ aborted: true, exitCode: null });
        await blocker;
        const check = await narrow.exec(`test -e ${marker}`, { timeoutMs: 5000 });
        expect(check.exitCode, 'the aborted command must not have run').to.equal(1);
      } finally {
        await narrow.close();
      }
    });
  });

  describe('channels and connection reuse', () => {
    it('runs 30 commands at once on one connection within MaxSessions 10, all succeeding', async () => {
      // Each command notes when it started and ended on the target (ns), to measure how many overlapped.
      const outcomes = await Promise.all(Array.from({ length: 30 }, (_, index) => connection.exec(`date +%s%N; sleep 0.3; echo ${index}; date +%s%N`, { timeoutMs: 20_000 })));
      const intervals = outcomes.map((outcome, index) => {
        expect(outcome, `command ${index}: ${outcome.transportError ?? outcome.stderr}`).to.include({ exitCode: 0 });
        const [start, echoed, end] = outcome.stdout.trim().split('\n');
        expect(echoed).to.equal(String(index));
        return [BigInt(start ?? ''), BigInt(end ?? '')] as const;
      });
      const mostAtOnce = Math.max(...intervals.map(([start]) => intervals.filter(([s, e]) => s <= start && start < e).length));
      expect(mostAtOnce, 'never more than maxChannels (8) at once').to.be.at.most(8);
      expect(mostAtOnce, 'commands do run in parallel').to.be.at.least(2);
    });

    it('(control) without the bound, sshd refuses channels past MaxSessions', async () => {
      const unbounded = await connectSsh(await specFor(server, { maxChannels: 30 }));
      try {
        // Well past the time the transport keeps retrying a refused channel (1.55 s), with room for a slow start.
        const outcomes = await Promise.all(Array.from({ length: 30 }, () => unbounded.exec('sleep 4', { timeoutMs: 20_000 })));
        const refused = outcomes.filter((outcome) => outcome.transportError?.includes('refused a channel'));
        expect(refused.length).to.be.greaterThan(0);
        expect(refused[0]?.connectionLost).to.equal(false);
      } finally {
        await unbounded.close();
      }
    });

    it('uses one TCP connection and one login for many commands', async () => {
      const logins = countMatches(server.log(), /Accepted publickey for root/);
      for (let index = 0; index < 20; index++) {
        expect((await connection.exec('true', { timeoutMs: 5000 })).exitCode).to.equal(0);
      }
      expect(countMatches(server.log(), /Accepted publickey for root/)).to.equal(logins);
      // Connections of earlier tests may take a moment to leave ESTABLISHED on the server side.
      await eventually(async () => (await establishedConnections(server.port)) === 1, GENEROUS_MS, 'one established connection');
    });
  });

  describe('a connection lost mid-command', () => {
    it('ends the running command with connectionLost, and later commands at once', async () => {
      const doomed = await connectSsh(await specFor(server));
      try {
        const marker = runningMarker();
        const running = doomed.exec(`${marker.touch}; sleep 35.25`, { timeoutMs: 20_000 });
        await marker.running();
        marker.remove();
        const started = Date.now();
        await server.killSessions();
        const outcome = await running;
        expect(outcome).to.include({ connectionLost: true, timedOut: false, exitCode: null });
        expect(outcome.transportError).to.contain('was lost');
        expect(Date.now() - started).to.be.lessThan(GENEROUS_MS);
        // At once: no new connect attempt (that would take the 5 s connect timeout or succeed).
        const later = await doomed.exec('true', { timeoutMs: 5000 });
        expect(later).to.include({ connectionLost: true, exitCode: null });
        expect(later.durationMs).to.be.lessThan(2500);
      } finally {
        await doomed.close();
        // killSessions also ended the suite's shared connection: open a fresh one for later tests.
        await connection.close();
        connection = await connectSsh(await specFor(server));
      }
    });
  });

  describe('a connection that goes silent', () => {
    it('is found dead by keepalives, and the running command ends with connectionLost', async () => {
      const silent = await startSshd();
      const frozen = await connectSsh(await specFor(silent, { keepaliveIntervalMs: 200, keepaliveCountMax: 2 }));
      try {
        const marker = runningMarker();
        const running = frozen.exec(`${marker.touch}; sleep 40.25`, { timeoutMs: 60_000 });
        await marker.running();
        marker.remove();
        // The server stops answering but keeps the TCP connection open: only keepalives can tell.
        await silent.signalSessions('SIGSTOP');
        const started = Date.now();
        const outcome = await running;
        expect(outcome.connectionLost).to.equal(true);
        expect(outcome.transportError).to.contain('no answer to 2 keepalives sent 0.2 s apart');
        // Two unanswered keepalives 200 ms apart: well before the command's own 60 s limit.
        expect(Date.now() - started).to.be.lessThan(GENEROUS_MS);
      } finally {
        await frozen.close();
        await silent.signalSessions('SIGKILL');
        await silent.stop();
      }
    });
  });

  describe('connect failures', () => {
    it('reports a refused connection quickly, with host, address and a hint, after bounded retries', async () => {
      const spec = await specFor(server, { name: 'node9', port: await freePort(), connectRetries: 2 });
      const retries = countRetries(0.5);
      const started = Date.now();
      const error = await connectSsh(spec)
        .then(
          () => undefined,
          (thrown: unknown) => thrown,
        )
        .finally(retries.restore);
      const elapsed = Date.now() - started;
      expect(error).to.be.instanceOf(UnreachableError);
      const unreachable = error as UnreachableError;
      expect(unreachable.host).to.equal('node9');
      expect(unreachable.message).to.contain(`node9 (127.0.0.1:${spec.port})`).and.contain('connection refused');
      expect(unreachable.hint).to.contain('sshd');
      // Two retries, pausing exactly 250 ms and 500 ms with the jitter fixed at the middle.
      expect(retries.pauses()).to.equal(2);
      expect(elapsed).to.be.within(745, GENEROUS_MS);
    });

    it('keeps trying an sshd that drops connections before the handshake (restarting, throttling) for seconds, not one', async () => {
      // A loopback relay in front of the test sshd: for 2.5 s from the first connection it resets every
      // connection at once, as a restarting or MaxStartups-throttled sshd does; after that it relays.
      let first: number | undefined;
      let dropped = 0;
      const relay = createServer((client) => {
        first ??= Date.now();
        if (Date.now() - first < 2_500) {
          dropped++;
          client.resetAndDestroy();
          return;
        }
        const upstream = connect(server.port, '127.0.0.1');
        client.pipe(upstream).pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
      await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
      const retries = countRetries(0.5);
      try {
        const port = (relay.address() as AddressInfo).port;
        // One counted retry: without the window, two attempts 0.25 s apart would both be dropped.
        const spec = await specFor(server, { name: 'restarting', port, connectRetries: 1 });
        // The sshd's key, known under the relay's port.
        await writeFile(spec.knownHostsFiles![0]!, `${server.knownHostsLine().replace(`:${server.port} `, `:${port} `)}\n`);
        const connection = await connectSsh(spec);
        try {
          expect((await connection.exec('echo reached', { timeoutMs: 5000 })).stdout.toString()).to.equal('reached\n');
        } finally {
          await connection.close();
        }
        // More drops than the counted retry allows (attempts at 0, 0.25, 0.75, 1.75 s are dropped, later
        // under load; the one at 3.75 s gets through).
        expect(dropped).to.be.greaterThan(2);
        expect(retries.pauses()).to.equal(dropped);
      } finally {
        retries.restore();
        await new Promise<void>((resolve) => relay.close(() => resolve()));
      }
    });

    it('gives up on a server that accepts but never answers after the connect timeout, retrying once', async () => {
      const mute = await startSshd();
      process.kill(mute.pid, 'SIGSTOP');
      const retries = countRetries(0.5);
      try {
        const started = Date.now();
        const error = await connectSsh(await specFor(mute, { name: 'mute', connectTimeoutMs: 300, connectRetries: 1 })).then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        const elapsed = Date.now() - started;
        expect(error).to.be.instanceOf(UnreachableError);
        expect((error as UnreachableError).message).to.contain('no SSH handshake within 300 ms');
        // Two attempts of 300 ms with a 250 ms pause between them.
        expect(retries.pauses()).to.equal(1);
        expect(elapsed).to.be.within(845, GENEROUS_MS);
      } finally {
        retries.restore();
        await mute.stop();
      }
    });

    it('queues handshakes past the run-wide limit, and counts a time limit from the turn of each', async () => {
      const mute = await startSshd();
      process.kill(mute.pid, 'SIGSTOP');
      const saved = handshakeQueue.limit;
      handshakeQueue.limit = 1;
      try {
        const started = Date.now();
        // The mute server holds the only turn for its whole 1 s limit; the good one waits, then has its own 800 ms.
        const stuck = connectSsh(await specFor(mute, { name: 'mute', connectTimeoutMs: 1000 })).then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        const good = await connectSsh(await specFor(server, { connectTimeoutMs: 800 }));
        const waited = Date.now() - started;
        await good.close();
        expect(await stuck).to.be.instanceOf(UnreachableError);
        expect(waited).to.be.within(995, GENEROUS_MS);
      } finally {
        handshakeQueue.limit = saved;
        await mute.stop();
      }
    });

    it('refuses impossible settings before connecting, naming the host', async () => {
      const spec = await specFor(server, { name: 'node3', maxChannels: 0, port: 0 });
      const error = await connectSsh(spec).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).to.be.instanceOf(RangeError);
      expect((error as Error).message).to.equal('connection settings for node3 are invalid: port 0 (must be 1-65535), maxChannels 0 (must be at least 1)');
    });

    it('does not retry a failed authentication', async () => {
      const before = countMatches(server.log(), /Connection from 127\.0\.0\.1/);
      const spec = await specFor(server, { connectRetries: 3, privateKeyFile: server.hostKey.privateKeyFile });
      const error = await connectSsh(spec).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).to.be.instanceOf(UnreachableError);
      expect((error as UnreachableError).message)
        .to.contain('authentication as root failed')
        .and.contain(`key ${server.hostKey.privateKeyFile}`);
      expect((error as UnreachableError).hint).to.contain('authorized_keys');
      expect(countMatches(server.log(), /Connection from 127\.0\.0\.1/) - before).to.equal(1);
    });
  });
});
