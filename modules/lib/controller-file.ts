/**
 * A task's `src` on the controller (copy, unarchive), opened once for all hosts as a ContentSource: hashed
 * once and streamed to each host, never read whole per host. A missing or unreadable one is the playbook's
 * mistake, said while planning, in the same words for every module that takes one.
 */
import { resolve } from 'node:path';
import { ContentSource } from '../../runner/content-source.ts';
import { ModuleError } from '../../runner/module-error.ts';

/**
 * `what` names the parameter in messages ("copy src"); `directoryHint` says what to give instead when
 * `src` is a directory. Relative paths are resolved from the working directory.
 */
export async function openControllerFile(src: string, what: string, directoryHint: string): Promise<ContentSource> {
  const path = resolve(src);
  try {
    return await ContentSource.fromFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new ModuleError(`${what} ${path} is a directory`, directoryHint);
    if (code === 'ENOTREG') {
      throw new ModuleError(`${what} ${path} is not a regular file (a device, a FIFO or a socket)`, 'give a regular file; save a stream to a file first');
    }
    throw new ModuleError(
      `cannot read ${what} ${path} on the controller (${code ?? String(error)})`,
      'check the path; relative paths are resolved from the working directory',
    );
  }
}
