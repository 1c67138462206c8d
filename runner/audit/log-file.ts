/**
 * Opens the file an audit log is written to, refusing what would lose or mix up records: an existing file
 * (each run gets its own log; appending would chain two runs, overwriting would destroy one). An existing
 * character device (a terminal, /dev/null) is written to as it is. Every failure is an AuditLogError that
 * names the path and what to do, raised before anything runs on a host.
 */
import { closeSync, ftruncateSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { makeDirectories } from '../make-directories.ts';
import { dirname } from 'node:path';

/** The audit log cannot be created or written; the message names the path, the hint what to do. */
export class AuditLogError extends Error {
  constructor(
    readonly path: string,
    problem: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(`audit log ${path}: ${problem}`, options);
    this.name = 'AuditLogError';
  }
}

/** What to do when the log cannot be written: where it goes depends on whether --audit-log chose the path. */
function choose(chosen: boolean): string {
  return chosen
    ? 'choose a path for --audit-log in a directory you can write to, or leave the option out to get audit/RUN-ID.jsonl'
    : 'run drover from a directory where it can create audit/ (the default place of audit logs), or give --audit-log PATH in a directory you can write to';
}

export interface AuditLogFile {
  fd: number;
  /** Whether this run created the file (and may remove it again if even the first record cannot be written). */
  created: boolean;
  /** Bytes of whole records written so far: where a record cut short by a full disk is truncated back to. */
  written: number;
  /** Whether --audit-log named the path (else it is the default audit/RUN-ID.jsonl): decides the hints. */
  chosen: boolean;
}

/** `chosen`: the path came from --audit-log (false: the default audit/RUN-ID.jsonl), for the hints. */
export function openAuditLog(path: string, chosen = true): AuditLogFile {
  const existing = statOrUndefined(path);
  if (existing) {
    if (existing.isDirectory()) {
      throw new AuditLogError(
        path,
        'is a directory; --audit-log takes the path of a new file',
        `give a file name in it, e.g. ${path.replace(/\/$/, '')}/run.jsonl, or leave the option out to get audit/RUN-ID.jsonl`,
      );
    }
    if (!existing.isCharacterDevice()) {
      throw new AuditLogError(
        path,
        'already exists; drover never appends to or overwrites an audit log, since each run is one log',
        'choose a new path for --audit-log (e.g. with the date in its name), or leave the option out to get audit/RUN-ID.jsonl',
      );
    }
    return { fd: attempt(path, chosen, () => openSync(path, 'a')), created: false, written: 0, chosen };
  }
  makeParents(path, chosen);
  // 'wx': if another process creates the file between the check above and now, refuse rather than share it.
  return { fd: attempt(path, chosen, () => openSync(path, 'wx', 0o600)), created: true, written: 0, chosen };
}

/**
 * Writes one record whole; a failure (a full disk, /dev/full, an I/O error) becomes an AuditLogError. A
 * record the disk took only part of is cut off again, so the log ends with its last whole record: a
 * verifier then finds it incomplete (no closing record), not broken.
 */
export function writeRecord(file: AuditLogFile, path: string, line: string, first: boolean): void {
  const bytes = Buffer.from(line);
  let done = 0;
  try {
    // writeSync may take part of the buffer (a disk filling up): the rest is written, or fails, next.
    while (done < bytes.length) done += writeSync(file.fd, bytes, done, bytes.length - done);
    file.written += bytes.length;
  } catch (error) {
    if (done > 0 && file.created) {
      try {
        ftruncateSync(file.fd, file.written);
      } catch {
        // The truncation failing too leaves a cut last line, which the verifier reports as broken.
      }
    }
    if (first && file.created) {
      // Nothing of this run is in it; leaving an empty file would make the retry refuse the same path.
      closeSync(file.fd);
      unlinkSync(path);
    }
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AuditLogError(
      path,
      `cannot be written (${code})${first ? '; nothing was run' : ''}`,
      code === 'ENOSPC' ? `free space on that file system, or ${choose(file.chosen)}` : choose(file.chosen),
      { cause: error },
    );
  }
}

/** The log's missing parent directories, owner-only (runner/make-directories.ts says why not Node's mkdir -p). */
function makeParents(path: string, chosen: boolean): void {
  try {
    makeDirectories(dirname(path), 0o700);
  } catch (error) {
    const { code, path: level } = error as NodeJS.ErrnoException;
    throw new AuditLogError(path, `cannot create the directory ${level ?? dirname(path)} (${code ?? String(error)})`, choose(chosen), { cause: error });
  }
}

function attempt<T>(path: string, chosen: boolean, action: () => T, what = 'cannot be created'): T {
  try {
    return action();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AuditLogError(path, `${what} (${code})`, choose(chosen), { cause: error });
  }
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
