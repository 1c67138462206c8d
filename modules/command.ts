/**
 * command: run a program with arguments, no shell in between (nothing in an argument is expanded).
 * Its output (rc, stdout, stderr) reaches the playbook in the task's result. `shell` (modules/shell.ts)
 * is the same with a script instead of an argv; both share the planner below.
 *
 * A command is opaque: drover cannot know what it changes, so it reports `changed` after running unless
 * `changedWhen` says otherwise, and check mode shows it as "would run" without running it. Guards keep
 * re-runs quiet: `creates` (skip when the path exists) and `removes` (skip when it does not). A command
 * that only reads (`readOnly`) runs in check mode too and never reports a change.
 *
 * @example
 *   await t.command('init the cluster', { argv: ['kubeadm', 'init', '--config', '/etc/kubernetes/kubeadm.yaml'], creates: '/etc/kubernetes/admin.conf' });
 *   const nodes = await t.command('list nodes', { argv: ['kubectl', 'get', 'nodes', '-o', 'name'], readOnly: true });
 *   await t.command('apply manifests', { argv: ['kubectl', 'apply', '-f', '/srv/k8s'], changedWhen: (r) => !/unchanged$/.test(r.stdout.trim()) });
 */
import { posix } from 'node:path';
import { RawShell, Script, SecretInArgvError, sh, type Command, type ShellValue } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type CommandOutcome, type HostContext, type Interpretation, type Plan } from '../runner/module.ts';
import { s, Schema, SchemaError, type InputOf, type ParseOptions } from '../runner/schema.ts';
import { hostPath } from './lib/host-path.ts';
import { Secret } from '../runner/secret.ts';

/** What `changedWhen` and `failedWhen` see: the command's exit code and output. */
export interface CommandOutput {
  rc: number;
  stdout: string;
  stderr: string;
}

/** A predicate over a command's output. */
export type OutputTest = (result: CommandOutput) => boolean;

/**
 * Accepts a function as a parameter value. Schemas check data; a function can only be checked for being
 * one, and it exists only in TypeScript playbooks (the CLI and inventories cannot give one), which is why
 * these parameters also accept a plain boolean (`changedWhen: false`, as Ansible's `changed_when: false`).
 */
class FunctionSchema<F extends (...args: never[]) => unknown> extends Schema<F> {
  constructor(private readonly signature: string) {
    super();
  }
  parse(value: unknown, path: string): F {
    if (typeof value !== 'function') throw new SchemaError(path, `expected ${this.describe()}, got ${typeof value}`);
    return value as F;
  }
  describe(): string {
    return `a function ${this.signature}`;
  }
}

/** `true`/`false` or a predicate over the command's output. */
const outputTest = () =>
  s.union<boolean | OutputTest, boolean | OutputTest>(s.boolean(), new FunctionSchema<OutputTest>('(r: { rc, stdout, stderr }) => boolean')).optional();

/** Parameters both command and shell take. */
export const runParams = {
  /** Skip the command when this path exists on the host (relative paths are taken from chdir). */
  creates: hostPath({ relative: true }).optional(),
  /** Skip the command when this path does not exist on the host (relative paths are taken from chdir). */
  removes: hostPath({ relative: true }).optional(),
  /** Directory to run in. */
  chdir: hostPath().optional(),
  /** Text fed to the command's standard input; a `secret(...)` is fed without ever being shown. */
  stdin: s.union<string | Secret, string | Secret>(s.string(), s.secret()).optional(),
  /** Add a newline after stdin (Ansible's `stdin_add_newline`). */
  stdinAddNewline: s.boolean().default(true),
  /** Environment variables for the command (Ansible's `environment`); secret values never appear on the command line. */
  env: s.record(s.union<string | Secret, string | Secret>(s.string(), s.secret())).refine(validEnvNames).optional(),
  /** Time limit in seconds; the command is killed when it runs longer, and the task fails. */
  timeout: s.number({ min: 0.001 }).optional(),
  /** The command only reads (a probe): it runs in check mode too, and the task never reports a change. */
  readOnly: s.boolean().default(false),
  /** Whether the run counts as a change: a predicate over { rc, stdout, stderr }, or a fixed boolean. Default: true (false with readOnly). */
  changedWhen: outputTest(),
  /** Whether the run counts as a failure: a predicate over { rc, stdout, stderr }, or a fixed boolean. Default: a non-zero exit code. */
  failedWhen: outputTest(),
};

function validEnvNames(env: Record<string, unknown>): string | undefined {
  const bad = Object.keys(env).find((name) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name));
  return bad === undefined ? undefined : `${JSON.stringify(bad)} is not a valid environment variable name (letters, digits, _; not starting with a digit)`;
}

/** What the shared planner needs, whichever module called it. */
export interface RunSpec {
  /** The program and arguments, or the script. */
  body: Script;
  /** For people: "kubeadm init --config …" or the script's first line. */
  label: string;
  creates?: string;
  removes?: string;
  chdir?: string;
  stdin?: string | Secret;
  stdinAddNewline: boolean;
  env?: Record<string, string | Secret>;
  timeout?: number;
  readOnly: boolean;
  changedWhen?: boolean | OutputTest;
  failedWhen?: boolean | OutputTest;
}

/** Every exit code: with failedWhen, the runner must not fail the command before failedWhen decides. */
const ANY_EXIT = Array.from({ length: 256 }, (_, code) => code);

/** Plans a command or shell task: guards first (one probe), then one command and how to judge it. */
export async function planRun(spec: RunSpec, host: HostContext): Promise<Plan> {
  const guard = await checkGuards(spec, host);
  if (guard) return noChange(guard);
  return planRunFrom(spec);
}

/** Pure: the plan once the guards have passed. Exported for table tests. */
export function planRunFrom(spec: RunSpec): Plan {
  const command: Command = {
    run: Script.join([...envExports(spec.env), spec.body]),
    description: spec.label,
  };
  if (spec.chdir !== undefined) command.cwd = spec.chdir;
  if (spec.stdin !== undefined) command.stdin = withNewline(spec.stdin, spec.stdinAddNewline);
  if (spec.timeout !== undefined) command.timeoutMs = Math.round(spec.timeout * 1000);
  if (spec.readOnly) command.readOnly = true;
  if (spec.failedWhen !== undefined) command.okExitCodes = ANY_EXIT;
  return {
    changes: [{ summary: `run ${spec.label}`, commands: [command] }],
    readOnly: spec.readOnly || undefined,
    uncertain: spec.readOnly ? undefined : true,
    interpret: (outcomes) => interpret(spec, outcomes),
  };
}

/**
 * Secrets in env become stdin-fed variables (the `sh` tag does that); plain values are quoted. The name
 * is inserted as it is: the schema allowed only [A-Za-z_][A-Za-z0-9_]*, checked again here.
 */
function envExports(env: Record<string, string | Secret> | undefined): Script[] {
  return Object.entries(env ?? {}).map(([name, value]) => {
    if (validEnvNames({ [name]: value })) throw new ModuleError(`invalid environment variable name ${JSON.stringify(name)}`);
    return sh`export ${new RawShell(name)}=${value}`;
  });
}

function withNewline(stdin: string | Secret, add: boolean): string | Secret {
  if (!add) return stdin;
  if (stdin instanceof Secret)
    return stdin.reveal().endsWith('\n') ? stdin : Secret.fromBytes(Buffer.concat([stdin.revealBytes(), Buffer.from('\n')]), stdin.label);
  return stdin.endsWith('\n') ? stdin : `${stdin}\n`;
}

/** Pure: changedWhen/failedWhen applied to the outcome. A predicate that throws fails the task, saying so. */
export function interpret(spec: Pick<RunSpec, 'changedWhen' | 'failedWhen' | 'readOnly'>, outcomes: CommandOutcome[]): Interpretation {
  const outcome = outcomes[outcomes.length - 1];
  if (!outcome) return {};
  const output: CommandOutput = { rc: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr };
  const verdict: Interpretation = {};
  try {
    const failed = typeof spec.failedWhen === 'function' ? spec.failedWhen(output) : spec.failedWhen;
    if (failed === true) {
      verdict.failed = `failedWhen matched (exit code ${output.rc})`;
      verdict.failedOutput = { text: output.stderr, lines: 5 };
    }
  } catch (error) {
    verdict.failed = `failedWhen threw: ${error instanceof Error ? error.message : String(error)}`;
  }
  try {
    const changed = typeof spec.changedWhen === 'function' ? spec.changedWhen(output) : spec.changedWhen;
    verdict.changed = spec.readOnly ? false : (changed ?? true);
  } catch (error) {
    verdict.failed ??= `changedWhen threw: ${error instanceof Error ? error.message : String(error)}`;
  }
  return verdict;
}

/** One probe for both guards; returns why the command is skipped, or undefined to run it. */
async function checkGuards(spec: RunSpec, host: HostContext): Promise<string | undefined> {
  if (spec.creates === undefined && spec.removes === undefined) return undefined;
  const creates = spec.creates !== undefined ? guardPath(spec.creates, spec.chdir) : undefined;
  const removes = spec.removes !== undefined ? guardPath(spec.removes, spec.chdir) : undefined;
  // A dry run looks through the links its earlier tasks would make (see PredictedView.throughLinks).
  const through = (path: string) => host.predicted.throughLinks(path);
  const checks: Script[] = [];
  if (creates !== undefined) checks.push(sh`if [ -e ${through(creates)} ] || [ -L ${through(creates)} ]; then echo creates=yes; else echo creates=no; fi`);
  if (removes !== undefined) checks.push(sh`if [ -e ${through(removes)} ] || [ -L ${through(removes)} ]; then echo removes=yes; else echo removes=no; fi`);
  const output = await host.probe(Script.join(checks));
  if (output.exitCode !== 0) throw new ModuleError(`could not check creates/removes on ${host.name}: ${output.stderr.trim()}`);
  // In a dry run, a path an earlier task would create or remove is as that task would leave it.
  const exists = (path: string, probed: boolean) => {
    const found = host.predicted.path(through(path));
    return found ? found.known.kind !== 'absent' : probed;
  };
  if (creates !== undefined && exists(creates, output.stdout.includes('creates=yes'))) return `skipped: ${creates} exists`;
  if (removes !== undefined && !exists(removes, output.stdout.includes('removes=yes'))) return `skipped: ${removes} does not exist`;
  return undefined;
}

function guardPath(path: string, chdir: string | undefined): string {
  if (posix.isAbsolute(path)) return path;
  if (chdir === undefined) {
    throw new ModuleError(`creates/removes path ${JSON.stringify(path)} is relative and no chdir is given`, 'give an absolute path or set chdir');
  }
  return posix.join(chdir, path);
}

/**
 * One word of an argv. A Secret is refused here, before anything runs: a program's arguments are readable
 * by every user of the host (`/proc/PID/cmdline`), so the message says to use env or stdin instead.
 */
class ArgvWordSchema extends Schema<string> {
  parse(value: unknown, path: string, options?: ParseOptions): string {
    if (value instanceof Secret)
      throw new SchemaError(
        path,
        `a secret (${value.label}) cannot be a program argument, where every user of the host can read it in /proc/PID/cmdline; ${SecretInArgvError.hint}`,
      );
    return s.string().parse(value, path, options);
  }
  describe(): string {
    return 'a string (never a secret)';
  }
}

const params = s.object({
  /** The program and its arguments; no shell: `$`, `*`, `;` and quotes reach the program literally. A `secret(...)` is refused: pass it through `env` or `stdin`. */
  argv: s.array(new ArgvWordSchema(), { nonEmpty: true }),
  ...runParams,
});

export type CommandParams = InputOf<typeof params>;

export const command = defineModule({
  name: 'command',
  summary: 'Run a program with arguments (no shell); creates/removes guards, changedWhen/failedWhen',
  params,
  async plan(p, host) {
    const argv: ShellValue[] = p.argv;
    return planRun({ ...p, body: sh`exec ${argv}`, label: argvLabel(p.argv) }, host);
  },
});

/** A short rendering of an argv for people (it holds no secret: the schema refused them). */
function argvLabel(argv: string[]): string {
  const text = argv.map((item) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(item) ? item : JSON.stringify(item))).join(' ');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
