/**
 * The Ansible Vault passwords of a run, read once before the inventory is loaded, from where Ansible reads
 * them: a password file (its text with surrounding whitespace removed, as Ansible strips it), an executable
 * password script (run without a shell and without arguments; its stdout, line breaks at the ends removed,
 * is the password; its stderr and stdin are the operator's, so it may prompt), or the terminal.
 *
 * Ansible's "client" scripts (named `*-client*`, called with `--vault-id LABEL`) are run like any script:
 * drover passes them no arguments.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { VaultKeyring, VaultPassword } from '../../inventory/vault.ts';
import { Secret } from '../secret.ts';
import { UsageError, type CommonOptions } from './options.ts';
import { promptSecret } from './prompt.ts';

/** A password script that has not answered in this long is stuck (waiting for input nobody gives it). */
const SCRIPT_TIMEOUT_MS = 120_000;
/** More than this on a script's stdout is not a password. */
const SCRIPT_MAX_OUTPUT = 64 * 1024;

/** Reads every vault password the options name, in order; none given is an empty keyring. */
export async function loadVaultKeyring(options: Pick<CommonOptions, 'vaultIds' | 'askVaultPass'>): Promise<VaultKeyring> {
  const keyring: VaultPassword[] = [];
  const sources = [...(options.vaultIds ?? [])];
  if (options.askVaultPass) sources.unshift({ label: undefined, source: 'prompt' });
  for (const { label, source } of sources) {
    const password = source === 'prompt' ? await askPassword(label) : await readPasswordSource(source, label);
    keyring.push({ label, password, source: source === 'prompt' ? 'the prompt' : source });
  }
  return keyring;
}

async function askPassword(label: string | undefined): Promise<Secret> {
  const password = await promptSecret(
    label ? `Vault password (${label}): ` : 'Vault password: ',
    'vault password',
    'pass --vault-password-file FILE instead of --ask-vault-pass',
  );
  if (password.reveal() === '') throw new UsageError('the vault password given at the prompt is empty');
  return password;
}

/** A password file's text, or a password script's output. */
export async function readPasswordSource(file: string, label?: string): Promise<Secret> {
  const path = resolve(file);
  const isFile = (() => {
    try {
      return statSync(path).isFile();
    } catch {
      throw new UsageError(`vault password file ${file} does not exist (check --vault-password-file / --vault-id)`);
    }
  })();
  if (!isFile) throw new UsageError(`vault password file ${file} is not a file`);
  const script = isExecutable(path);
  const password = script ? await runPasswordScript(path, file) : readPasswordFile(path, file);
  if (password === '') throw new UsageError(`vault password ${script ? 'script' : 'file'} ${file} gave an empty password`);
  return new Secret(password, label ? `vault password (${label})` : 'vault password');
}

function readPasswordFile(path: string, shown: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new UsageError(`vault password file ${shown} cannot be read (${error instanceof Error && 'code' in error ? String(error.code) : String(error)})`);
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a password script. Failures name the script and its exit status, never its output (which may be
 * a password printed before the failure); the script's own stderr has already gone to the terminal.
 */
function runPasswordScript(path: string, shown: string): Promise<string> {
  return new Promise((resolveOutput, reject) => {
    const hint = 'If the file is a password and not a script, remove its executable bit (chmod -x).';
    const child = spawn(path, [], { stdio: ['inherit', 'pipe', 'inherit'], timeout: SCRIPT_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= SCRIPT_MAX_OUTPUT) chunks.push(chunk);
    });
    child.on('error', (error) => {
      reject(new UsageError(`vault password script ${shown} could not be run (${'code' in error ? String(error.code) : error.message}). ${hint}`));
    });
    child.on('close', (code, signal) => {
      if (signal) {
        reject(
          new UsageError(
            `vault password script ${shown} was stopped by ${signal}${signal === 'SIGTERM' ? ` (no answer within ${SCRIPT_TIMEOUT_MS / 1000} s)` : ''}`,
          ),
        );
      } else if (code !== 0) {
        reject(new UsageError(`vault password script ${shown} exited with status ${code}: it gave no password. ${hint}`));
      } else if (size > SCRIPT_MAX_OUTPUT) {
        reject(new UsageError(`vault password script ${shown} printed more than ${SCRIPT_MAX_OUTPUT} bytes, which is not a password`));
      } else {
        resolveOutput(
          Buffer.concat(chunks)
            .toString('utf8')
            .replace(/^[\r\n]+|[\r\n]+$/g, ''),
        );
      }
    });
  });
}
