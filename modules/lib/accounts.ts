/**
 * User and group names, and the passwd/group fields the user and group modules read and write: what
 * shadow-utils accepts by default, checked before anything reaches a host, so a hostile or mistyped name
 * fails as invalid input with the rule it broke.
 */
import { posix } from 'node:path';
import { s } from '../../runner/schema.ts';

/** useradd and groupadd cut names at 32 characters (utmp's ut_user); longer ones are refused. */
export const MAX_ACCOUNT_NAME = 32;
// shadow-utils' default is_valid_user_name(): a lowercase letter or underscore, then lowercase letters,
// digits, underscores and hyphens, optionally one trailing `$` (Samba machine accounts).
const ACCOUNT_NAME = /^[a-z_][a-z0-9_-]*\$?$/;

/** Why `name` is not a user or group name shadow-utils accepts by default, or undefined when it is. */
export function accountNameProblem(name: string, what: 'user' | 'group'): string | undefined {
  if (name === '') return `a ${what} name must not be empty`;
  if (name.length > MAX_ACCOUNT_NAME) return `${JSON.stringify(name.slice(0, 40))}… is longer than ${MAX_ACCOUNT_NAME} characters`;
  if (!ACCOUNT_NAME.test(name)) {
    return `${JSON.stringify(name)} is not a valid ${what} name: start with a lowercase letter or _, then lowercase letters, digits, _ or - (a trailing $ is allowed)`;
  }
  return undefined;
}

/** Schema for a user or group name (see accountNameProblem). */
export const accountName = (what: 'user' | 'group') => s.string({ what: `a ${what} name` }).refine((name) => accountNameProblem(name, what));

/** A group given by name or by numeric id (a primary group may be either, as in useradd -g). */
export const groupRef = () =>
  s.string({ what: 'a group name or gid' }).refine((value) => (/^\d+$/.test(value) ? undefined : accountNameProblem(value, 'group')));

/** Numeric ids: 0 to 2^32 − 2 ((uid_t)-1 means "no change" to the kernel and cannot be used). */
export const accountId = () => s.int({ min: 0, max: 4_294_967_294 });

/**
 * A passwd field that holds a path (home, shell): absolute, and free of the `:` and line breaks that
 * would split the passwd line. Normalise it with `normaliseAccountPath` before comparing.
 */
export const passwdPath = (what: string) => s.string({ pattern: /^\/[^:\n\r]*$/, what: `${what}: an absolute path without ":" or line breaks` });

/** `/home//alice/` → `/home/alice`, `/home/x/../alice` → `/home/alice`: the form passwd stores and getent prints. */
export function normaliseAccountPath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}
