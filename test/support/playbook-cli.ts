/**
 * A playbook run through the real CLI (`node bin/drover.js`) against lab hosts: an inventory with the
 * first host as the control plane and the others as workers, its own audit log, and the audit records
 * parsed back for the test to read.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from './run-cli.ts';
import type { LabTarget } from './targets.ts';

/** An audit record, as loosely as a test reads it. */
export type AuditRecord = Record<string, unknown> & { kind: string; host?: string; task?: string; module?: string; status?: string; msg?: string };

export interface PlaybookRun extends CliRun {
  auditText: string;
  records: AuditRecord[];
}

/**
 * `control_plane` is the first host, `workers` the others; every host connects as root. `hostVars` adds
 * lines (already indented) under a host, `vars` adds variables for all hosts.
 */
export function labInventory(targets: LabTarget[], hostVars: Record<string, string> = {}, vars: Record<string, string> = {}): string {
  const host = (target: LabTarget) =>
    `            ${target.name}:\n              ansible_host: ${target.address}\n              ansible_user: root\n              ansible_ssh_private_key_file: ${target.keyPath}\n${hostVars[target.name] ?? ''}`;
  const allVars = Object.entries({ drover_known_hosts_file: targets[0]!.knownHostsPath, ...vars })
    .map(([name, value]) => `    ${name}: ${value}\n`)
    .join('');
  const text = `all:\n  vars:\n${allVars}  children:\n    k8s:\n      children:\n        control_plane:\n          hosts:\n${host(targets[0]!)}        workers:\n          hosts:\n${targets.slice(1).map(host).join('')}`;
  const path = join(mkdtempSync(join(tmpdir(), 'drover-inv-')), 'inventory.yaml');
  writeFileSync(path, text);
  return path;
}

export async function runPlaybookCli(playbook: string, inventory: string, args: string[] = [], timeoutMs = 240_000): Promise<PlaybookRun> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'drover-audit-')), 'audit.jsonl');
  const run = await runCli([playbook, '-i', inventory, '--audit-log', auditPath, ...args], { timeoutMs });
  let auditText = '';
  try {
    auditText = readFileSync(auditPath, 'utf8');
  } catch {
    // No audit log: the run failed before it started; the test shows stdout/stderr.
  }
  const records = auditText
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord);
  return { ...run, auditText, records };
}

/** The task records of one host and task name. */
export function taskRecords(run: PlaybookRun, host: string, task: string): AuditRecord[] {
  return run.records.filter((record) => record.kind === 'task' && record.host === host && record.task === task);
}
