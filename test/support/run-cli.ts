/**
 * Runs the installed CLI (`node bin/drover.js …`) as an operator would and collects what it printed, with
 * a time limit after which it is killed (its process group) and `timedOut` is set instead of hanging the
 * test run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TaskResult } from '../../runner/result.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export function runCli(args: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'bin/drover.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', ...options.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr, timedOut, durationMs: Date.now() - started });
    });
  });
}

export interface JsonRun extends CliRun {
  /** The task results from the `task-result` events of `--json`, in order. */
  results: TaskResult[];
}

/** A run with `--json` and its own audit log; its task results parsed from the JSON events. */
export async function runJson(args: string[], options: { timeoutMs?: number } = {}): Promise<JsonRun> {
  const auditLog = join(mkdtempSync(join(tmpdir(), 'drover-json-audit-')), 'audit.jsonl');
  const run = await runCli([...args, '--json', '--audit-log', auditLog], { timeoutMs: options.timeoutMs ?? 600_000 });
  const results = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      const event = JSON.parse(line) as { kind: string; result?: TaskResult };
      return event.kind === 'task-result' && event.result ? [event.result] : [];
    });
  return { ...run, results };
}
