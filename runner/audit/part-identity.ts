/**
 * What makes shard logs parts of one run, for `audit merge`: the run-start fields that decide what ran, on
 * which selection and how. Two parts that differ in any of them are two runs, whatever their shard numbers.
 *
 * Compared: the kind of run; the playbook's sha256 and the git commit it ran from (when both parts record
 * one: a job may run from a copy without .git); the inventory file's sha256; an ad-hoc run's command, or its
 * module and parameters, and --become; check or apply, --detect-drift and --keep-going; --limit, --tags and
 * --skip-tags (as sets: `a,b` is `b,a`); each extra variable's value as recorded (a secret-named one is
 * masked in the log, so two secrets cannot be told apart); the saved plan an apply follows (its sha256); N;
 * and the selection's host count and digest.
 *
 * Not compared, because they differ between the jobs of one run without the run being another: the run id,
 * times, operator and controller (each job is its own process, on its own machine); argv, which holds
 * --shard and --audit-log (everything else in it is one of the fields above); the working directory and
 * the playbook's, inventory's and plan's paths (each job's checkout may sit elsewhere; the contents are
 * compared by sha256); where an extra variable came from (`-e @/abs/vars.yaml` names a path; its value is
 * compared); git's dirty flag (it does not say which files, so equal flags prove nothing and unequal ones
 * can be a generated file; the playbook's sha256 and the commit are the evidence); --diff (display only:
 * the log keeps every diff either way); forks, timeouts and verbosity (not recorded; they tune the job,
 * not what it does); the shard's index and host count (what makes it a part).
 */

/** One compared field: its name in messages, its value in canonical JSON, and whether it may be absent in one part. */
interface IdentityField {
  field: string;
  value: string;
  /** Compared only when both parts record it (git commit). */
  whenBoth?: boolean;
}

/** A part's run-start record and shard fields, as merge.ts reads them. */
export interface PartStart {
  start: Record<string, unknown>;
  shard: { count: number; selectedHosts: number; selectedDigest: string };
}

/** The run-start fields two parts of one run must agree on (see the module comment). */
export function partIdentity({ start, shard }: PartStart): IdentityField[] {
  const field = (name: string, value: unknown, whenBoth = false): IdentityField[] =>
    whenBoth && value === undefined ? [] : [{ field: name, value: canonical(value), whenBoth }];
  const adhoc = object(start.adhoc);
  const params = object(adhoc?.params);
  const extraVars = object(start.extraVars) ?? {};
  return [
    ...field('kind of run', start.runKind),
    ...field('playbook sha256', object(start.playbook)?.sha256),
    ...field('git commit', object(start.git)?.commit, true),
    ...field('inventory sha256', object(start.inventory)?.sha256),
    ...(start.runKind === 'exec'
      ? field('command (after --)', params?.cmd)
      : start.runKind === 'module'
        ? [...field('module', adhoc?.module), ...field('module parameters', params)]
        : []),
    ...(start.runKind === 'playbook' ? [] : field('--become', adhoc?.become ?? false)),
    ...field('mode', start.mode),
    ...field('--detect-drift', start.detectDrift === true),
    ...field('--keep-going', start.keepGoing === true),
    ...field('--limit', start.limit),
    ...field('--tags', asSet(start.tags)),
    ...field('--skip-tags', asSet(start.skipTags)),
    ...Object.keys(extraVars)
      .sort()
      .flatMap((key) => field(`extra variable ${key}`, object(extraVars[key])?.value)),
    ...field('saved plan sha256', object(start.plan)?.sha256),
    ...field('shard count N', shard.count),
    ...field('selected-host count', shard.selectedHosts),
    ...field('selected-host digest', shard.selectedDigest),
  ];
}

/** A field in which a part differs from the first part, with both values as shown in messages. */
export interface IdentityDifference {
  field: string;
  value: string;
  expected: string;
}

/**
 * How `part` differs from `first` in its identity, one entry per field, extra variables set in only one of
 * them included. Empty: the same run.
 */
export function identityDifferences(first: PartStart, part: PartStart): IdentityDifference[] {
  const wanted = new Map(partIdentity(first).map((entry) => [entry.field, entry]));
  const got = new Map(partIdentity(part).map((entry) => [entry.field, entry]));
  const differences: IdentityDifference[] = [];
  for (const name of new Set([...wanted.keys(), ...got.keys()])) {
    const a = got.get(name);
    const b = wanted.get(name);
    if ((a?.whenBoth || b?.whenBoth) && (!a || !b)) continue;
    if (a?.value !== b?.value) differences.push({ field: name, value: a?.value ?? NOT_SET, expected: b?.value ?? NOT_SET });
  }
  return differences;
}

function object(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Tags as a set: the order they were given in changes nothing. */
function asSet(value: unknown): string[] {
  return Array.isArray(value) ? [...new Set(value.map(String))].sort() : [];
}

const NOT_SET = '(not set)';

/** JSON with object keys sorted, so that equal values compare equal as text; undefined is NOT_SET. */
function canonical(value: unknown): string {
  if (value === undefined) return NOT_SET;
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  const record = object(value);
  if (!record) return value;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, sortKeys(record[key])]),
  );
}
