/**
 * A real OpenSSH server for tests: `/usr/sbin/sshd -D -e -f CONFIG` on 127.0.0.1 and a free port, with
 * its own generated host key and its own authorized_keys, torn down (with every session it forked)
 * by `stop()`. Needs root (sshd's privilege separation) and the openssh-server and openssh-client
 * packages (sshd, ssh-keygen, ssh-agent, ssh-add).
 *
 * Also here: key generation, counting the TCP connections a server has, and a throwaway Unix user for
 * password authentication tests.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onPath } from '../../lab/preflight.ts';

const run = promisify(execFile);

export const SSHD = '/usr/sbin/sshd';

export interface KeyPair {
  privateKeyFile: string;
  /** The public key line, `type base64 comment`. */
  publicKey: string;
  type: string;
  /** The base64 blob of the public key. */
  blob: string;
}

/** Generates a key with ssh-keygen (ed25519 unless told otherwise), optionally encrypted. */
export async function generateKey(dir: string, name: string, options: { type?: 'ed25519' | 'rsa' | 'ecdsa'; passphrase?: string } = {}): Promise<KeyPair> {
  const privateKeyFile = join(dir, name);
  const args = ['-q', '-t', options.type ?? 'ed25519', '-N', options.passphrase ?? '', '-C', `drover-test-${name}`, '-f', privateKeyFile];
  if (options.type === 'rsa') args.push('-b', '2048');
  await run('ssh-keygen', args);
  const publicKey = (await readFile(`${privateKeyFile}.pub`, 'utf8')).trim();
  const [type = '', blob = ''] = publicKey.split(' ');
  return { privateKeyFile, publicKey, type, blob };
}

export interface SshdOptions {
  /** OpenSSH's MaxSessions; default 10, OpenSSH's own default. */
  maxSessions?: number;
  /** Public key lines allowed to log in (any user); default: one generated client key. */
  authorizedKeys?: string[];
  passwordAuthentication?: boolean;
  /** sshd LogLevel; default VERBOSE (logs each accepted login). DEBUG1 also logs forwarded channels. */
  logLevel?: string;
}

export interface TestSshd {
  readonly address: '127.0.0.1';
  readonly port: number;
  /** The listening sshd's PID (SIGSTOP it to make a server that accepts TCP but never answers). */
  readonly pid: number;
  /** A private temporary directory holding the config, keys and anything a test puts there. */
  readonly dir: string;
  readonly hostKey: KeyPair;
  /** A generated client key in authorized_keys (absent when `authorizedKeys` was given). */
  readonly clientKey: KeyPair | undefined;
  /** The known_hosts line for this server, as OpenSSH writes it: `[127.0.0.1]:PORT type base64`. */
  knownHostsLine(): string;
  /** Everything sshd logged so far. */
  log(): string;
  /** Kills every session process (the forked per-connection sshd and its children), keeping the listener. */
  killSessions(): Promise<void>;
  /** Sends a signal to every session process: SIGSTOP freezes connections without closing them. */
  signalSessions(signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/** Programs the sshd fixture and the suites using it run on the controller, and the package of each. */
const SSHD_PROGRAMS: ReadonlyArray<readonly [program: string, debianPackage: string]> = [
  [SSHD, 'openssh-server'],
  ['ssh-keygen', 'openssh-client'],
  ['ssh-agent', 'openssh-client'],
  ['ssh-add', 'openssh-client'],
];

/** Why the real-sshd suites cannot run here, or undefined when they can. */
export function sshdUnavailableReason(): string | undefined {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('sshd needs root (privilege separation)');
  const missing = SSHD_PROGRAMS.filter(([program]) => (program.startsWith('/') ? !existsSync(program) : !onPath(program)));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    problems.push(`missing ${missing.map(([program]) => program).join(', ')}: run \`bash .ci/lab-prereqs.sh\` (apt-get install ${packages})`);
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

let sshdSkipAnnounced = false;

/**
 * A mocha `describe` for suites that start their own sshd. Outside CI a machine without root or OpenSSH
 * skips them, saying once what to install; under CI=true they run, and fail with startSshd's message.
 */
export function describeWithSshd(title: string, body: (this: Mocha.Suite) => void): void {
  const reason = sshdUnavailableReason();
  if (reason === undefined || process.env.CI === 'true') {
    describe(title, body);
    return;
  }
  if (!sshdSkipAnnounced) console.log(`  real-sshd tests skipped: ${reason}`);
  sshdSkipAnnounced = true;
  describe.skip(title, body);
}

/** Starts an sshd of its own; retries with another port if the chosen one was taken meanwhile. */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (apt-get install -y openssh-server openssh-client)`);
  if (process.getuid?.() !== 0) throw new Error('the sshd test fixture needs root (sshd privilege separation)');
  // sshd refuses to start without its privilege separation directory, which the package's unit creates.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = await mkdtemp(join(tmpdir(), 'drover-sshd-'));
  await chmod(dir, 0o700);
  const hostKey = await generateKey(dir, 'host_ed25519_key');
  const clientKey = options.authorizedKeys ? undefined : await generateKey(dir, 'client_ed25519_key');
  const authorized = options.authorizedKeys ?? [clientKey?.publicKey ?? ''];
  await writeFile(join(dir, 'authorized_keys'), `${authorized.join('\n')}\n`, { mode: 0o600 });

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    await writeFile(config, sshdConfig(dir, port, options), { mode: 0o600 });
    try {
      return await launch(dir, port, config, hostKey, clientKey);
    } catch (error) {
      lastError = error;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

function sshdConfig(dir: string, port: number, options: SshdOptions): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519_key')}`,
    'PidFile none',
    'UsePAM no',
    // The files live under /tmp, which StrictModes would reject as world-writable.
    'StrictModes no',
    `MaxSessions ${options.maxSessions ?? 10}`,
    'PermitRootLogin yes',
    'PubkeyAuthentication yes',
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PasswordAuthentication ${options.passwordAuthentication ? 'yes' : 'no'}`,
    'KbdInteractiveAuthentication no',
    'AllowTcpForwarding yes',
    'PrintMotd no',
    // bash sources ~/.bashrc for sshd sessions only at the top shell level (SHLVL unset). This machine's
    // root ~/.bashrc runs `pyenv init`, whose rehash lock is left behind when a test kills a session
    // mid-startup, making every later session wait 60 s; the tests are about drover, not root's dotfiles.
    'SetEnv SHLVL=1',
    `LogLevel ${options.logLevel ?? 'VERBOSE'}`,
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

async function launch(dir: string, port: number, config: string, hostKey: KeyPair, clientKey: KeyPair | undefined): Promise<TestSshd> {
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (log += text));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`sshd did not start listening within 10 s:\n${log}`)), 10_000);
    const onData = (): void => {
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) done();
    };
    const onExit = (): void => done(new Error(`sshd exited at start:\n${log}`));
    function done(error?: Error): void {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    }
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });

  const pid = child.pid as number;
  let stopped = false;
  return {
    address: '127.0.0.1',
    port,
    pid,
    dir,
    hostKey,
    clientKey,
    knownHostsLine: () => `[127.0.0.1]:${port} ${hostKey.type} ${hostKey.blob}`,
    log: () => log,
    killSessions: async () => killAll(await descendantPids(pid), 'SIGKILL'),
    signalSessions: async (signal) => killAll(await descendantPids(pid), signal),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // Sessions are forked children that outlive the listener: collect them before it goes.
      const sessions = await descendantPids(pid);
      // A listener stopped with SIGSTOP must run again to act on SIGTERM.
      killAll([pid], 'SIGCONT');
      stopChild(child);
      killAll(sessions, 'SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Every process below `pid`, from /proc (children, grandchildren, …). */
export async function descendantPids(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name in parentheses may contain spaces: fields resume after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = parents.get(ppid) ?? [];
    siblings.push(Number(entry));
    parents.set(ppid, siblings);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const childPid of parents.get(queue.shift() as number) ?? []) {
      found.push(childPid);
      queue.push(childPid);
    }
  }
  return found;
}

/** Established TCP connections whose local end is 127.0.0.1:`port` (server side), from /proc/net/tcp. */
export async function establishedConnections(port: number): Promise<number> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table
    .split('\n')
    .slice(1)
    .filter((row) => {
      const fields = row.trim().split(/\s+/);
      return fields[1] === local && fields[3] === '01';
    }).length;
}

/** A port that was free a moment ago on 127.0.0.1 (nothing listens there: connecting is refused). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Creates a Unix user with a password for password-authentication tests (home /tmp, shell /bin/sh,
 * no home directory created); the returned function deletes it again. A user left over by a crashed
 * run is reused and its password reset.
 */
export async function withTestUser(name: string, password: string): Promise<() => Promise<void>> {
  const exists = await run('getent', ['passwd', name]).then(
    () => true,
    () => false,
  );
  if (!exists) await run('useradd', ['--no-create-home', '--home-dir', '/tmp', '--shell', '/bin/sh', name]);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('chpasswd', [], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`chpasswd failed: ${stderr}`))));
    child.stdin?.end(`${name}:${password}\n`);
  });
  return async () => {
    await run('userdel', [name]).catch(() => undefined);
  };
}
