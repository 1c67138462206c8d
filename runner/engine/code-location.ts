/**
 * Where in the operator's own code an exception was thrown: the first stack frame that is not drover's
 * runner, its modules, a dependency or Node itself. tsx maps frames back to the TypeScript source.
 */
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const DROVER_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Path prefixes of drover's own code: frames there are the runner's, not the playbook's. */
const DROVER_CODE = ['runner', 'modules'].map((folder) => `${resolve(DROVER_ROOT, folder)}${sep}`);

/** Frames look like `at fn (FILE:LINE:COL)` or `at FILE:LINE:COL`; FILE may be a file:// URL. */
const FRAME = /^\s*at (?:.*? \()?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?$/;

/** `file:line:column` of the first frame outside drover and its dependencies, or undefined. */
export function codeLocation(stack: string | undefined, droverCode: readonly string[] = DROVER_CODE): string | undefined {
  for (const line of (stack ?? '').split('\n')) {
    const match = FRAME.exec(line);
    if (!match) continue;
    const file = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    if (file.includes(`${sep}node_modules${sep}`) || droverCode.some((prefix) => file.startsWith(prefix))) continue;
    return `${file}:${match[2]}:${match[3]}`;
  }
  return undefined;
}
