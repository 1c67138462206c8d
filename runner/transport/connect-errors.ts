/**
 * Turns what went wrong while connecting into an UnreachableError an operator can act on (the host,
 * its address, what happened, what to check), and says whether trying again may help. Transient:
 * refused, reset, timed out, unreachable, dropped before the handshake (sshd's MaxStartups throttling
 * when many hosts connect at once looks like that). Never transient: authentication, host keys, names
 * that do not resolve, protocol disagreements — retrying those only delays the same answer.
 */
import { UnreachableError } from './transport.ts';

export interface ConnectFailure {
  error: UnreachableError;
  transient: boolean;
  /**
   * How long, from the first attempt, this failure is worth retrying whatever the attempt count. A drop
   * before the handshake means an sshd is there but throttling (MaxStartups) or restarting: it answers
   * again within seconds, so a few quick counted attempts (under a second in all) give up too early.
   */
  retryWindowMs?: number;
}

/** See ConnectFailure.retryWindowMs: long enough for an sshd restart, short against a host that stays down. */
export const DROPPED_RETRY_WINDOW_MS = 10_000;

/** Who is being reached, for messages: `node1 (10.0.0.5:22)`, or `… via bastion (…)` through a jump host. */
export interface ConnectTarget {
  name: string;
  address: string;
  port: number;
  jumpName?: string;
  connectTimeoutMs: number;
}

/** Details of a failed authentication, for its hint. */
export interface AuthAttempts {
  user: string;
  /** What was offered, e.g. ['key /root/.ssh/id_ed25519', 'ssh-agent at /tmp/agent.sock', 'password']. */
  offered: string[];
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

export function describeTarget(target: ConnectTarget): string {
  const via = target.jumpName ? ` via jump host ${target.jumpName}` : '';
  return `${target.name} (${target.address}:${target.port}${via})`;
}

/** Classifies an error from the SSH library or the socket. */
export function classifyConnectError(target: ConnectTarget, cause: unknown, auth: AuthAttempts): ConnectFailure {
  const who = describeTarget(target);
  const code = errorCode(cause);
  const message = cause instanceof Error ? cause.message : String(cause);
  const fail = (what: string, hint: string, transient: boolean, retryWindowMs?: number): ConnectFailure => ({
    error: new UnreachableError(target.name, `${who}: ${what}`, hint, cause),
    transient,
    ...(retryWindowMs === undefined ? {} : { retryWindowMs }),
  });

  if (message.startsWith('All configured authentication methods failed')) {
    const offered = auth.offered.length > 0 ? auth.offered.join(', ') : 'nothing';
    return fail(
      `authentication as ${auth.user} failed (offered: ${offered})`,
      `check the user (ansible_user), the key in ansible_ssh_private_key_file and that its public key is in ` +
        `~${auth.user}/.ssh/authorized_keys on the host, or the password (ansible_password)`,
      false,
    );
  }
  if (/too many authentication failures/i.test(message)) {
    return fail(
      `the server ended the login after too many failed attempts (offered: ${auth.offered.join(', ') || 'nothing'})`,
      'ssh-agent may hold more keys than sshd allows attempts (MaxAuthTries): give the right key in ansible_ssh_private_key_file, or remove keys from the agent',
      false,
    );
  }
  if (code === 'ECONNREFUSED' || /Channel open failure: Connection refused/.test(message)) {
    return fail('connection refused', `nothing listens on port ${target.port}: is sshd running there, and is the port (ansible_port / Port) right?`, true);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return fail(`the name ${target.address} does not resolve`, 'check ansible_host, or HostName in ~/.ssh/config', false);
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return fail('no route to the host', 'check the address and that the host is up and on a network this controller reaches', true);
  }
  if (code === 'ETIMEDOUT' || /Timed out while waiting for handshake/.test(message)) {
    return fail(
      `no SSH handshake within ${target.connectTimeoutMs} ms`,
      'check the address, that the host is up, and firewalls; for slow links raise --connect-timeout (or drover_connect_timeout in the inventory)',
      true,
    );
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /Connection lost before handshake/.test(message)) {
    return fail(
      'the connection was dropped before the SSH handshake',
      "sshd may be throttling new connections (MaxStartups) or a firewall cuts them; check sshd's log on the host",
      true,
      DROPPED_RETRY_WINDOW_MS,
    );
  }
  if (/Channel open failure/.test(message)) {
    return fail(
      `the jump host could not open a tunnel: ${message.replace(/^\(SSH\) /, '')}`,
      'check that the jump host may forward TCP (AllowTcpForwarding) and reaches this address and port',
      TRANSIENT_CODES.has(code ?? ''),
    );
  }
  if (/Handshake failed|no matching/i.test(message)) {
    return fail(`no common SSH algorithms: ${message}`, 'the server offers only algorithms drover does not support; check its sshd_config', false);
  }
  return fail(message || 'the connection failed', 'check that the host runs an SSH server on this address and port', TRANSIENT_CODES.has(code ?? ''));
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}
