/**
 * slurp: read a file on the host into a value — its exact bytes (a Buffer), with a text helper. The bytes
 * travel base64-encoded, so no byte of the file (a NUL, invalid UTF-8, a CR) is lost or changed. It only
 * reads: it runs in check mode too and never reports a change. One probe.
 *
 * The whole file is held in memory on the controller, so it is limited by `maxSize` (1 MiB by default, at
 * most 64 MiB); a larger file fails the task with its size. Copy large files with `fetch`.
 *
 * With `secret`, the content is a secret: its text is masked in the terminal, JSON output and audit log
 * for the rest of the run (as `secretOutput` does for a command), and the audit record keeps only the
 * path and size. `value.secret()` gives it as a Secret for later tasks (`copy`'s content, `env`).
 *
 * @example
 *   const ca = await t.slurp('cluster CA', { path: '/etc/kubernetes/pki/ca.crt' });
 *   const pem = ca.value?.text();
 *   const token = await t.slurp('join token', { path: '/root/join-token', secret: true });
 *   await t.copy('token for the worker', { dest: '/etc/k8s/token', content: token.value!.secret(), mode: '0600' });
 */
import { createHash } from 'node:crypto';
import { sh, type Script } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, type HostContext, type Plan } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { Secret } from '../runner/secret.ts';
import { hostPath } from './lib/file-params.ts';
import { predictedRead, type PredictedReadState } from './lib/predicted-read.ts';
import { field, parseFieldLines } from './lib/probe-output.ts';

/** The most `maxSize` may be: a slurped file is held whole in memory (twice, while base64 is decoded). */
export const SLURP_MAX_SIZE = 64 * 1024 * 1024;

/** What a slurp task returns to the playbook: the file's bytes, with helpers. */
export class SlurpedFile {
  /** The content as a Secret (only with `secret`): registered with the run's redactor, so it is masked everywhere. */
  readonly secretText: Secret | undefined;

  constructor(
    /** The path read (normalised). */
    readonly path: string,
    /** The file's exact bytes. */
    readonly content: Buffer,
    secret: boolean,
  ) {
    // From the bytes: a copy of the secret writes them exactly (as text, each byte that is not UTF-8 became U+FFFD).
    this.secretText = secret ? Secret.fromBytes(content, `content of ${path}`) : undefined;
  }

  get size(): number {
    return this.content.length;
  }

  /** sha256 of the content, in hex. */
  get sha256(): string {
    return createHash('sha256').update(this.content).digest('hex');
  }

  /** The content decoded as text (UTF-8 unless told otherwise; invalid sequences become U+FFFD). */
  text(encoding: BufferEncoding = 'utf8'): string {
    return this.content.toString(encoding);
  }

  /** The content as a Secret, to pass to another task without it ever being shown. */
  secret(): Secret {
    return this.secretText ?? Secret.fromBytes(this.content, `content of ${this.path}`);
  }

  /** What reports and the audit log record: never the bytes; for a secret, not even their hash. */
  toJSON(): Record<string, unknown> {
    return this.secretText ? { path: this.path, size: this.size, secret: true } : { path: this.path, size: this.size, sha256: this.sha256 };
  }
}

const params = s.object({
  /** The file on the host (absolute); a symbolic link is followed. */
  path: hostPath(),
  /** Largest file accepted, in bytes (default 1 MiB, at most 64 MiB): the content is held in memory. */
  maxSize: s.int({ min: 0, max: SLURP_MAX_SIZE }).default(1024 * 1024),
  /** The content is a secret: masked in every report and left out of the audit log. */
  secret: s.boolean().default(false),
});

export type SlurpParams = InputOf<typeof params>;

export const slurp = defineModule({
  name: 'slurp',
  summary: 'Read a file on the host into a value (exact bytes, size-limited; optionally a secret); changes nothing',
  params,
  async plan(p, host): Promise<Plan<SlurpedFile>> {
    const path = p.path; // normalised by the hostPath schema
    const { lookup, predicted } = predictedRead(host, path);
    if (predicted) {
      const value = slurpPredicted(path, p, predicted.state, predicted.by, host);
      if (value) return { changes: [], reason: `read ${path} (${value.size} bytes, as "${predicted.by}" would leave it)`, value };
    }
    const output = await host.probe(slurpScript(lookup, p.maxSize), { timeoutMs: 300_000, secretOutput: p.secret });
    const value = parseSlurp(path, p.maxSize, p.secret, output.stdout, output.exitCode, output.stderr, host.name);
    return { changes: [], reason: `read ${path} (${value.size} bytes)`, value };
  },
});

/**
 * In a dry run, the file an earlier task would leave: its bytes when the prediction kept them, the errors
 * the real read would give. Undefined when the bytes are not known (a file too large to keep): the task
 * then depends on that earlier one, and reads the host as it is.
 */
function slurpPredicted(
  path: string,
  p: { maxSize: number; secret: boolean },
  state: PredictedReadState,
  by: string,
  host: HostContext,
): SlurpedFile | undefined {
  const after = ` once "${by}" has run`;
  if (state.kind === 'absent')
    throw new ModuleError(`no file at ${path} on ${host.name}${after}`, 'check the path; stat tells whether a file exists without failing');
  if (state.kind === 'directory') throw new ModuleError(`${path} on ${host.name} is a directory, not a file${after}`);
  if (!state.content) {
    host.predicted.dependsOn(by, `the content of ${path}`);
    return undefined;
  }
  if (state.content.length > p.maxSize) {
    throw new ModuleError(
      `${path} on ${host.name} is larger than maxSize (${p.maxSize} bytes)${after}`,
      `raise maxSize (at most ${SLURP_MAX_SIZE} bytes), or copy the file to the controller with fetch`,
    );
  }
  return new SlurpedFile(path, state.content, p.secret);
}

/**
 * The probe: at most maxSize + 1 bytes are read (`head -c`), so a file that grows while it is read, or one
 * whose size stat cannot tell (/proc), still cannot send more than the limit plus one byte.
 */
export function slurpScript(path: string, maxSize: number): Script {
  return sh`p=${path}
if [ -d "$p" ]; then echo kind=directory; exit 0; fi
if [ ! -e "$p" ]; then echo kind=absent; exit 0; fi
# Opened by the shell itself, so an unreadable file stops the script (set -e) with the reason: inside the
# pipeline, dash (no pipefail) would report base64's success and an empty file.
exec 3< "$p"
echo kind=file
printf content=
head -c ${maxSize + 1} <&3 | base64 -w0
echo
`;
}

/** Pure: the probe's output → the value, or an error naming the path, the host and the fix. */
export function parseSlurp(path: string, maxSize: number, secret: boolean, stdout: string, exitCode: number, stderr: string, hostName: string): SlurpedFile {
  const fields = parseFieldLines(stdout);
  const kind = field(fields, 'kind');
  if (exitCode !== 0 || kind === undefined) {
    throw new ModuleError(
      `could not read ${path} on ${hostName}: ${stderr.trim() || `exit code ${exitCode}`}`,
      'check that the file is readable by the connecting user, or use become',
    );
  }
  if (kind === 'absent') throw new ModuleError(`no file at ${path} on ${hostName}`, 'check the path; stat tells whether a file exists without failing');
  if (kind === 'directory') throw new ModuleError(`${path} on ${hostName} is a directory, not a file`);
  const content = Buffer.from(field(fields, 'content') ?? '', 'base64');
  if (content.length > maxSize) {
    throw new ModuleError(
      `${path} on ${hostName} is larger than maxSize (${maxSize} bytes)`,
      `raise maxSize (at most ${SLURP_MAX_SIZE} bytes), or copy the file to the controller with fetch`,
    );
  }
  return new SlurpedFile(path, content, secret);
}
