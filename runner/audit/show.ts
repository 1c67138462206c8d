/** `audit show FILE`: the audit log for people, one line or block per record, with the chain verdict. */
import { printable } from '../printable.ts';
import { describeVerdict, verifyChain } from './chain.ts';

export function showAuditLog(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      out.push(`!! unreadable line: ${line.slice(0, 120)}`);
      continue;
    }
    out.push(formatRecord(record));
  }
  const verdict = verifyChain(text);
  out.push(`chain: ${describeVerdict(verdict)}`);
  return out.join('\n');
}

/** `\n    plan: FILE sha256 … (dry run RUN-ID)` for an apply's run-start. */
function planLine(plan: unknown): string {
  if (!plan || typeof plan !== 'object') return '';
  const { path, sha256, runId, createdAt } = plan as Record<string, unknown>;
  return `\n    plan: ${printable(String(path))} sha256 ${String(sha256)} (dry run ${String(runId)} of ${String(createdAt)})`;
}

/** ` · shard 2/4 (5 of 20 hosts)` for a --shard run's run-start. */
function shardLine(shard: unknown): string {
  if (!shard || typeof shard !== 'object') return '';
  const { index, count, hosts, selectedHosts } = shard as Record<string, unknown>;
  return ` · shard ${String(index)}/${String(count)} (${String(hosts)} of ${String(selectedHosts)} hosts)`;
}

function formatRecord(r: Record<string, unknown>): string {
  const time = String(r.time ?? '')
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  const prefix = `#${String(r.seq)} ${time}`;
  switch (r.kind) {
    case 'run-start':
      return `${prefix} RUN ${String(r.runId)} by ${String(r.operator)} on ${String(r.controller)} · ${String(r.mode)} · ${
        (r.playbook as { path?: string } | undefined)?.path ?? String(r.runKind)
      }${shardLine(r.shard)}${planLine(r.plan)}\n    argv: ${JSON.stringify(r.argv)}\n    hosts: ${(r.hosts as string[] | undefined)?.map((host) => printable(String(host))).join(', ') ?? ''}`;
    case 'merge': {
      const parts = (r.parts as Array<Record<string, unknown>> | undefined) ?? [];
      const missing = (r.missing as number[] | undefined) ?? [];
      return [
        `${prefix} MERGE of ${parts.length} of ${String(r.shardCount)} shard(s) of ${String(r.selectedHosts)} host(s) · whole run exit ${String(r.exitCode)}`,
        ...parts.map(
          (part) =>
            `    shard ${String(part.shard)}: ${printable(String(part.file))} sha256 ${String(part.sha256).slice(0, 16)}… ${String(part.records)} records, exit ${String(part.exitCode)}`,
        ),
        ...missing.map((shard) => `    shard ${shard}: MISSING`),
      ].join('\n');
    }
    case 'shard-end':
      return `${prefix} SHARD ${String((r.source as { shard?: unknown } | undefined)?.shard)} END exit ${String(r.exitCode)}${r.interrupted ? ' (interrupted)' : ''} after ${String(r.durationMs)} ms`;
    case 'task':
    case 'handler': {
      const commands = (r.commands as Array<{ line: string; executed: boolean; exitCode: number | null }> | undefined) ?? [];
      const lines = [
        `${prefix} ${String(r.status).toUpperCase()} ${printable(String(r.host))} · ${printable(String(r.task))} [${String(r.module)}]${r.checkMode ? ' (check)' : ''} · ${String(r.msg).split('\n')[0]}`,
      ];
      for (const command of commands) lines.push(...commandLines(command));
      return lines.join('\n');
    }
    case 'host-output':
      return `${prefix} OUTPUT ${printable(String(r.host))} rc=${String(r.exitCode)}\n${String(r.stdoutTail ?? '')
        .split('\n')
        .map((line) => `    ${line}`)
        .join('\n')}`;
    case 'run-end':
      return `${prefix} END exit ${String(r.exitCode)}${r.interrupted ? ' (interrupted)' : ''} after ${String(r.durationMs)} ms\n${(
        (r.recap as Array<Record<string, unknown>> | undefined) ?? []
      )
        .map(
          (line) =>
            `    ${printable(String(line.host))}: ok=${String(line.ok)} changed=${String(line.changed)} failed=${String(line.failed)} unreachable=${String(line.unreachable)} ignored=${String(line.ignored ?? 0)}`,
        )
        .join('\n')}`;
    default:
      return `${prefix} ${String(r.kind).toUpperCase()} ${[r.host, r.play, r.message, r.reason]
        .filter(Boolean)
        .map((part) => printable(String(part)))
        .join(' · ')}`;
  }
}

/** Lines of a command shown in `audit show`; the record keeps it whole. */
const COMMAND_LINES_SHOWN = 12;

/**
 * A command as it ran, from its first line (a reviewer must see what it does, not the tail of a wrapper),
 * indented; a long one is cut after COMMAND_LINES_SHOWN lines, saying how many more the record holds.
 */
function commandLines(command: { line: string; executed: boolean; exitCode: number | null }): string[] {
  const text = command.line.split('\n');
  const shown = text.slice(0, COMMAND_LINES_SHOWN).map((line, index) => `${index === 0 ? '$' : ' '} ${printable(line).slice(0, 200)}`);
  if (text.length > COMMAND_LINES_SHOWN) shown.push(`  … ${text.length - COMMAND_LINES_SHOWN} more line(s), in the record`);
  return [`    ${command.executed ? `rc=${command.exitCode}` : 'not run'}`, ...shown.map((line) => `      ${line}`)];
}
