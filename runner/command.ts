/**
 * Commands are data. A module returns `Command` values; only this file turns them into the one line a
 * remote shell runs, and only `shellQuote` quotes. Nothing else in drover glues shell text from strings.
 *
 * Every script runs under `set -eu` (and `pipefail` where the shell has it). Secrets never appear in the
 * line: a Secret interpolated into a script becomes a reference to a shell variable that the script
 * reads from its stdin first, so it is absent from the terminal, the audit log and the shell's own
 * `/proc/PID/cmdline` by construction. What the script then does with the variable is its own affair:
 * a builtin (`export`, `printf`, `test`, a redirection) keeps it inside the shell, but an external
 * program given it as an argument has it on its own argument list, readable by every user of the host
 * (`ps`, `/proc/PID/cmdline`). That is why an argv command refuses a Secret (see argvScript): it would
 * always be such an argument.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Secret } from './secret.ts';

/** A value that can be interpolated into a script: quoted as one word, or, for a Secret, read from stdin. */
export type ShellValue = string | number | Secret;

/** A script fragment built by the `sh` tag: its text (quoted values only) plus the secrets it refers to. */
export class Script {
  constructor(
    readonly text: string,
    readonly secrets: ReadonlyMap<string, Secret> = new Map(),
  ) {}

  /** Joins fragments with a separator, keeping every fragment's secrets. */
  static join(parts: Script[], separator = '\n'): Script {
    const secrets = new Map<string, Secret>();
    for (const part of parts) for (const [name, value] of part.secrets) secrets.set(name, value);
    return new Script(parts.map((part) => part.text).join(separator), secrets);
  }
}

let secretCounter = 0;

/** Marks text as already-safe shell syntax inside an `sh` template (e.g. a quoted list built by `shList`). */
export class RawShell {
  constructor(readonly text: string) {}
}

/**
 * Tagged template for scripts: `sh\`sysctl -w ${key}=${value}\``. Every interpolated value is quoted as
 * a single word; a Secret becomes `"$DROVER_SECRET_N"`; a Script or RawShell is inserted as it is; an
 * array is quoted word by word and joined with spaces.
 */
export function sh(strings: TemplateStringsArray, ...values: Array<ShellValue | Script | RawShell | ShellValue[]>): Script {
  let text = strings[0] ?? '';
  const secrets = new Map<string, Secret>();
  values.forEach((value, index) => {
    text += renderValue(value, secrets) + (strings[index + 1] ?? '');
  });
  return new Script(text, secrets);
}

function renderValue(value: ShellValue | Script | RawShell | ShellValue[], secrets: Map<string, Secret>): string {
  if (value instanceof Script) {
    for (const [name, item] of value.secrets) secrets.set(name, item);
    return value.text;
  }
  if (value instanceof RawShell) return value.text;
  if (Array.isArray(value)) return value.map((item) => renderValue(item, secrets)).join(' ');
  if (value instanceof Secret) {
    for (const [name, known] of secrets) if (known === value) return `"$${name}"`;
    const name = `DROVER_SECRET_${++secretCounter}`;
    secrets.set(name, value);
    return `"$${name}"`;
  }
  return shellQuote(String(value));
}

/**
 * Quotes a string as one POSIX shell word. Single quotes make everything literal (`$()`, backticks,
 * globs, newlines); a single quote itself is closed, escaped and reopened. NUL cannot be passed through
 * a shell at all, so it is refused rather than silently truncated.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0'))
    throw new InvalidShellValueError(`a value contains a NUL byte, which no shell command can carry: ${JSON.stringify(value.slice(0, 60))}`);
  if (value !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A value no shell command can carry (a NUL, a bad variable name); the message names which value. */
export class InvalidShellValueError extends Error {
  readonly hint = 'change the value the message names: no shell command can carry it as it is';
  constructor(problem: string) {
    super(problem);
    this.name = 'InvalidShellValueError';
  }
}

/** Who to become on the target (sudo). */
export interface Become {
  /** The user to run as; default root. */
  user?: string;
  /** sudo password; without one, sudo runs non-interactively (`sudo -n`) and fails if it would ask. */
  password?: Secret;
}

/**
 * Stdin too large to hold once per host (a big file's content): each command opens its own stream of one
 * shared source (see content-source.ts), and the transport pipes it with flow control.
 */
export interface StreamedStdin {
  /** Bytes the stream will give. */
  readonly size: number;
  open(): Readable;
}

/** One command for the runner to execute. */
export interface Command {
  /** What runs: a script from the `sh` tag (run by /bin/sh under set -eu) or an argv (no shell expansion). */
  run: Script | { argv: ShellValue[] };
  /** Data written to the command's stdin after any secrets (file contents travel this way, never in argv). */
  stdin?: string | Buffer | Secret | StreamedStdin;
  /** Environment variables, exported by the script prelude (SSH servers usually refuse `env` requests). */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Per-command time limit; the runner applies a default when unset. */
  timeoutMs?: number;
  /**
   * A read-only command (a probe) may run in check mode. Changing commands must leave this unset: the
   * runner never sends them in check mode.
   */
  readOnly?: boolean;
  /** A short human description shown in check mode ("write /etc/sysctl.d/k8s.conf"). */
  description?: string;
  /** A command to run after this one fails, whose output is added to the error (e.g. a unit's journal). */
  diagnose?: Script;
  /** Exit codes that count as success; default [0]. */
  okExitCodes?: number[];
  /**
   * The command's stdout is a file's bytes to store on the controller (fetch): the runner streams it to a
   * temporary file beside `path`, checks its sha256, and only then renames it into place.
   */
  stdoutTo?: { path: string; sha256: string; mode: number };
  /**
   * The command reboots the host (the reboot module): once it has run, the runner waits for the host to go
   * down and come back with a boot id other than `bootId`, within `timeoutMs`, and reconnects the host's
   * session; the play goes on over the new connection. A connection dropped by the reboot itself is not
   * a failure. A host that does not come back in time is unreachable, with the time waited in the message.
   */
  reboot?: RebootWait;
}

/** What the runner waits for after a rebooting command (see Command.reboot). */
export interface RebootWait {
  /** /proc/sys/kernel/random/boot_id before the reboot. */
  bootId: string;
  /** The bound on going down and coming back, from the moment the command returned. */
  timeoutMs: number;
}

/** What goes over the wire: the line for the remote shell and the bytes for stdin. */
export interface RenderedCommand {
  /** The exact line executed by the target's login shell. Contains no secret. */
  line: string;
  /** Stdin: become password (if any), then a marker, then secrets one per line, then the data. */
  stdin: Buffer;
  /** Streamed after `stdin` when the command's data is a StreamedStdin (never held whole per host). */
  stdinStream?: StreamedStdin;
  /** The script body alone, for people (terminal, check-mode listing). Contains no secret. */
  display: string;
  /** Whether sudo is given a password on stdin (so a refusal can be told from the command failing). */
  sudoPassword: boolean;
}

export interface RenderOptions {
  /** sudo settings for this command, or undefined to run as the connecting user. */
  become?: Become;
  /** The user the connection logs in as: becoming the same user needs no sudo. */
  loginUser?: string;
}

/**
 * The shell lines every script starts with. pipefail is set only where the shell has it (dash lacks it):
 * `command` keeps a refused `set` from ending the shell (POSIX takes a special builtin's error as fatal
 * only without it), so the test costs no subshell. A `(set -o pipefail)` probe forked a process on
 * every command on every host, one in six of a re-run's processes on the hosts (issue 13).
 * The PIPE trap keeps a script's own clean-up alive when the controller is gone: sshd then closes the
 * channel, the next `echo … >&2` raises SIGPIPE, and a shell killed by a signal never runs its EXIT
 * trap (a dropped controller left `.drover.*` temp files behind). Trapped, SIGPIPE becomes an exit, and
 * EXIT traps run. Commands the script starts get the default back, as the shell resets traps for them.
 */
export const STRICT_PRELUDE = "set -eu\ncommand set -o pipefail 2>/dev/null || true\ntrap 'exit 141' PIPE\n";

/**
 * Under sudo, the command's processes belong to the become user, and the transport stops commands by
 * signalling their process group as the login user (pid-marker.ts): those signals reach sudo, which
 * relays TERM to its child alone, so a subshell or background job of the command lived on after a
 * timeout (`(sleep 10; touch F)` still touched F). This wrapper is that child: it runs the script as a
 * job and waits (a shell runs a trap only once its foreground command ends; `wait` ends at once), and on
 * the relayed TERM it signals its whole process group — the script and everything it started — as the
 * become user: TERM, then KILL a second later for whatever ignored it. Background jobs read /dev/null
 * unless stdin is redirected explicitly, and `<&0` would come after that, hence fd 3.
 */
const GROUP_STOP_WRAPPER = `trap 'trap "" TERM; kill -TERM 0; sleep 1; kill -KILL 0' TERM
exec 3<&0
/bin/sh -c "$1" "$0" <&3 3<&- &
wait $!`;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Builds the wire form of a command. Pure: the same command and options give the same bytes. */
export function renderCommand(command: Command, options: RenderOptions = {}, marker = stdinMarker()): RenderedCommand {
  const body = 'argv' in command.run ? argvScript(command.run.argv) : command.run;
  const secretEntries = [...body.secrets];
  let prelude = STRICT_PRELUDE;

  const sudo = needsSudo(options);
  const password = sudo ? options.become?.password : undefined;
  const stdinParts: Buffer[] = [];
  if (password) {
    // sudo -S reads the password line only when it has to ask; if the sudoers rule is NOPASSWD the line
    // is still there, so the script skips everything up to a per-command marker before reading its own.
    stdinParts.push(Buffer.from(`${oneLine(password, 'become password')}\n${marker}\n`));
    prelude += `while IFS= read -r __drover_line; do [ "$__drover_line" = ${shellQuote(marker)} ] && break; done\n`;
  }
  if (secretEntries.length > 0) prelude += READ_SECRET_FUNCTION;
  for (const [name, value] of secretEntries) {
    prelude += `__drover_read_secret; ${name}=$__drover_secret\n`;
    stdinParts.push(Buffer.from(secretLines(value)));
  }
  if (secretEntries.length > 0) prelude += 'unset __drover_secret __drover_n __drover_line\n';
  for (const [name, value] of Object.entries(command.env ?? {})) {
    if (!ENV_NAME.test(name)) throw new InvalidShellValueError(`${JSON.stringify(name)} is not a valid environment variable name`);
    if (value.includes('\0')) throw new InvalidShellValueError(`the environment variable ${name} contains a NUL byte, which no shell command can carry`);
    prelude += `export ${name}=${shellQuote(value)}\n`;
  }
  if (command.cwd) prelude += `cd ${shellQuote(command.cwd)}\n`;
  const streamed = command.stdin !== undefined && isStreamed(command.stdin) ? command.stdin : undefined;
  if (command.stdin !== undefined && !isStreamed(command.stdin)) stdinParts.push(toBuffer(command.stdin));

  const script = prelude + body.text;
  const line = sudo
    ? `${sudoPrefix(options.become ?? {}, Boolean(password))} /bin/sh -c ${shellQuote(GROUP_STOP_WRAPPER)} sh ${shellQuote(script)}`
    : `/bin/sh -c ${shellQuote(script)}`;
  const who = sudo ? `[sudo -u ${options.become?.user ?? 'root'}] ` : '';
  return { line, stdin: Buffer.concat(stdinParts), display: who + body.text, sudoPassword: Boolean(password), ...(streamed && { stdinStream: streamed }) };
}

/**
 * An argv command execs its program with these words as its arguments, which every user of the host can
 * read in `/proc/PID/cmdline` while it runs. A Secret there would be shown, so it is refused.
 */
function argvScript(argv: ShellValue[]): Script {
  if (argv.length === 0) throw new InvalidShellValueError('the command has an empty argv');
  argv.forEach((item, index) => {
    if (typeof item === 'string' && item.includes('\0'))
      throw new InvalidShellValueError(`argv[${index}] contains a NUL byte, which no shell command can carry`);
  });
  const index = argv.findIndex((word) => word instanceof Secret);
  if (index >= 0) throw new SecretInArgvError(String(argv[0]), index, (argv[index] as Secret).label);
  return sh`exec ${argv}`;
}

/** A Secret given as a program's argument; the message says how to pass it instead. */
export class SecretInArgvError extends Error {
  constructor(program: string, index: number, label: string) {
    super(
      `argv[${index}] of ${program} is a secret (${label}): a program's arguments are readable by every user of the host (ps, /proc/PID/cmdline), so drover refuses to put a secret there`,
    );
    this.name = 'SecretInArgvError';
  }

  /** How to pass a secret instead; also used by the command module's parameter check. */
  static readonly hint =
    'pass the secret through env (env: { NAME: secret(value) }, then "$NAME" in the program or a shell) or stdin (stdin: secret(value)); env is readable by root and the same user through /proc/PID/environ, stdin by nobody else';
}

/**
 * Reads one secret from stdin into $__drover_secret: a line with its line count, then that many lines,
 * joined back with newlines, so a multi-line secret (a PEM key) arrives exactly, trailing newline and
 * carriage returns included. The count travels on stdin too: the line the target's `ps` shows says
 * nothing about the secret's shape. `read` is a builtin, so no other process ever holds the value.
 */
const READ_SECRET_FUNCTION = [
  '__drover_read_secret() {',
  '  IFS= read -r __drover_n',
  '  IFS= read -r __drover_secret',
  '  while [ "$__drover_n" -gt 1 ]; do',
  '    IFS= read -r __drover_line',
  '    __drover_secret="$__drover_secret',
  '$__drover_line"',
  '    __drover_n=$((__drover_n - 1))',
  '  done',
  '}',
  '',
].join('\n');

/** A secret's stdin form for READ_SECRET_FUNCTION. NUL cannot live in a shell variable: refused, named. */
function secretLines(value: Secret): string {
  const plain = value.reveal();
  if (plain.includes('\0')) {
    throw new InvalidShellValueError(`the ${value.label} (a secret) contains a NUL byte, which no shell variable can hold`);
  }
  const lines = plain.split('\n');
  return `${lines.length}\n${lines.join('\n')}\n`;
}

function needsSudo(options: RenderOptions): boolean {
  if (!options.become) return false;
  const user = options.become.user ?? 'root';
  return user !== options.loginUser;
}

function sudoPrefix(become: Become, withPassword: boolean): string {
  const user = shellQuote(become.user ?? 'root');
  // -H: the target user's HOME; -p '': no prompt text mixed into stderr; -n: never wait for a password.
  return withPassword ? `sudo -H -S -p '' -u ${user} --` : `sudo -H -n -u ${user} --`;
}

/** The become password: sudo -S reads exactly one line, so a line break in it cannot be sent. */
function oneLine(value: Secret, label: string): string {
  const plain = value.reveal();
  if (/[\n\r\0]/.test(plain)) {
    throw new InvalidShellValueError(`the ${label} (a secret) contains a line break or NUL; sudo reads a password as one line`);
  }
  return plain;
}

function isStreamed(value: string | Buffer | Secret | StreamedStdin): value is StreamedStdin {
  return typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Secret);
}

function toBuffer(value: string | Buffer | Secret): Buffer {
  if (value instanceof Secret) return value.revealBytes();
  return typeof value === 'string' ? Buffer.from(value) : value;
}

function stdinMarker(): string {
  return `__drover_stdin_${randomBytes(8).toString('hex')}__`;
}
