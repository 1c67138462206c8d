/**
 * One task's plan on one host as a saved plan records it and as an apply recomputes it: what a reviewer
 * approved is compared field by field with what is about to run, so "what ran is what was reviewed".
 *
 * @example
 *   { key: '1.2 write motd', task: 'write motd', module: 'copy', status: 'changed', uncertain: false,
 *     commands: ['install -m 0644 /dev/stdin /etc/motd'], stdin: ['sha256:…'], diffs: [...], fingerprint: '9f…' }
 *   // compared with the saved one by compareTasks (report/plan-compare.ts) before an apply runs it
 */
import { createHash } from 'node:crypto';
import type { Command } from './command.ts';
import type { Diff } from './module.ts';
import { Secret } from './secret.ts';

/** The status a plan predicts: `skipped` for a task --tags/--skip-tags left out. */
export type PlannedStatus = 'ok' | 'changed' | 'skipped';

export interface PlannedTask {
  /** Play number, task number within the play on this host, and the task's name: `1.3 write motd` (handlers `1.h2 …`). */
  key: string;
  task: string;
  module: string;
  status: PlannedStatus;
  /** The changes in words ("create /etc/motd (28 bytes)"), for people reading the plan; not compared (the diffs and commands are). */
  changes: string[];
  /** Check mode cannot know the outcome (a command): "would run". */
  uncertain: boolean;
  /** Each command as displayed (the script body, with the become prefix), secrets masked. */
  commands: string[];
  /** What each command is given on stdin: `sha256:HEX` of the bytes, `secret`, `stream of N bytes`, or `none`. */
  stdin: string[];
  diffs: Diff[];
  /** sha256 of every fact and probe output the planner read; null when the task was not planned (skipped). */
  fingerprint: string | null;
}

/** Prefix of the fingerprint of a task planned in a dry run from predicted state (runner/predicted-state.ts). */
export const PREDICTED_FINGERPRINT = 'predicted:';

/** What a command gives on stdin, in a form that can be saved and compared without holding a secret. */
export function stdinDigest(command: Command): string {
  const stdin = command.stdin;
  if (stdin === undefined) return 'none';
  if (stdin instanceof Secret) return 'secret';
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) return `sha256:${createHash('sha256').update(stdin).digest('hex')}`;
  return `stream of ${stdin.size} bytes`;
}

/**
 * The engine's hook into saved plans, called for each task on each host once it is planned and before
 * anything of it runs. A check run records (returns undefined); an apply compares with the reviewed
 * task and returns what differs, which fails the task before any of its commands is sent.
 */
export type PlanReview = (host: string, planned: PlannedTask) => string | undefined;
