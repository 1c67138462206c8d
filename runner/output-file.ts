/**
 * Files drover writes on the controller for the operator to keep (a saved plan, a merged audit log, a
 * report): written whole or not at all, never over an existing file, readable by the owner only. The
 * bytes go to a temporary file beside the destination (same directory, same file system), are synced,
 * and the temporary file is then linked to the destination's name, which fails rather than replace a
 * file that appeared meanwhile (rename would replace it). On any failure (a full disk, a directory that
 * cannot be written) the temporary file is removed: nothing is left, and the same path can be retried.
 *
 * @example
 *   const result = writeOutputFile('/srv/change-4711.json', text);
 *   if (!result.ok) console.error(`cannot write ${result.path} (${result.code})`);
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The outcome: written, or the error code of the step that failed (`EEXIST` when the file exists). */
export type OutputFileResult = { ok: true } | { ok: false; code: string; path: string };

/** The file operations used, replaceable in tests (a full disk is hard to come by in a unit test). */
export interface OutputFileSystem {
  writeSync(fd: number, bytes: Uint8Array, offset: number, length: number): number;
}

const NODE_FS: OutputFileSystem = { writeSync: (fd, bytes, offset, length) => writeSync(fd, bytes, offset, length) };

/** Diffs and records hold file contents and command output: owner-only, like an audit log. */
export const OUTPUT_FILE_MODE = 0o600;

/** The temporary name beside `path`: hidden, random, and recognisably the destination's. */
function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes `content` to the new file `path` completely or not at all (see the file's comment); mode 0600 unless told. */
export function writeOutputFile(
  path: string,
  content: string | Uint8Array,
  { mode = OUTPUT_FILE_MODE, fs = NODE_FS }: { mode?: number; fs?: OutputFileSystem } = {},
): OutputFileResult {
  if (existsSync(path)) return { ok: false, code: 'EEXIST', path };
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const temporary = temporaryName(path);
  let fd: number;
  try {
    fd = openSync(temporary, 'wx', mode);
  } catch (error) {
    return failure(error, path);
  }
  try {
    // writeSync may take part of the buffer (a disk filling up): the rest is written, or fails, next.
    for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    linkSync(temporary, path);
    return { ok: true };
  } catch (error) {
    return failure(error, path);
  } finally {
    if (fd !== -1) closeQuietly(fd);
    removeQuietly(temporary);
  }
}

/**
 * Why a file could not be created in the directory of `path`, or undefined if it can: checked before a
 * run whose output is written only at its end (`--save-plan`), by creating and removing a temporary file
 * there, so a directory that is read-only, immutable or on a read-only file system stops the run before
 * it starts. (A full disk can still fail the write at the end; writeOutputFile then leaves nothing.)
 */
export function outputFileProblem(path: string): string | undefined {
  if (existsSync(path)) return statSync(path).isDirectory() ? 'is a directory' : 'exists';
  const directory = dirname(path);
  if (!existsSync(directory)) return `the directory ${directory} does not exist`;
  const temporary = temporaryName(path);
  try {
    closeSync(openSync(temporary, 'wx', OUTPUT_FILE_MODE));
  } catch (error) {
    return `a file cannot be created in ${directory} (${codeOf(error)})`;
  }
  removeQuietly(temporary);
  return undefined;
}

function failure(error: unknown, path: string): OutputFileResult {
  return { ok: false, code: codeOf(error), path };
}

/** The error's code (`ENOSPC`), or its text for an error without one. */
export function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already failing: the first error is the one reported.
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Never created, or already gone.
  }
}
