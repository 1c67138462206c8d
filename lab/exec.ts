/**
 * Runs controller-side programs (ip, mount, ssh-keygen, mmdebstrap…) for the lab. Always an argv, never a
 * shell line, so names and paths cannot be misread. A failure is a LabCommandError carrying the command,
 * exit code and stderr tail, plus what to do next when the caller knows.
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Data for stdin. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Exit codes that are not failures; default [0]. */
  okCodes?: number[];
  /** Kill the program after this long (ms). Default: no limit. */
  timeoutMs?: number;
  /** What the user should do if this fails; added to the error message. */
  hint?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class LabCommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
    hint?: string,
  ) {
    const tail = stderr.trim().split('\n').slice(-15).join('\n');
    const how = code === null ? 'was killed (timeout or signal)' : `exited with ${code}`;
    super(`\`${argv.join(' ')}\` ${how}${tail ? `:\n${tail}` : ''}${hint ? `\n→ ${hint}` : ''}`);
    this.name = 'LabCommandError';
  }
}

export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [program, ...args] = argv;
  if (!program) throw new Error('run: empty argv');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(program, args, {
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      const hint = error.code === 'ENOENT' ? `${program} is not installed: run \`bash .ci/lab-prereqs.sh\`` : options.hint;
      reject(new LabCommandError(argv, null, error.message, hint));
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const result = { code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (code !== null && (options.okCodes ?? [0]).includes(code)) resolvePromise(result);
      else reject(new LabCommandError(argv, code, result.stderr || result.stdout, options.hint));
    });
    if (child.stdin) {
      // A program may exit without reading its stdin; that is its business, reported by its exit code.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}
