/**
 * The saved plan file (`--check --save-plan plan.json`): the run's identity and, per host, each task's
 * plan in order, as the dry run made it. `run apply plan.json` reads it back and holds the real run to it.
 *
 * @example plan.json
 *   { "format": "drover-plan/1", "createdAt": "2026-12-06T23:50:00.000Z", "runId": "…",
 *     "playbook": { "path": "/srv/site.ts", "sha256": "…" }, "inventory": { "path": "…", "sha256": "…" },
 *     "complete": true, "hosts": { "web1": [ { "key": "1.1 write motd", "module": "copy", … } ] } }
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { outputFileProblem, writeOutputFile } from '../output-file.ts';
import type { PlannedTask, PlanReview } from '../planned-task.ts';
import { Schema, SchemaError, s } from '../schema.ts';
import { UsageError } from './options.ts';

export const PLAN_FORMAT = 'drover-plan/1';

export interface SavedPlan {
  format: typeof PLAN_FORMAT;
  /** When the dry run started (ISO 8601, UTC): an apply refuses a plan older than --max-plan-age. */
  createdAt: string;
  /** The dry run's run id: its audit log shows the same plan as it was reported. */
  runId: string;
  operator: string;
  controller: string;
  playbook: { path: string; sha256: string };
  inventory: { path: string; sha256: string } | null;
  limit?: string;
  /** The dry run's --shard I/N: an apply runs the same part (the plan holds only its hosts). */
  shard?: string;
  tags: string[];
  skipTags: string[];
  /** As the audit log records them (`{ value, from }`), secret values masked. */
  extraVars?: Record<string, { value: unknown; from: string }>;
  /** False when the dry run failed, was interrupted or a host was unreachable: such a plan cannot be applied. */
  complete: boolean;
  /** Why the plan is not complete ("web2 failed"); empty when complete. */
  problems: string[];
  hosts: Record<string, PlannedTask[]>;
}

/** Collects each task's plan as a dry run makes it (the engine's review hook), per host in order. */
export class PlanRecorder {
  readonly hosts = new Map<string, PlannedTask[]>();

  readonly review: PlanReview = (host, planned) => {
    let tasks = this.hosts.get(host);
    if (!tasks) {
      tasks = [];
      this.hosts.set(host, tasks);
    }
    tasks.push(planned);
    return undefined;
  };
}

/**
 * Refuses before the run, as --audit-log does: a plan somebody reviewed is never replaced by another, and a
 * directory the plan cannot be written to is found before a dry run of many hosts, not after it.
 */
export function checkPlanPath(path: string): string {
  const absolute = resolve(path);
  const problem = outputFileProblem(absolute);
  if (problem === 'exists') throw new UsageError(`--save-plan ${path}: the file exists; a saved plan is never overwritten (choose another name or remove it)`);
  if (problem === 'is a directory')
    throw new UsageError(`--save-plan ${path} is a directory: give the name of a new file in it, e.g. ${path.replace(/\/$/, '')}/plan.json`);
  if (problem) throw new UsageError(`--save-plan ${path}: ${problem}; nothing was run. Choose a path in a directory you can write to`);
  return absolute;
}

/**
 * Writes the plan whole or not at all (runner/output-file.ts: a temporary file beside it, linked into
 * place), owner-only as an audit log is: diffs hold file contents. Returns its sha256, or the problem as a
 * sentence (`cannot write /srv/p.json (ENOSPC): …`); nothing is left behind on failure.
 */
export function writeSavedPlan(path: string, plan: SavedPlan): { sha256: string } | { problem: string } {
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  const written = writeOutputFile(path, text);
  if (!written.ok) {
    const why =
      written.code === 'EEXIST'
        ? 'the file appeared during the run and is left as it is'
        : written.code === 'ENOSPC'
          ? 'the file system is full; free space there or choose another path'
          : 'choose a path in a directory you can write to';
    return { problem: `cannot write the plan ${path} (${written.code}): ${why}; run the dry run again with --save-plan` };
  }
  return { sha256: createHash('sha256').update(text).digest('hex') };
}

/** Reads and checks a saved plan; its sha256 is of the file's bytes (what the apply's audit log names). */
export function readSavedPlan(path: string): { plan: SavedPlan; sha256: string; path: string } {
  const absolute = resolve(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolute);
  } catch (error) {
    throw new UsageError(`cannot read the plan ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new UsageError(`the plan ${path} is not JSON (${error instanceof Error ? error.message : String(error)}): make it with --check --save-plan`);
  }
  const problem = shapeProblem(parsed);
  if (problem) throw new UsageError(`the plan ${path} is not a drover plan (${problem}): make it with --check --save-plan`);
  return { plan: parsed as SavedPlan, sha256: createHash('sha256').update(bytes).digest('hex'), path: absolute };
}

/** What is wrong with a parsed plan file, or undefined; checks what the apply relies on. */
function shapeProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'not an object';
  if (value.format !== PLAN_FORMAT) return `format ${JSON.stringify(value.format)}, expected ${PLAN_FORMAT}`;
  if (typeof value.createdAt !== 'string' || Number.isNaN(Date.parse(value.createdAt))) return 'no valid createdAt';
  if (!isRecord(value.playbook) || typeof value.playbook.path !== 'string' || typeof value.playbook.sha256 !== 'string') return 'no playbook path and sha256';
  if (value.inventory !== null && (!isRecord(value.inventory) || typeof value.inventory.sha256 !== 'string')) return 'no inventory sha256';
  if (typeof value.complete !== 'boolean' || !Array.isArray(value.problems)) return 'no completeness';
  if (!Array.isArray(value.tags) || !Array.isArray(value.skipTags)) return 'no tags';
  if (!isRecord(value.hosts)) return 'no hosts';
  for (const [host, tasks] of Object.entries(value.hosts)) {
    if (!Array.isArray(tasks)) return `host ${host}: tasks are not a list`;
    for (const task of tasks) {
      if (!isRecord(task) || typeof task.key !== 'string' || !Array.isArray(task.commands) || !Array.isArray(task.diffs) || !Array.isArray(task.stdin))
        return `host ${host}: a task without key, commands, stdin or diffs`;
    }
  }
  return fieldProblem(value);
}

/** `null` or what `inner` accepts (a plan writes null for "none": no inventory, no fingerprint, no file before). */
class NullOr<Out, In> extends Schema<Out | null, In | null> {
  constructor(private readonly inner: Schema<Out, In, boolean>) {
    super();
  }
  parse(value: unknown, path: string): Out | null {
    return value === null ? null : this.inner.parse(value, path);
  }
  describe(): string {
    return `null or ${this.inner.describe()}`;
  }
}

/** Any JSON value (an extra variable's value, as -e gave it). */
class AnyValue extends Schema<unknown> {
  parse(value: unknown): unknown {
    return value;
  }
  describe(): string {
    return 'any value';
  }
}

const text = s.string();
const textOrNull = new NullOr(text);
const DIFF = s.union<unknown, unknown>(
  s.object({ kind: s.enum(['file']), path: text, before: textOrNull, after: textOrNull }),
  s.object({ kind: s.enum(['value']), name: text, before: textOrNull, after: textOrNull }),
);
const PLANNED_TASK = s.object({
  key: text,
  task: text,
  module: text,
  status: s.enum(['ok', 'changed', 'skipped']),
  changes: s.array(text),
  uncertain: s.boolean(),
  commands: s.array(text),
  stdin: s.array(text),
  diffs: s.array(DIFF),
  fingerprint: textOrNull,
});

/**
 * Every field of SavedPlan, typed, so that a hand-edited or corrupt plan is refused on load naming the
 * field (`extraVars.foo: expected a mapping with value, from`) instead of failing later inside the apply
 * (`"extraVars": "junk"` and `"limit": 5` were stack traces). Unknown fields are refused too: a plan is
 * written by drover, and a field it does not know is not one it would honour.
 */
const PLAN_FIELDS = s.object({
  format: s.enum([PLAN_FORMAT]),
  createdAt: text,
  runId: text,
  operator: text,
  controller: text,
  playbook: s.object({ path: text, sha256: text }),
  inventory: new NullOr(s.object({ path: text, sha256: text })),
  limit: s.string({ nonEmpty: true }).optional(),
  shard: s.string({ nonEmpty: true }).optional(),
  tags: s.array(text),
  skipTags: s.array(text),
  extraVars: s.record(s.object({ value: new AnyValue(), from: text })).optional(),
  complete: s.boolean(),
  problems: s.array(text),
  hosts: s.record(s.array(PLANNED_TASK)),
});

function fieldProblem(value: unknown): string | undefined {
  try {
    PLAN_FIELDS.parse(value, '');
    return undefined;
  } catch (error) {
    if (error instanceof SchemaError) return error.message;
    throw error;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `24h`, `90m`, `3600s`, `7d`, or seconds alone: how old a plan may be when applied. */
export function parseDuration(option: string, text: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(text);
  const seconds = match ? Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'] : NaN;
  if (!match || !(seconds > 0)) throw new UsageError(`${option} takes a duration like 30m, 24h or 7d (or seconds), got ${JSON.stringify(text)}`);
  return seconds * 1000;
}
