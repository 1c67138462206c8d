/**
 * The shell kept open for probes (runner/transport/kept-shell.ts), against a real OpenSSH sshd on
 * 127.0.0.1: a probe run there must give exactly the outcome it gets on a channel of its own, and every
 * way a command can end (time limit, abort, lost connection, a reader that dies) must end it as `exec`
 * would, leaving the connection usable.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { renderCommand, sh } from '../../runner/command.ts';
import { connectSsh } from '../../runner/transport/ssh.ts';
import type { Connection, ExecOptions } from '../../runner/transport/transport.ts';
import { describeWithSshd, startSshd, type TestSshd } from '../support/sshd.ts';
import { eventually, processRunning, runningMarker, specFor } from './fixtures.ts';

/** Bounds that tell "stopped" from "not stopped at all": generous, so a loaded machine cannot fail them. */
const GENEROUS_MS = 15_000;
const KEPT: ExecOptions = { timeoutMs: 10_000, keptShell: true };

/** The session (= the process sshd started for the channel) a rendered command runs in. */
const SESSION_OF_COMMAND = renderCommand({ run: sh`ps -o sid= -p $$ | tr -d ' '` }).line;

/**
 * The session of the kept shell: runs probes until two in a row share a session (a probe waits for the
 * shell to open, so the first two do, unless a test before retired the shell), and returns it.
 */
async function warm(connection: Connection): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    const session = (await connection.exec(SESSION_OF_COMMAND, KEPT)).stdout;
    if (session === last) return session;
    last = session;
  }
  throw new Error('the kept shell never opened');
}

describeWithSshd('transport/ssh: the kept-open shell for probes (real sshd)', function () {
  this.timeout(60_000);
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

  it('gives the outcome a channel of its own gives, byte for byte', async () => {
    const lines = [
      'echo out; echo err >&2; exit 3',
      "printf 'no final newline'; printf 'nor here' >&2",
      'printf "\\n\\n"; printf "\\n" >&2',
      'true',
      // Every byte value, and NULs, on both streams.
      'awk \'BEGIN { for (i = 0; i < 256; i++) printf "%c", i }\' | tee /dev/stderr',
      // What an end mark looks like, without its random part: a file holding this cannot end the command.
      'printf "\\n__drover_end_0123456789abcdef01234567_1 0\\n"; echo after',
      'exit 141',
      'cd /; pwd; exec echo replaced',
      renderCommand({ run: sh`set -- a 'b c'; printf '%s|' "$@"; false` }).line,
      // 3 MiB: many channel packets, across the SSH window.
      'head -c 3145728 /dev/zero | tr "\\0" x; echo; head -c 100000 /dev/zero | tr "\\0" y >&2',
      // Killed by a signal, and a status that looks like one: the shell cannot tell them apart, so both
      // run again on a channel of their own and report what it reports.
      renderCommand({ run: sh`echo before; kill -KILL $$` }).line,
      'echo x; exit 137',
    ];
    await warm(connection);
    for (const line of lines) {
      const alone = await connection.exec(line, { timeoutMs: 10_000 });
      const kept = await connection.exec(line, KEPT);
      const { durationMs: _a, ...aloneRest } = alone;
      const { durationMs: _k, ...keptRest } = kept;
      expect(keptRest, line).to.deep.equal(aloneRest);
    }
  });

  it('survives a line with a syntax error (the subshell ends, not the reader)', async () => {
    // /bin/sh reads the line where a channel's login shell would; rendered lines are one simple command,
    // which both read alike, so only the wording of this error differs.
    const before = await warm(connection);
    const broken = await connection.exec('if then fi', KEPT);
    expect(broken.exitCode).to.equal(2);
    expect(broken.stderr).to.match(/syntax error/i);
    expect((await connection.exec(SESSION_OF_COMMAND, KEPT)).stdout).to.equal(before);
  });

  it('runs one probe after another in one session, not a session each, from the first probe on', async () => {
    // A fresh connection: its first probe waits for the shell to open instead of taking a channel of its own.
    const fresh = await connectSsh(await specFor(server));
    try {
      const first = await fresh.exec(SESSION_OF_COMMAND, KEPT);
      expect(first.exitCode).to.equal(0);
      expect((await fresh.exec(SESSION_OF_COMMAND, KEPT)).stdout).to.equal(first.stdout);
    } finally {
      await fresh.close();
    }
    await warm(connection);
    const sessions = new Set<string>();
    for (let index = 0; index < 10; index++) {
      const outcome = await connection.exec(SESSION_OF_COMMAND, KEPT);
      expect(outcome.exitCode).to.equal(0);
      sessions.add(outcome.stdout);
    }
    expect(sessions.size).to.equal(1);
    // The same line without the option gets a session of its own each time.
    const alone = await Promise.all([1, 2].map(() => connection.exec(SESSION_OF_COMMAND, { timeoutMs: 10_000 })));
    expect(new Set([...alone.map((outcome) => outcome.stdout), ...sessions]).size).to.equal(3);
  });

  it('sends commands with stdin to channels of their own, and runs probes that overlap one after another in the shell', async () => {
    const kept = await warm(connection);
    const withStdin = await connection.exec(`${SESSION_OF_COMMAND}; cat`, { ...KEPT, stdin: Buffer.from('fed') });
    expect(withStdin.stdout).to.match(/^\d+\nfed$/);
    expect(withStdin.stdout.split('\n')[0]).to.not.equal(kept.trim());
    const started = Date.now();
    const overlapping = await Promise.all([1, 2, 3].map(() => connection.exec(`sleep 0.3; ${SESSION_OF_COMMAND}`, KEPT)));
    expect(overlapping.map((outcome) => outcome.stdout)).to.deep.equal([kept, kept, kept]);
    // One after another: three 0.3 s sleeps take at least 0.9 s together.
    expect(Date.now() - started).to.be.at.least(850);
  });

  it('gives a probe waiting for the busy shell up when its AbortSignal fires, without sending it', async () => {
    const kept = await warm(connection);
    const busy = connection.exec(`sleep 1; ${SESSION_OF_COMMAND}`, KEPT);
    const controller = new AbortController();
    const marker = runningMarker();
    const waiting = connection.exec(marker.touch, { ...KEPT, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const aborted = await waiting;
    expect(aborted.aborted).to.equal(true);
    expect((await busy).stdout).to.equal(kept);
    expect(existsSync(marker.path)).to.equal(false);
    marker.remove();
  });

  it('stops a command at its time limit, kills it on the target, and opens a new shell for the next probe', async () => {
    const before = await warm(connection);
    const started = Date.now();
    const outcome = await connection.exec('sleep 51.25; echo never', { ...KEPT, timeoutMs: 400 });
    expect(outcome).to.include({ timedOut: true, aborted: false, connectionLost: false, exitCode: null, stdout: '' });
    expect(Date.now() - started).to.be.within(395, GENEROUS_MS);
    await eventually(async () => !(await processRunning('sleep 51.25')), GENEROUS_MS, 'the remote sleep to end');
    const after = await connection.exec(SESSION_OF_COMMAND, KEPT);
    expect(after.exitCode).to.equal(0);
    expect(after.stdout).to.not.equal(before);
  });

  it('keeps all the output a stopped command wrote, as a channel of its own does', async () => {
    await warm(connection);
    const line = "printf 'line one\\nthe last line\\n'; echo 'E: Could not get lock /var/lib/dpkg/lock' >&2; sleep 54.25";
    const kept = await connection.exec(line, { ...KEPT, timeoutMs: 500 });
    const alone = await connection.exec(line, { timeoutMs: 500 });
    expect(kept).to.include({ timedOut: true, stdout: 'line one\nthe last line\n', stderr: 'E: Could not get lock /var/lib/dpkg/lock\n' });
    expect(kept).to.include({ stdout: alone.stdout, stderr: alone.stderr, signal: alone.signal });
  });

  it('stops a command when its AbortSignal fires, and never sends one aborted before it starts', async () => {
    await warm(connection);
    const controller = new AbortController();
    const marker = runningMarker();
    const running = connection.exec(`${marker.touch}; sleep 52.25`, { ...KEPT, signal: controller.signal });
    await marker.running();
    controller.abort();
    const outcome = await running;
    marker.remove();
    expect(outcome).to.include({ aborted: true, timedOut: false, exitCode: null });
    await eventually(async () => !(await processRunning('sleep 52.25')), GENEROUS_MS, 'the remote sleep to end');
    const never = `/tmp/drover-never-${randomBytes(4).toString('hex')}`;
    const aborted = await connection.exec(`touch ${never}`, { ...KEPT, signal: AbortSignal.abort() });
    expect(aborted).to.include({ aborted: true, exitCode: null });
    expect(existsSync(never)).to.equal(false);
  });

  it('runs a probe again on a channel of its own when the shell dies under it unasked', async () => {
    const once = `/tmp/drover-once-${randomBytes(4).toString('hex')}`;
    try {
      // The first time, the command kills the reader (its session leader) alone and goes on; the second
      // time, on its own channel, it only prints.
      const line = `if [ ! -e ${once} ]; then touch ${once}; kill -KILL $(ps -o sid= -p $$); sleep 0.2; fi; echo ran`;
      await warm(connection);
      const outcome = await connection.exec(line, KEPT);
      expect(outcome).to.include({ exitCode: 0, stdout: 'ran\n', timedOut: false, connectionLost: false });
      expect(existsSync(once)).to.equal(true);
      expect((await connection.exec('echo fine', KEPT)).stdout).to.equal('fine\n');
    } finally {
      rmSync(once, { force: true });
    }
  });

  it('stops opening kept shells on a connection where three of them ended unasked', async () => {
    const flaky = await connectSsh(await specFor(server));
    const once = `/tmp/drover-flaky-${randomBytes(4).toString('hex')}`;
    try {
      for (let index = 0; index < 3; index++) {
        await warm(flaky);
        const line = `if [ ! -e ${once}-${index} ]; then touch ${once}-${index}; kill -KILL $(ps -o sid= -p $$); sleep 0.2; fi; echo ran`;
        expect((await flaky.exec(line, KEPT)).stdout).to.equal('ran\n');
      }
      const sessions = new Set<string>();
      for (let index = 0; index < 3; index++) sessions.add((await flaky.exec(SESSION_OF_COMMAND, KEPT)).stdout);
      expect(sessions.size, 'each probe on a channel of its own').to.equal(3);
    } finally {
      await flaky.close();
      for (let index = 0; index < 3; index++) rmSync(`${once}-${index}`, { force: true });
    }
  });

  it('retires a shell that a command left writing to it, so the next probe reads only its own output', async () => {
    await warm(connection);
    const first = await connection.exec('(sleep 0.3; echo late; echo late >&2) & echo now', KEPT);
    expect(first.stdout).to.equal('now\n');
    await new Promise((resolve) => setTimeout(resolve, 800));
    const next = await connection.exec('echo next', KEPT);
    expect(next).to.include({ stdout: 'next\n', stderr: '', exitCode: 0 });
  });

  it('caps the output it keeps, as a channel of its own does', async () => {
    await warm(connection);
    const outcome = await connection.exec('head -c 100000 /dev/zero | tr "\\0" z', { ...KEPT, maxOutputBytes: 1000 });
    expect(outcome.exitCode).to.equal(0);
    expect(outcome.outputDropped).to.deep.equal({ stdout: 99_000, stderr: 0 });
    expect(outcome.stdout.startsWith('z'.repeat(1000))).to.equal(true);
  });

  for (const maxSessions of [1, 2]) {
    const what = maxSessions === 1 ? 'commands still get channels' : 'commands and the kills of timed-out ones still get channels';
    it(`gives its session back to a server allowing only ${maxSessions} (MaxSessions): ${what}`, async () => {
      const strict = await startSshd({ maxSessions });
      const tight = await connectSsh(await specFor(strict));
      const done = `/tmp/drover-ran-on-${randomBytes(4).toString('hex')}`;
      try {
        for (let index = 0; index < 3; index++) expect((await tight.exec('echo probe', KEPT)).stdout).to.equal('probe\n');
        expect((await tight.exec('echo change', { timeoutMs: 10_000 })).stdout).to.equal('change\n');
        // With one session the command holds it, and no channel is left for a kill (as before the kept shell).
        if (maxSessions === 1) return;
        const stopped = await tight.exec(`sleep 2; touch ${done}`, { timeoutMs: 300 });
        expect(stopped).to.include({ timedOut: true, signal: 'TERM' });
        await new Promise((resolve) => setTimeout(resolve, 2500));
        expect(existsSync(done), 'the timed-out command was killed').to.equal(false);
        expect((await tight.exec('echo probe', KEPT)).stdout).to.equal('probe\n');
      } finally {
        rmSync(done, { force: true });
        await tight.close();
        await strict.stop();
      }
    });
  }

  it('uses no kept shell on a connection with a single channel, where it would hold the only one', async () => {
    const narrow = await connectSsh(await specFor(server, { maxChannels: 1 }));
    try {
      const sessions = new Set<string>();
      for (let index = 0; index < 3; index++) sessions.add((await narrow.exec(SESSION_OF_COMMAND, KEPT)).stdout);
      expect(sessions.size).to.equal(3);
    } finally {
      await narrow.close();
    }
  });

  it('ends a command in the kept shell with connectionLost when the connection drops, and later commands at once', async () => {
    const doomed = await connectSsh(await specFor(server));
    try {
      await warm(doomed);
      const marker = runningMarker();
      const running = doomed.exec(`${marker.touch}; sleep 53.25`, KEPT);
      await marker.running();
      marker.remove();
      await server.killSessions();
      const outcome = await running;
      expect(outcome).to.include({ connectionLost: true, exitCode: null });
      const later = await doomed.exec('true', KEPT);
      expect(later).to.include({ connectionLost: true, exitCode: null });
    } finally {
      await doomed.close();
      await connection.close();
      connection = await connectSsh(await specFor(server));
    }
  });
});
