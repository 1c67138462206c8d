/**
 * `audit show FILE`: the audit log for people, one line or block per record, with the chain verdict.
 * A log may be hostile or damaged (hand-edited, cut, not a log at all): a line that is not JSON, or JSON
 * that is not a record (`null`, a list, an object without a kind), is shown as such, and every value
 * from the log is escaped (runner/printable.ts) before it reaches the terminal.
 */
import { printable, printableText } from '../printable.ts';
import { describeVerdict, verifyChain } from './chain.ts';

export function showAuditLog(text: string): string {
  const out: string[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      out.push(`!! line ${index + 1} is not JSON: ${printable(line.slice(0, 120))}`);
      continue;
    }
    if (!isRecord(record) || typeof record.kind !== 'string') {
      out.push(`!! line ${index + 1} is JSON but not an audit record: ${printable(line.slice(0, 120))}`);
      continue;
    }
    out.push(formatRecord(record));
  }
  const verdict = verifyChain(text);
  out.push(`chain: ${describeVerdict(verdict)}`);
  return out.join('\n');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value of the log as one line of text: escaped, `?` where the record lacks it. */
function field(value: unknown): string {
  if (value === undefined || value === null) return '?';
  return printable(typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value));
}

/** A list from the log, or none where the record holds something else. */
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** An object from the log, or an empty one where the record holds something else. */
function object(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** Text of many lines from the log (a host's output), escaped and indented; nothing when absent. */
function block(value: unknown, indent: string): string {
  if (typeof value !== 'string' || !value.trim()) return '';
  return `\n${printableText(value.trimEnd())
    .split('\n')
    .map((line) => `${indent}${line}`)
    .join('\n')}`;
}

/** `\n    plan: FILE sha256 … (dry run RUN-ID)` for an apply's run-start. */
function planLine(plan: unknown): string {
  if (!isRecord(plan)) return '';
  const { path, sha256, runId, createdAt } = plan;
  return `\n    plan: ${field(path)} sha256 ${field(sha256)} (dry run ${field(runId)} of ${field(createdAt)})`;
}

/** ` · shard 2/4 (5 of 20 hosts)` for a --shard run's run-start. */
function shardLine(shard: unknown): string {
  if (!isRecord(shard)) return '';
  const { index, count, hosts, selectedHosts } = shard;
  return ` · shard ${field(index)}/${field(count)} (${field(hosts)} of ${field(selectedHosts)} hosts)`;
}

function formatRecord(r: Record<string, unknown>): string {
  const time = field(r.time)
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  const prefix = `#${field(r.seq)} ${time}`;
  switch (r.kind) {
    case 'run-start':
      return `${prefix} RUN ${field(r.runId)} by ${field(r.operator)} on ${field(r.controller)} · ${field(r.mode)} · ${field(
        object(r.playbook).path ?? r.runKind,
      )}${shardLine(r.shard)}${planLine(r.plan)}\n    argv: ${printable(JSON.stringify(r.argv ?? null))}\n    hosts: ${list(r.hosts).map(field).join(', ')}`;
    case 'merge': {
      const parts = list(r.parts).map(object);
      return [
        `${prefix} MERGE of ${parts.length} of ${field(r.shardCount)} shard(s) of ${field(r.selectedHosts)} host(s) · whole run exit ${field(r.exitCode)}`,
        ...parts.map(
          (part) =>
            `    shard ${field(part.shard)}: ${field(part.file)} sha256 ${field(part.sha256).slice(0, 16)}… ${field(part.records)} records, exit ${field(part.exitCode)}`,
        ),
        ...list(r.missing).map((shard) => `    shard ${field(shard)}: MISSING`),
      ].join('\n');
    }
    case 'shard-end':
      return `${prefix} SHARD ${field(object(r.source).shard)} END exit ${field(r.exitCode)}${r.interrupted ? ' (interrupted)' : ''} after ${field(r.durationMs)} ms`;
    case 'task':
    case 'handler': {
      const firstLine = typeof r.msg === 'string' ? r.msg.split('\n')[0] : r.msg;
      const lines = [
        `${prefix} ${field(typeof r.status === 'string' ? r.status.toUpperCase() : r.status)} ${field(r.host)} · ${field(r.task)} [${field(r.module)}]${r.checkMode ? ' (check)' : ''} · ${field(firstLine)}`,
      ];
      for (const command of list(r.commands)) lines.push(...commandLines(object(command)));
      return lines.join('\n');
    }
    case 'host-output':
      return `${prefix} OUTPUT ${field(r.host)} rc=${field(r.exitCode)}${block(r.stdoutTail, '    ')}${block(r.stderrTail, '    stderr: ')}`;
    case 'run-end':
      return `${prefix} END exit ${field(r.exitCode)}${r.interrupted ? ' (interrupted)' : ''} after ${field(r.durationMs)} ms\n${list(r.recap)
        .map(object)
        .map(
          (line) =>
            `    ${field(line.host)}: ok=${field(line.ok)} changed=${field(line.changed)} failed=${field(line.failed)} unreachable=${field(line.unreachable)} ignored=${field(line.ignored ?? 0)}`,
        )
        .join('\n')}`;
    default:
      return `${prefix} ${printable(String(r.kind).toUpperCase())} ${[r.host, r.play, r.message, r.reason].filter(Boolean).map(field).join(' · ')}`;
  }
}

/** Lines of a command shown in `audit show`; the record keeps it whole. */
const COMMAND_LINES_SHOWN = 12;

/**
 * A command as it ran, from its first line (a reviewer must see what it does, not the tail of a wrapper),
 * indented; a long one is cut after COMMAND_LINES_SHOWN lines, saying how many more the record holds.
 */
function commandLines(command: Record<string, unknown>): string[] {
  const text = String(command.line ?? '').split('\n');
  const shown = text.slice(0, COMMAND_LINES_SHOWN).map((line, index) => `${index === 0 ? '$' : ' '} ${printable(line).slice(0, 200)}`);
  if (text.length > COMMAND_LINES_SHOWN) shown.push(`  … ${text.length - COMMAND_LINES_SHOWN} more line(s), in the record`);
  return [`    ${command.executed ? `rc=${field(command.exitCode)}` : 'not run'}`, ...shown.map((line) => `      ${line}`)];
}
