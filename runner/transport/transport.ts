/**
 * The transport is deliberately small: connect, exec, close. The runner renders commands (see
 * runner/command.ts) and hands the transport a finished line and stdin bytes; the transport knows nothing
 * of modules, check mode or secrets beyond not logging what it is given.
 *
 * Only runner/transport/ssh.ts imports ssh2.
 */
import type { Readable } from 'node:stream';
import type { Secret } from '../secret.ts';
import type { OutputBudget } from './output-budget.ts';

/** How to reach one host. Built by the runner from inventory variables and ~/.ssh/config. */
export interface ConnectionSpec {
  /** The inventory name of the host, used in every message. */
  name: string;
  /** -vvv: told each connection attempt, its outcome, and each keepalive and its answer. */
  trace?: (message: string) => void;
  /** Address to connect to (ansible_host, or HostName from ~/.ssh/config, or the name). */
  address: string;
  port: number;
  user: string;
  /** `local` runs commands on the controller with /bin/sh, no SSH (ansible_connection=local). */
  kind: 'ssh' | 'local';
  privateKeyFile?: string;
  /** Passphrase of the private key file. */
  passphrase?: Secret;
  password?: Secret;
  /** Use ssh-agent at this socket (default: $SSH_AUTH_SOCK when set). */
  agentSocket?: string;
  /** known_hosts files to verify against; default ~/.ssh/known_hosts. */
  knownHostsFiles: string[];
  /**
   * strict: unknown or changed key refuses the host (OpenSSH's StrictHostKeyChecking=yes).
   * accept-new: an unknown key is recorded in the first known_hosts file; a changed key is still refused.
   * insecure-ignore: no check at all (only with the loudly named CLI flag).
   * "Changed" means a different key of the same type is recorded for the host; a host recorded only with
   * keys of other types is "unknown", as in OpenSSH (the handshake asks for a recorded type first, so
   * this happens only when the host no longer offers any of them). `@revoked` keys are always refused.
   */
  hostKeyPolicy: 'strict' | 'accept-new' | 'insecure-ignore';
  /** A bastion to tunnel through (ProxyJump): its own spec, itself verified. */
  jump?: ConnectionSpec;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** Unanswered keepalives before the connection counts as lost (default 3, as OpenSSH's ServerAliveCountMax). */
  keepaliveCountMax?: number;
  /** Extra connect attempts after the first, for transient failures (refused, reset, timeout). */
  connectRetries: number;
  /** Most channels open at once on the connection (below OpenSSH's default MaxSessions 10). */
  maxChannels: number;
}

export interface ExecOptions {
  stdin?: Buffer;
  /** More stdin after `stdin`, piped with flow control (large content is never held whole per host). */
  stdinStream?: () => Readable;
  /**
   * Stop the command after this long, counted from when it gets a channel (not while it waits for one):
   * TERM to the command's process group, KILL a second later, then the channel is closed.
   * Infinity means no limit.
   */
  timeoutMs: number;
  /** Aborting stops the command the same way as a timeout; aborting before it starts never sends it. */
  signal?: AbortSignal;
  /** Most bytes kept of stdout and of stderr each (default 64 MiB); the rest is dropped and the text says so. */
  maxOutputBytes?: number;
  /** The run's cap on output held at once across all commands (--max-output), shared by every stream. */
  outputBudget?: OutputBudget;
  /** Each chunk of stdout goes here instead of being kept (fetch streams a file to the controller); the outcome's stdout is then empty. */
  stdoutSink?: (chunk: Buffer) => void;
  /**
   * The command only reads and leaves nothing running (the runner's probes): the SSH transport may run it
   * in the shell it keeps open on the connection instead of a channel of its own (kept-shell.ts). A
   * command with stdin or a stdoutSink always gets its own channel.
   */
  keptShell?: boolean;
}

/** What happened to one command. A failed command is a value of the same shape as a successful one. */
export interface ExecOutcome {
  /** null when the command was killed by a signal, timed out, or the connection was lost. */
  exitCode: number | null;
  /** The signal that ended it, if any, without the SIG prefix (e.g. 'TERM'). */
  signal?: string;
  stdout: string;
  stderr: string;
  /** Bytes counted and not kept, per stream, when a limit cut the output (the texts end with a note). */
  outputDropped?: { stdout: number; stderr: number };
  timedOut: boolean;
  aborted: boolean;
  /** The connection dropped while the command ran: the host is unreachable, not failed. */
  connectionLost: boolean;
  durationMs: number;
  /** Why the transport could not run or finish the command (channel refused, connection lost), for messages. */
  transportError?: string;
}

/** An open connection to one host, reused by every task of a run. */
export interface Connection {
  readonly spec: ConnectionSpec;
  exec(line: string, options: ExecOptions): Promise<ExecOutcome>;
  /** Idempotent; waits for the socket to close. */
  close(): Promise<void>;
}

/** The host could not be reached or refused us: distinct from a task failing on it. */
export class UnreachableError extends Error {
  constructor(
    readonly host: string,
    message: string,
    /** What the operator can do about it. */
    readonly hint?: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/** A host key was unknown (under strict checking) or changed: never retried. */
export class HostKeyError extends UnreachableError {
  constructor(
    host: string,
    message: string,
    hint: string,
    /** SHA256 fingerprint of the key the host offered, OpenSSH style (`SHA256:…`). */
    readonly fingerprint: string,
  ) {
    super(host, message, hint);
    this.name = 'HostKeyError';
  }
}
