/**
 * User and group names, and the passwd/group fields the user and group modules read and write: what
 * shadow-utils accepts by default, checked before anything reaches a host, so a hostile or mistyped name
 * fails as invalid input with the rule it broke.
 */
import { posix } from 'node:path';
import type { Plan } from '../../runner/module.ts';
import type { Effect, PredictedView } from '../../runner/predicted-state.ts';
import { s } from '../../runner/schema.ts';

/** The account databases useradd, usermod, userdel, groupadd and their kin rewrite. */
const ACCOUNT_FILES = ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow', '/etc/subuid', '/etc/subgid'];

/**
 * In a dry run: the user and group modules read the account databases through getent, which no prediction
 * answers, so an earlier change of them (a group created before a user that joins it) makes this task
 * depend on that one ("would run") instead of planning, or failing, from the host as it is.
 */
export function noteAccountReads(predicted: PredictedView): void {
  for (const path of ACCOUNT_FILES) predicted.reads('files', path, 'the users and groups');
}

/**
 * What an account change leaves for a dry run's later tasks: the account databases, the homes it creates,
 * moves or removes, and the mail spool, changed in ways drover does not predict line by line. Set on
 * every change of the plan that does not declare its own (the authorized keys file does).
 */
export function withAccountEffects(plan: Plan, homes: readonly string[] = []): Plan {
  const effects: Effect[] = [...ACCOUNT_FILES, ...homes, '/var/mail'].map((under) => ({
    kind: 'unknown',
    domains: ['files'],
    under,
    what: under.startsWith('/etc/') ? 'the users and groups' : `what the account change does in ${under}`,
  }));
  for (const change of plan.changes) change.effects ??= effects;
  return plan;
}

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
