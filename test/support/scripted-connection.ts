/**
 * A scripted connection for engine tests: a `Connector` (the seam `HostSession`, `SessionPool` and
 * `startRun({ connector })` take) whose hosts answer commands from a script instead of over SSH.
 *
 * Each command the engine sends is matched against the rules in order; the first rule that matches the
 * script's body (the text after the runner's strict prelude) answers it. A command no rule matches fails
 * the test with the command shown, so a test cannot pass by the engine sending something unexpected.
 * Every command, connect and close is appended to one log across hosts, so tests assert order.
 *
 * A rule can hold its answer until the test releases it (`gate`), which lets a test put a host's
 * command in flight while another host fails, without timers.
 */
import { STRICT_PRELUDE, sh } from '../../runner/command.ts';
import { answerByParts } from './file-probe.ts';
import type { Connector, HostTarget } from '../../runner/engine/host-session.ts';
import type { PlaybookRunOptions } from '../../runner/engine/run-playbook.ts';
import { UnreachableError, type Connection, type ConnectionSpec, type ExecOptions, type ExecOutcome } from '../../runner/transport/transport.ts';

export interface ScriptedReply {
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  timedOut?: boolean;
  /** The connection drops while the command runs: the engine marks the host unreachable. */
  connectionLost?: boolean;
}

export interface ScriptRule {
  /** Only on this host (default: any host). */
  host?: string;
  /** Matches the script body: a substring or a regular expression. */
  match: string | RegExp;
  /** What the host answers; a function sees the body and may wait (e.g. on a gate). */
  reply: ScriptedReply | ((body: string, host: string) => ScriptedReply | Promise<ScriptedReply>);
  /** Answer only this many times, then let later rules match. */
  times?: number;
}

export interface LogEntry {
  host: string;
  event: 'connect' | 'exec' | 'close';
  /** The script body as the host received it (prelude removed), or '' for connect/close. */
  body: string;
  /** The full line sent (sudo prefix and all). */
  line: string;
  stdin: string;
}

/** A promise the test resolves by hand: `await gate.opened` in a reply, `gate.open()` in the test. */
export class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => {
    this.open = resolve;
  });
}

export class ScriptedConnections {
  readonly log: LogEntry[] = [];
  /** Most commands in flight at once, across hosts (for --forks). */
  maxInFlight = 0;
  #inFlight = 0;
  readonly #rules: Array<ScriptRule & { used: number }>;

  constructor(
    rules: ScriptRule[],
    private readonly options: { unreachable?: string[] } = {},
  ) {
    this.#rules = rules.map((rule) => ({ ...rule, used: 0 }));
  }

  /** The `Connector` to hand the engine. */
  readonly connector: Connector = async (spec: ConnectionSpec): Promise<Connection> => {
    this.log.push({ host: spec.name, event: 'connect', body: '', line: '', stdin: '' });
    if (this.options.unreachable?.includes(spec.name)) {
      throw new UnreachableError(spec.name, `cannot connect to ${spec.name}: scripted as unreachable`, 'scripted hint');
    }
    let closed = false;
    return {
      spec,
      exec: (line, execOptions) => this.exec(spec.name, line, execOptions),
      close: async () => {
        if (closed) return;
        closed = true;
        this.log.push({ host: spec.name, event: 'close', body: '', line: '', stdin: '' });
      },
    };
  };

  /** The bodies of the commands sent, in order, as `host: body` (or just `body` for one host). */
  commands(host?: string): string[] {
    return this.log.filter((entry) => entry.event === 'exec' && (host === undefined || entry.host === host)).map((entry) => (host === undefined ? `${entry.host}: ${entry.body}` : entry.body));
  }

  private async exec(host: string, line: string, options: ExecOptions): Promise<ExecOutcome> {
    const body = scriptBody(line);
    this.log.push({ host, event: 'exec', body, line, stdin: options.stdin?.toString() ?? '' });
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    try {
      const reply = await answerByParts(body, (part) => this.reply(host, part));
      return {
        exitCode: reply.connectionLost || reply.timedOut ? null : (reply.exitCode ?? 0),
        stdout: reply.stdout ?? '',
        stderr: reply.stderr ?? '',
        timedOut: reply.timedOut ?? false,
        aborted: false,
        connectionLost: reply.connectionLost ?? false,
        durationMs: 1,
      };
    } finally {
      this.#inFlight--;
    }
  }

  /** The first matching rule's answer to a script, or to one part of a fact-and-file probe (answerByParts). */
  private async reply(host: string, body: string): Promise<ScriptedReply> {
    const rule = this.#rules.find(
      (candidate) =>
        (candidate.host === undefined || candidate.host === host) && (candidate.times === undefined || candidate.used < candidate.times) && (typeof candidate.match === 'string' ? body.includes(candidate.match) : candidate.match.test(body)),
    );
    if (!rule) throw new Error(`scripted connection: no rule answers this command on ${host}:\n${body}`);
    rule.used++;
    return typeof rule.reply === 'function' ? await rule.reply(body, host) : rule.reply;
  }
}

/** The script as written by the module: the `/bin/sh -c '…'` line unquoted, the runner's strict prelude (runner/command.ts) dropped. */
export function scriptBody(line: string): string {
  const quoted = /\/bin\/sh -c '([\s\S]*)'$/.exec(line);
  if (!quoted) return line;
  const script = quoted[1]!.replace(/'\\''/g, "'");
  const preludeLines = new Set(STRICT_PRELUDE.trimEnd().split('\n'));
  return script
    .split('\n')
    .filter((text) => !preludeLines.has(text))
    .join('\n');
}

/** A host of the inventory whose connection the scripted connector answers (nothing dials `NAME.test`). */
export function scriptedTarget(name: string, groups: string[] = []): HostTarget {
  return {
    name,
    vars: {},
    groups,
    becomeByDefault: false,
    connection: {
      name,
      address: `${name}.test`,
      port: 22,
      user: 'root',
      kind: 'ssh',
      knownHostsFiles: [],
      hostKeyPolicy: 'strict',
      connectTimeoutMs: 1000,
      keepaliveIntervalMs: 1000,
      connectRetries: 0,
      maxChannels: 8,
    },
  };
}

/**
 * The OS fact as a scripted host answers it: the probe is the command `read-os`, and the OS id is what a
 * rule replies to it (`debian` when the reply is empty).
 */
export const scriptedOsFact: PlaybookRunOptions['osFact'] = {
  key: 'os',
  stable: true,
  script: sh`read-os`,
  parse: (output) => ({
    family: 'debian',
    id: output.stdout.trim() || 'debian',
    versionId: '12',
    packageManager: 'apt',
    initSystem: 'systemd',
    selinux: false,
    kernel: '6.1',
  }),
};
