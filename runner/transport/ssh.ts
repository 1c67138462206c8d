/**
 * The SSH transport: the only file in drover that imports ssh2.
 *
 * One ssh2 client per host, opened once and reused by every command of the run; each command is an
 * `exec` session channel on it, at most `spec.maxChannels` at once (OpenSSH refuses channels past its
 * MaxSessions, default 10). A command's stdin is written (large content piped with flow control, see
 * stdin-pipe.ts) and then ended; stdout and stderr are collected (capped); a timeout or abort sends TERM, then KILL, then closes the channel. A connection that drops
 * ends every running command with `connectionLost`, and later commands get the same answer at once.
 *
 * What a stop reaches: the command's whole process group, signalled with `kill` from another channel,
 * because sshd refuses the protocol's signal request for root logins (see pid-marker.ts).
 *
 * Connecting: authentication tries the key file, then ssh-agent, then the password (also answering
 * keyboard-interactive prompts with it), skipping what the server does not accept. Host keys are checked
 * against known_hosts (host-key-policy.ts) during the handshake. Transient failures (refused, reset,
 * timeout) are retried `spec.connectRetries` times with a short backoff, a drop before the handshake for
 * up to DROPPED_RETRY_WINDOW_MS (sshd restarting or throttling); authentication and host key
 * failures never are. A jump host is connected first (itself verified) and the target is reached through
 * a `direct-tcpip` channel on it; closing the target closes the jump connection.
 */
import { readFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type {
  AnyAuthMethod,
  AuthenticationType,
  ClientChannel,
  ConnectConfig,
  KeyboardInteractiveCallback,
  NextAuthHandler,
  Prompt,
  ServerHostKeyAlgorithm,
} from 'ssh2';
import { classifyConnectError, describeTarget, type AuthAttempts, type ConnectTarget } from './connect-errors.ts';
import { ExecRun } from './exec-run.ts';
import { checkHostKey, preferredHostKeyTypes } from './host-key-policy.ts';
import { fingerprint } from './known-hosts.ts';
import { EndMark, frame, newMarkPrefix, READER_LINE } from './kept-shell.ts';
import { GroupKills, PidReportFilter, withPidReport } from './pid-marker.ts';
import { Slots } from './slots.ts';
import { sendStdin } from './stdin-pipe.ts';
import { HostKeyError, UnreachableError, type Connection, type ConnectionSpec, type ExecOptions, type ExecOutcome } from './transport.ts';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

/** OpenSSH's ServerAliveCountMax default: three unanswered keepalives and the connection is dead. */
const DEFAULT_KEEPALIVE_COUNT_MAX = 3;
/** How long close() waits for the server to acknowledge the disconnect before dropping the socket. */
const CLOSE_WAIT_MS = 3000;
/** Attempts to open a channel the server refused (50 ms, doubling: 1.55 s in all) before giving up. */
const CHANNEL_OPEN_RETRIES = 5;
/** How long a kill command may take before the next batch goes out anyway. */
const KILL_COMMAND_WAIT_MS = 5000;

/**
 * Handshakes in flight at once, across every host of the run. A handshake is mostly CPU, on both ends;
 * 500 hosts started at once on a 2-core controller each took over the 5 s connect limit and were
 * reported unreachable, though every host was fine. Past this many, a handshake waits for its turn, and
 * its time limit counts from its turn, so the limit measures the host and not the controller's queue.
 * Tests lower `limit` to see the queue at work.
 */
export const handshakeQueue = { limit: 64 };
let handshakeSlots: { limit: number; slots: Slots } | undefined;

function handshakeTurn(): Promise<(() => void) | undefined> {
  if (handshakeSlots?.limit !== handshakeQueue.limit) handshakeSlots = { limit: handshakeQueue.limit, slots: new Slots(handshakeQueue.limit) };
  return handshakeSlots.slots.acquire();
}

/**
 * Connects to one host over SSH (through `spec.jump` if set, itself connected the same way, so chains of
 * jump hosts work). Rejects with HostKeyError for host key problems, UnreachableError for everything
 * else about the host, and RangeError for settings no connection could use (a port of 0, no channels).
 */
export async function connectSsh(spec: ConnectionSpec): Promise<Connection> {
  return openSsh(spec);
}

/**
 * Whether a private key file is encrypted, so the CLI can ask for the passphrase before connecting.
 * Throws if the file cannot be read; a file that is not a key at all gives false (connecting reports it).
 */
export async function keyNeedsPassphrase(file: string): Promise<boolean> {
  const parsed = utils.parseKey(await readFile(file));
  return parsed instanceof Error && /no passphrase given/i.test(parsed.message);
}

async function openSsh(spec: ConnectionSpec): Promise<SshConnection> {
  checkSpec(spec);
  const jump = spec.jump ? await openSsh(spec.jump) : undefined;
  try {
    const client = await connectWithRetries(spec, jump);
    return new SshConnection(spec, client, jump);
  } catch (error) {
    await jump?.close();
    throw error;
  }
}

/** Numbers that would make ssh2 or the channel bound misbehave are refused before connecting. */
function checkSpec(spec: ConnectionSpec): void {
  const whole = (value: number, min: number, max = Number.MAX_SAFE_INTEGER): boolean => Number.isInteger(value) && value >= min && value <= max;
  const problems = [
    whole(spec.port, 1, 65535) ? undefined : `port ${spec.port} (must be 1-65535)`,
    whole(spec.maxChannels, 1) ? undefined : `maxChannels ${spec.maxChannels} (must be at least 1)`,
    whole(spec.connectRetries, 0) ? undefined : `connectRetries ${spec.connectRetries} (must be 0 or more)`,
    whole(spec.connectTimeoutMs, 1) ? undefined : `connectTimeoutMs ${spec.connectTimeoutMs} (must be at least 1)`,
    whole(spec.keepaliveIntervalMs, 0) ? undefined : `keepaliveIntervalMs ${spec.keepaliveIntervalMs} (must be 0 or more; 0 turns keepalives off)`,
  ].filter((problem): problem is string => problem !== undefined);
  if (problems.length > 0) throw new RangeError(`connection settings for ${spec.name} are invalid: ${problems.join(', ')}`);
}

/** A failed attempt, with whether another attempt may succeed. */
class AttemptError extends Error {
  constructor(
    readonly failure: UnreachableError,
    readonly transient: boolean,
    readonly retryWindowMs = 0,
  ) {
    super(failure.message);
  }
}

async function connectWithRetries(spec: ConnectionSpec, jump: SshConnection | undefined): Promise<SshClient> {
  const target = targetOf(spec);
  const auth = await authPlan(spec, target);
  const hostKeyAlgorithms = serverHostKeyOrder(await preferredHostKeyTypes(spec).catch(() => []));
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      spec.trace?.(
        `connect attempt ${attempt + 1}/${spec.connectRetries + 1}: ${spec.user}@${spec.address}:${spec.port}${jump ? ' through the jump host' : ''} (limit ${spec.connectTimeoutMs} ms)`,
      );
      // The TCP connection (or the tunnel) is made before the handshake's turn: a host that does not answer
      // at all then holds no turn while its connect limit runs out.
      const sock = jump ? await jump.tunnel(spec.address, spec.port) : await tcpConnect(spec);
      const release = await handshakeTurn();
      let client: SshClient;
      try {
        client = await handshake(spec, target, auth, hostKeyAlgorithms, sock);
      } finally {
        release?.();
      }
      spec.trace?.(
        `connected in ${Date.now() - started} ms; keepalive every ${spec.keepaliveIntervalMs} ms, dead after ${spec.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX} unanswered`,
      );
      return client;
    } catch (error) {
      const attemptError = error instanceof AttemptError ? error : asAttemptError(target, error, auth.attempts);
      spec.trace?.(`connect attempt ${attempt + 1} failed${attemptError.transient ? '' : ' (not retried)'}: ${attemptError.failure.message.split('\n')[0]}`);
      if (!attemptError.transient && attempt === 0) throw attemptError.failure;
      const withinWindow = Date.now() - started < attemptError.retryWindowMs;
      if (!attemptError.transient || (attempt >= spec.connectRetries && !withinWindow))
        throw withAttempts(attemptError.failure, attempt + 1, Date.now() - started);
      await delay(backoffMs(attempt));
    }
  }
}

/** A TCP connection to the host within its connect limit; failures carry Node's codes (ECONNREFUSED, ETIMEDOUT…). */
function tcpConnect(spec: ConnectionSpec): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: spec.address, port: spec.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect ETIMEDOUT ${spec.address}:${spec.port}`), { code: 'ETIMEDOUT' }));
    }, spec.connectTimeoutMs);
    // Until ssh2 takes the socket over (with its own error handler), an error must not go unhandled.
    socket.on('error', () => undefined);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

/** The last attempt's error, saying how many attempts were made and how long they took in all. */
function withAttempts(failure: UnreachableError, attempts: number, elapsedMs: number): UnreachableError {
  if (failure instanceof HostKeyError) return failure;
  const tries = `${attempts} connection attempt${attempts === 1 ? '' : 's'} in ${(elapsedMs / 1000).toFixed(1)} s`;
  return new UnreachableError(failure.host, `${failure.message} (${tries})`, failure.hint, failure.cause);
}

/** 250 ms, 500 ms, 1 s, 2 s…, capped at 4 s, with jitter so many hosts do not retry in lockstep. */
export function backoffMs(attempt: number, random: () => number = retryJitter.random): number {
  return Math.min(4000, 250 * 2 ** attempt) * (0.75 + random() / 2);
}

/**
 * Where the retry jitter comes from (a value in [0, 1) per pause). Tests replace `random` to make the
 * pauses exact and to count them, and put Math.random back afterwards.
 */
export const retryJitter: { random: () => number } = { random: Math.random };

function asAttemptError(target: ConnectTarget, error: unknown, auth: AuthAttempts): AttemptError {
  const { error: failure, transient, retryWindowMs } = classifyConnectError(target, error, auth);
  return new AttemptError(failure, transient, retryWindowMs);
}

function targetOf(spec: ConnectionSpec): ConnectTarget {
  return {
    name: spec.name,
    address: spec.address,
    port: spec.port,
    connectTimeoutMs: spec.connectTimeoutMs,
    ...(spec.jump ? { jumpName: spec.jump.name } : {}),
  };
}

interface AuthPlan {
  methods: AnyAuthMethod[];
  attempts: AuthAttempts;
}

/**
 * The authentication methods to offer, most specific first: the key named for this host, then whatever
 * ssh-agent holds, then the password. A key file that cannot be used is an error now, before any
 * connection, because no retry can fix it.
 */
async function authPlan(spec: ConnectionSpec, target: ConnectTarget): Promise<AuthPlan> {
  const who = describeTarget(target);
  const methods: AnyAuthMethod[] = [];
  const offered: string[] = [];
  const username = spec.user;
  if (spec.privateKeyFile) {
    const key = await readPrivateKey(spec, who, spec.privateKeyFile);
    methods.push({ type: 'publickey', username, key, ...(spec.passphrase ? { passphrase: spec.passphrase.reveal() } : {}) });
    offered.push(`key ${spec.privateKeyFile}`);
  }
  const agent = spec.agentSocket ?? process.env.SSH_AUTH_SOCK;
  if (agent) {
    methods.push({ type: 'agent', username, agent });
    offered.push(`ssh-agent at ${agent}`);
  }
  if (spec.password) {
    const password = spec.password.reveal();
    methods.push({ type: 'password', username, password });
    methods.push({
      type: 'keyboard-interactive',
      username,
      // Servers that take passwords through PAM ask for them this way.
      prompt: (_name: string, _instructions: string, _lang: string, prompts: Prompt[], finish: KeyboardInteractiveCallback) =>
        finish(prompts.map(() => password)),
    });
    offered.push('password');
  }
  if (methods.length === 0) {
    throw new UnreachableError(
      spec.name,
      `${who}: no way to log in as ${username}: no private key file, no ssh-agent ($SSH_AUTH_SOCK is not set) and no password`,
      'set ansible_ssh_private_key_file (or IdentityFile in ~/.ssh/config), start ssh-agent, or set ansible_password',
    );
  }
  return { methods, attempts: { user: username, offered } };
}

async function readPrivateKey(spec: ConnectionSpec, who: string, file: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UnreachableError(
      spec.name,
      `${who}: cannot read the private key ${file}: ${reason}`,
      'check the key in ansible_ssh_private_key_file (or IdentityFile in ~/.ssh/config)',
      error,
    );
  }
  const parsed = utils.parseKey(data, spec.passphrase?.reveal());
  if (!(parsed instanceof Error)) return data;
  if (/no passphrase given/i.test(parsed.message)) {
    throw new UnreachableError(
      spec.name,
      `${who}: the private key ${file} is encrypted and no passphrase was given`,
      'give its passphrase (drover asks for it when run on a terminal), or load the key into ssh-agent with ssh-add',
      parsed,
    );
  }
  if (/bad passphrase|integrity check failed/i.test(parsed.message)) {
    throw new UnreachableError(
      spec.name,
      `${who}: the passphrase for the private key ${file} is wrong`,
      'give the right passphrase, or load the key into ssh-agent with ssh-add',
      parsed,
    );
  }
  throw new UnreachableError(
    spec.name,
    `${who}: ${file} is not a private key drover can use: ${parsed.message}`,
    'check the key in ansible_ssh_private_key_file: it must be an OpenSSH, PEM or PuTTY private key',
    parsed,
  );
}

/** Host key algorithms drover's SSH library supports, in its default order of preference. */
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Puts the algorithms of key types already in known_hosts first, as OpenSSH does: a host recorded with
 * its RSA key is then asked for that key, and is not mistaken for unknown because it also has ed25519.
 */
function serverHostKeyOrder(recordedTypes: string[]): ServerHostKeyAlgorithm[] | undefined {
  if (recordedTypes.length === 0) return undefined;
  const algorithmsOf = (type: string): ServerHostKeyAlgorithm[] =>
    type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : HOST_KEY_ALGORITHMS.filter((name) => name === type);
  const preferred = recordedTypes.flatMap(algorithmsOf);
  return [...preferred, ...HOST_KEY_ALGORITHMS.filter((name) => !preferred.includes(name))];
}

/** One connection attempt: TCP (or the jump tunnel), handshake with host key check, authentication. */
function handshake(
  spec: ConnectionSpec,
  target: ConnectTarget,
  auth: AuthPlan,
  hostKeyAlgorithms: ServerHostKeyAlgorithm[] | undefined,
  sock: Duplex | undefined,
): Promise<SshClient> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let hostKeyError: HostKeyError | undefined;
    const queue = [...auth.methods];

    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      if (error === undefined) {
        resolve(client);
        return;
      }
      client.destroy();
      reject(hostKeyError ? new AttemptError(hostKeyError, false) : asAttemptError(target, error, auth.attempts));
    };

    client.on('error', (error: Error & { level?: string }) => {
      // An agent that cannot be reached or a key that cannot sign only rules that method out: ssh2 goes
      // on with the next one and reports the overall failure separately.
      if (error.level === 'agent') return;
      if (error.level === 'client-authentication' && !error.message.startsWith('All configured authentication methods failed')) return;
      settle(error);
    });
    client.once('ready', () => settle());
    client.once('close', () => settle(new Error('Connection lost before handshake')));

    const config: ConnectConfig = {
      host: spec.address,
      port: spec.port,
      username: spec.user,
      readyTimeout: spec.connectTimeoutMs,
      keepaliveInterval: spec.keepaliveIntervalMs,
      keepaliveCountMax: spec.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX,
      // -vvv: ssh2 tells its keepalives (and the server's answers) only through its debug hook.
      ...(spec.trace ? { debug: keepaliveTrace(spec.trace) } : {}),
      ...(sock ? { sock } : {}),
      ...(hostKeyAlgorithms ? { algorithms: { serverHostKey: hostKeyAlgorithms } } : {}),
      authHandler: (methodsLeft: AuthenticationType[] | null, _partialSuccess: boolean | null, next: NextAuthHandler) => {
        // methodsLeft is null before the server has said which methods it accepts.
        while (queue.length > 0) {
          const method = queue.shift() as AnyAuthMethod;
          const serverName: AuthenticationType = method.type === 'agent' ? 'publickey' : method.type;
          if (!Array.isArray(methodsLeft) || methodsLeft.includes(serverName)) return next(method);
        }
        // ssh2 takes `false` for "nothing left to try" (client.js doNextAuth); its typings omit it.
        return (next as unknown as (done: false) => void)(false);
      },
    };
    if (spec.hostKeyPolicy !== 'insecure-ignore') {
      config.hostVerifier = (key: Buffer, verify: (valid: boolean) => void) => {
        checkHostKey(spec, key).then(
          () => verify(true),
          (error: unknown) => {
            hostKeyError =
              error instanceof HostKeyError
                ? error
                : new HostKeyError(
                    spec.name,
                    `${describeTarget(target)}: could not check the host key against ${spec.knownHostsFiles.join(', ')}: ${error instanceof Error ? error.message : String(error)}`,
                    'check that the known_hosts files are readable (and their directory writable, for --accept-new-host-keys)',
                    fingerprint(key),
                  );
            verify(false);
          },
        );
      };
    }
    try {
      client.connect(config);
    } catch (error) {
      settle(error);
    }
  });
}

const NO_SIGNALS = { term: () => undefined, kill: () => undefined };

/** Settles when `promise` does or `signal` aborts, whichever comes first. */
function settledOrAborted(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void promise.then(done);
  });
}

class SshConnection implements Connection {
  readonly #client: SshClient;
  readonly #jump: SshConnection | undefined;
  readonly #slots: Slots;
  readonly #running = new Set<ExecRun>();
  readonly #kills = new GroupKills((line) => this.#runKill(line));
  readonly #socketClosed: Promise<void>;
  /** The shell kept open for probes (kept-shell.ts), once one is open. */
  #shell: KeptShell | undefined;
  /** While a kept shell is being opened: settles once it is open or has failed; probes wait for it (see `exec`). */
  #shellOpening: Promise<void> | undefined;
  /**
   * The server refused the kept shell's channel, or shells kept ending without being asked to (a login
   * that prints, a host that kills them): this connection uses `exec` alone.
   */
  #shellRefused = false;
  #shellsLost = 0;
  #lostReason: string | undefined;
  #lastError: string | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    readonly spec: ConnectionSpec,
    client: SshClient,
    jump: SshConnection | undefined,
  ) {
    this.#client = client;
    this.#jump = jump;
    this.#slots = new Slots(spec.maxChannels);
    client.setNoDelay(true);
    client.on('error', (error: Error) => {
      this.#lastError = error.message;
    });
    this.#socketClosed = new Promise((resolve) => {
      client.once('close', () => {
        const who = describeTarget(targetOf(spec));
        this.#lostReason = this.#closing
          ? `the connection to ${who} was closed`
          : `the connection to ${who} was lost${this.#lastError ? `: ${this.#describeLoss(this.#lastError)}` : ''}`;
        for (const run of this.#running) run.connectionLost(this.#lostReason);
        void this.#jump?.close();
        resolve();
      });
    });
  }

  /** ssh2 says only "Keepalive timeout"; the operator wants to know how long the host was silent, and the knobs. */
  #describeLoss(error: string): string {
    if (error !== 'Keepalive timeout') return error;
    const count = this.spec.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX;
    const seconds = this.spec.keepaliveIntervalMs / 1000;
    return `no answer to ${count} keepalives sent ${seconds} s apart (silent for ${(count + 1) * seconds} s; --keepalive-interval and --keepalive-count set this)`;
  }

  async exec(line: string, options: ExecOptions): Promise<ExecOutcome> {
    if (options.keptShell && !options.stdinStream && !(options.stdin && options.stdin.length > 0) && !options.stdoutSink) {
      // A probe waits for the shell, to open or to finish the probe before it, rather than take a channel
      // of its own: a channel costs the host an sshd session and a login shell, more than a probe's own
      // work, and a re-run's first probes of every host came while the shells were opening, or two at once
      // (three of eleven commands a host; issue 13). The wait is a wait for a slot: the time limit starts
      // after it, and an abort ends it.
      for (;;) {
        this.#openShell();
        if (this.#shellOpening) await settledOrAborted(this.#shellOpening, options.signal);
        const shell = this.#shell;
        // No shell, or one that is ending (stopped, or a straggler wrote to it): a channel of its own.
        if (!shell || shell.retired || options.signal?.aborted) break;
        if (shell.idle) {
          const outcome = await shell.run(line, options, (run) => this.#track(run));
          // The outcome would not be what a channel of its own gives (the reader died under the command, or
          // a signal may have ended it): the read-only command runs again alone.
          if (outcome !== RUN_ALONE) return outcome;
          break;
        }
        await settledOrAborted(shell.whenDone(), options.signal);
      }
    }
    const release = await this.#slots.acquire(options.signal);
    if (!release) return new ExecRun(options, NO_SIGNALS).abortedBeforeStart();
    try {
      return await this.#run(line, options);
    } finally {
      release();
    }
  }

  #run(line: string, options: ExecOptions): Promise<ExecOutcome> {
    let channel: ClientChannel | undefined;
    const pidReport = new PidReportFilter();
    // A stop can come before the command has reported its PID (a slow start); it is sent on arrival.
    let wanted: 'TERM' | 'KILL' | undefined;
    const signalGroup = (signal: 'TERM' | 'KILL'): void => {
      wanted = signal;
      if (pidReport.pid !== undefined) this.#kills.request(pidReport.pid, signal);
    };
    const run = new ExecRun(options, {
      term: () => signalGroup('TERM'),
      kill: () => {
        signalGroup('KILL');
        channel?.close();
      },
    });
    if (!this.#track(run)) return run.outcome;

    const attach = (opened: ClientChannel): void => {
      channel = opened;
      // The outcome is complete when the channel closed and both streams delivered everything they had.
      let pending = 3;
      const oneDone = (): void => {
        if (--pending === 0) run.finish();
      };
      // Write errors after the command has gone are of no interest: the outcome comes from exit and close.
      opened.on('error', () => undefined);
      opened.on('data', (chunk: Buffer) => run.stdout.push(chunk));
      opened.stderr.on('data', (chunk: Buffer) => {
        const known = pidReport.pid !== undefined;
        run.stderr.push(pidReport.push(chunk));
        if (!known && pidReport.pid !== undefined && wanted) this.#kills.request(pidReport.pid, wanted);
      });
      opened.on('exit', (code: number | null, signal?: string) => run.exited(code, signal));
      opened.once('end', oneDone);
      opened.stderr.once('end', () => {
        run.stderr.push(pidReport.flush());
        oneDone();
      });
      opened.once('close', oneDone);
      sendStdin(opened, options, () => opened.close(), run.outcome);
    };

    const open = (attempt: number): void => {
      try {
        this.#client.exec(withPidReport(line), (error, opened) => {
          if (!error) {
            if (run.settled) opened.close();
            else attach(opened);
            return;
          }
          if (this.#lostReason) return run.connectionLost(this.#lostReason);
          // sshd counts a session until it has cleaned it up, a moment after the channel closed: a new
          // channel opened in that moment can find MaxSessions still full. That passes; try again.
          if (/^\(SSH\) Channel open failure/.test(error.message) && attempt < CHANNEL_OPEN_RETRIES && !run.settled) {
            this.#giveWayToChannels();
            setTimeout(() => open(attempt + 1), 50 * 2 ** attempt);
            return;
          }
          run.failed(`${describeTarget(targetOf(this.spec))} refused a channel for the command: ${error.message}`);
        });
      } catch (error) {
        // ssh2 throws "Not connected" when the socket is already gone.
        const reason = error instanceof Error ? error.message : String(error);
        run.connectionLost(this.#lostReason ?? `the connection to ${describeTarget(targetOf(this.spec))} is gone: ${reason}`);
      }
    };
    open(0);
    return run.outcome;
  }

  /** Counts a command as running, so a lost connection ends it; false (and it is ended) if it already is lost. */
  #track(run: ExecRun): boolean {
    if (this.#lostReason) {
      run.connectionLost(this.#lostReason);
      return false;
    }
    this.#running.add(run);
    void run.outcome.then(() => this.#running.delete(run));
    return true;
  }

  /**
   * Starts opening the kept shell (kept-shell.ts) on a channel of its own, which holds one slot for as
   * long as it lives. Nothing happens while one is open or opening, when no slot is free now, or when the
   * connection has a single slot (the reader would hold it for ever).
   */
  #openShell(): void {
    if (this.#shell || this.#shellOpening || this.#shellRefused || this.#lostReason || this.spec.maxChannels < 2) return;
    const release = this.#slots.tryAcquire();
    if (!release) return;
    let settle = (): void => undefined;
    this.#shellOpening = new Promise<void>((resolve) => {
      settle = resolve;
    });
    // ssh2 may never answer a channel request on a connection that is going: the socket's end settles it.
    void this.#socketClosed.then(settle);
    const opened = (channel: ClientChannel | undefined): void => {
      this.#shellOpening = undefined;
      // Waiting probes resume after this function has set the shell (a promise's reactions run later).
      settle();
      if (!channel || this.#lostReason || this.#shellRefused) {
        channel?.close();
        release();
        // A refusal can pass (sshd still counts a session that just closed): it counts as a lost shell.
        if (!channel) this.#shellLost();
        return;
      }
      const shell = new KeptShell(channel, this.#kills, (asked) => {
        release();
        if (this.#shell === shell) this.#shell = undefined;
        if (!asked) this.#shellLost();
      });
      this.#shell = shell;
    };
    try {
      this.#client.exec(withPidReport(READER_LINE), (error, channel) => opened(error ? undefined : channel));
    } catch {
      opened(undefined);
    }
  }

  #shellLost(): void {
    if (++this.#shellsLost >= MAX_SHELLS_LOST) this.#shellRefused = true;
  }

  /**
   * The server refused a channel: it may allow fewer sessions than drover's bound (MaxSessions), and the
   * kept shell holds one. An idle kept shell gives its session back, and none is opened again here.
   */
  #giveWayToChannels(): void {
    this.#shellRefused = true;
    this.#shell?.endIfIdle();
  }

  /**
   * Runs a kill line (pid-marker.ts) on a channel of its own. It does not wait for a slot: the channel
   * bound leaves room below MaxSessions for these short commands, which GroupKills sends one at a time.
   */
  #runKill(line: string): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, KILL_COMMAND_WAIT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const open = (attempt: number): void => {
        try {
          this.#client.exec(line, (error, killer) => {
            if (error) {
              // Refused (MaxSessions): an idle kept shell gives its session back, and the kill tries again.
              if (!/^\(SSH\) Channel open failure/.test(error.message) || attempt >= CHANNEL_OPEN_RETRIES) return done();
              this.#giveWayToChannels();
              setTimeout(() => open(attempt + 1), 50 * 2 ** attempt);
              return;
            }
            killer.on('error', () => undefined);
            killer.once('close', done);
            killer.resume();
            killer.stderr.resume();
            killer.end();
          });
        } catch {
          // The connection is gone, and the command with it.
          done();
        }
      };
      open(0);
    });
  }

  /** A byte stream to `address:port` as seen from this host (a direct-tcpip channel), for a jump. */
  tunnel(address: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      try {
        this.#client.forwardOut('127.0.0.1', 0, address, port, (error, stream) => (error ? reject(error) : resolve(stream)));
      } catch (error) {
        reject(error);
      }
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#client.end();
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([
        this.#socketClosed.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CLOSE_WAIT_MS))),
      ]);
      clearTimeout(timer);
      if (gaveUp) this.#client.destroy();
      await this.#jump?.close();
    })();
    return this.#closing;
  }
}

/** What KeptShell.run answers when the command must go to a channel of its own after all. */
const RUN_ALONE = Symbol('run alone');
/**
 * Exit statuses a shell also gives a command killed by a signal (128 + the signal's number): on a
 * channel of its own the outcome would say which signal, and no shell can tell `exit 137` from KILL.
 */
const SIGNAL_STATUSES = { min: 129, max: 192 };
/** Kept shells that may end unasked on one connection before it stops opening them. */
const MAX_SHELLS_LOST = 3;

interface ShellCommand {
  run: ExecRun;
  stdoutEnd: EndMark;
  stderrEnd: EndMark;
  runAlone: () => void;
}

/**
 * One reader of kept-shell.ts on its channel: runs one command at a time, splits each command's output
 * off at its end marks, and signals the reader's process group to stop a command (which ends the reader:
 * it is not used again). `onEnd` runs once the channel has closed, told whether a stop ended it.
 */
class KeptShell {
  readonly #markPrefix = newMarkPrefix();
  #commands = 0;
  readonly #pidReport = new PidReportFilter();
  #wanted: 'TERM' | 'KILL' | undefined;
  #current: ShellCommand | undefined;
  /** No more commands: a stop was asked for, output came between commands, or the channel ended. */
  #retired = false;
  #exitSignal: string | undefined;
  /** Ended by a stop, or given back by drover (endIfIdle): not lost to the host or to a straggler. */
  #asked = false;
  /** Probes waiting for the command running now to end (see SshConnection.exec). */
  #doneWaiters: Array<() => void> = [];

  constructor(
    readonly channel: ClientChannel,
    readonly kills: GroupKills,
    onEnd: (asked: boolean) => void,
  ) {
    channel.on('error', () => undefined);
    channel.on('data', (chunk: Buffer) => {
      const current = this.#current;
      if (!current || current.stdoutEnd.found) return this.#straggler(chunk);
      current.run.stdout.push(current.stdoutEnd.push(chunk));
      this.#endIfComplete();
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      const known = this.#pidReport.pid !== undefined;
      const bytes = this.#pidReport.push(chunk);
      if (!known && this.#pidReport.pid !== undefined && this.#wanted) this.kills.request(this.#pidReport.pid, this.#wanted);
      const current = this.#current;
      if (!current || current.stderrEnd.found) return this.#straggler(bytes);
      current.run.stderr.push(current.stderrEnd.push(bytes));
      this.#endIfComplete();
    });
    channel.on('exit', (_code: number | null, signal?: string) => {
      if (signal) this.#exitSignal = signal;
    });
    channel.once('close', () => {
      this.#retired = true;
      const current = this.#current;
      this.#current = undefined;
      onEnd(this.#asked);
      this.#wakeWaiters();
      if (!current || current.run.settled) return;
      if (current.run.stopping) {
        current.run.exited(null, this.#exitSignal);
        current.run.finish();
      } else {
        current.runAlone();
        current.run.finish();
      }
    });
  }

  get idle(): boolean {
    return !this.#retired && this.#current === undefined;
  }

  /** Whether the shell takes no more commands (it is ending). */
  get retired(): boolean {
    return this.#retired;
  }

  /** Settles when the command running now has ended (at once when none runs). */
  whenDone(): Promise<void> {
    if (this.#current === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#doneWaiters.push(resolve));
  }

  #wakeWaiters(): void {
    const waiters = this.#doneWaiters;
    this.#doneWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Runs one line in the reader; `track` counts it among the connection's running commands. */
  run(line: string, options: ExecOptions, track: (run: ExecRun) => boolean): Promise<ExecOutcome | typeof RUN_ALONE> {
    const mark = `${this.#markPrefix}${this.#commands + 1}`;
    let text: string;
    try {
      text = frame(line, mark);
    } catch {
      // A line no shell can carry (a NUL): its own channel gives the error an exec gives.
      return Promise.resolve(RUN_ALONE);
    }
    this.#commands++;
    const run = new ExecRun(options, {
      term: () => this.#signal('TERM'),
      kill: () => {
        this.#signal('KILL');
        this.channel.close();
      },
    });
    if (options.signal?.aborted) return run.abortedBeforeStart();
    if (!track(run)) return run.outcome;
    const stdoutEnd = new EndMark(mark, true);
    const stderrEnd = new EndMark(mark, false);
    // However the command ends without its marks (stopped, connection lost), what was held back is its own.
    run.beforeFinish = () => {
      run.stdout.push(stdoutEnd.flush());
      run.stderr.push(stderrEnd.flush());
    };
    return new Promise((resolve) => {
      this.#current = { run, stdoutEnd, stderrEnd, runAlone: () => resolve(RUN_ALONE) };
      void run.outcome.then(resolve);
      this.channel.write(text);
    });
  }

  #endIfComplete(): void {
    const current = this.#current;
    if (!current?.stdoutEnd.found || !current.stderrEnd.found) return;
    this.#current = undefined;
    const status = current.stdoutEnd.status ?? null;
    if (status !== null && status >= SIGNAL_STATUSES.min && status <= SIGNAL_STATUSES.max) current.runAlone();
    current.run.exited(status);
    current.run.finish();
    if (this.#retired) this.channel.end();
    this.#wakeWaiters();
  }

  /** Ends the shell if no command runs in it (it gives its session back to the server). */
  endIfIdle(): void {
    this.#retired = true;
    if (this.#current) return;
    this.#asked = true;
    this.channel.end();
  }

  /** Output outside any command: something a command left running writes to the shared streams (counted as lost). */
  #straggler(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#retired = true;
    if (!this.#current) this.channel.end();
  }

  /** A stop reaches the reader's whole process group, and so ends the reader too. */
  #signal(signal: 'TERM' | 'KILL'): void {
    this.#retired = true;
    this.#asked = true;
    this.#wanted = signal;
    if (this.#pidReport.pid !== undefined) this.kills.request(this.#pidReport.pid, signal);
  }
}

/** Keeps, of ssh2's debug lines, the keepalives sent and the global-request answers that follow them. */
function keepaliveTrace(trace: (message: string) => void): (message: string) => void {
  return (message) => {
    if (/keepalive@openssh\.com/.test(message)) trace('keepalive sent');
    else if (/Inbound: (REQUEST_SUCCESS|Received REQUEST_FAILURE)/.test(message)) trace('keepalive answered');
  };
}
