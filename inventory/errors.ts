/**
 * The two ways an inventory can be wrong, kept apart so the CLI can treat them differently (a pattern that
 * matches nothing may become a warning; a malformed file never runs anything).
 */

/** Where in which file a problem is; `line` is 1-based and absent when the problem is the file as a whole. */
export interface Where {
  readonly file: string;
  readonly line?: number;
}

/** A malformed or inconsistent inventory: names the file, the line, the problem and what to do about it. */
export class InventoryError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  /** What is wrong, without the location (e.g. `hosts of group "web" must be a mapping, got a list`). */
  readonly problem: string;
  /** What to do next. */
  readonly hint: string;

  constructor(where: Where, problem: string, hint: string, options?: { cause?: unknown }) {
    const at = where.line === undefined ? where.file : `${where.file}:${where.line}`;
    super(`${at}: ${problem}. ${hint}`, options);
    this.name = 'InventoryError';
    this.file = where.file;
    this.line = where.line;
    this.problem = problem;
    this.hint = hint;
  }
}

/**
 * Why a pattern failed: `invalid`, it cannot be read at all (a broken ~regex, an empty term as in `a:&`,
 * `@file`), which is an error wherever it is written; `no-match`, it is well formed but selects nothing here
 * (a name that is no host or group, an empty group, an index beyond the hosts), which a play may treat as
 * "skip this play".
 */
export type HostPatternProblem = 'invalid' | 'no-match';

/** A host pattern (or --limit) that is malformed or selects nothing; lists the groups that exist. */
export class HostPatternError extends Error {
  constructor(
    /** The whole pattern as given. */
    readonly pattern: string,
    /** The part of it that failed (one term of a union, or the whole pattern when the result is empty). */
    readonly term: string,
    message: string,
    /** Every group in the inventory, for the message and for a caller that wants to suggest one. */
    readonly groups: readonly string[],
    readonly problem: HostPatternProblem = 'no-match',
  ) {
    super(message);
    this.name = 'HostPatternError';
  }
}
