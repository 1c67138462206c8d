/**
 * `audit report`: what an audit log says, arranged for review. Hosts that would change (or changed) in
 * exactly the same way — the same change summaries and the same diffs — form one group, so a fleet of
 * eighteen identical nodes is one line ("18 hosts: set net.ipv4.ip_forward 0 → 1") and the one odd host
 * stands out. Failures and unreachable hosts are gathered first. This module only builds the model; the
 * HTML and Markdown renderers (audit-report-html.ts, audit-report-markdown.ts) draw it.
 *
 * Example: `renderHtml(buildRunReports([{ path, text, chain: { status: 'intact', text: '…' }, signature: { status: 'missing', text: 'unsigned' } }]))`.
 *
 * The log is hostile input as much as any host's output: every string here is raw, and the renderers escape.
 */
import type { Diff } from '../module.ts';
import { renderDiff } from './diff.ts';

/** The chain verdict of runner/audit/chain.ts, as the caller (the CLI) found it: reports do not verify. */
export interface ChainSummary {
  status: 'intact' | 'broken' | 'incomplete';
  /** One line for people (describeVerdict). */
  text: string;
}

/** The signature verdict of runner/audit/sign.ts (verifyAuditSignature, describeSignature), as the caller found it. */
export interface SignatureSummary {
  /** trusted: by an allowed key; unchecked: matches, signer not checked; untrusted: by a key not allowed; bad: does not match; missing: no LOG.sig. */
  status: 'trusted' | 'unchecked' | 'untrusted' | 'bad' | 'missing';
  /** One line for people. */
  text: string;
}

/** One log to report on, with the verdicts on its chain and its signature sidecar (LOG.sig). */
export interface AuditLogInput {
  path: string;
  text: string;
  chain: ChainSummary;
  signature: SignatureSummary;
}

/** Who ran what, where, how and when: the top of the report. Fields are absent when the log lacks them. */
export interface RunIdentity {
  runId?: string;
  operator?: string;
  controller?: string;
  cwd?: string;
  argv?: string[];
  runKind?: string;
  playbook?: { path: string; sha256: string };
  git?: { commit: string; dirty: boolean };
  inventory?: { path: string; sha256: string };
  mode?: string;
  diff?: boolean;
  limit?: string;
  tags: string[];
  skipTags: string[];
  startedAt?: string;
  /** The log holds its closing run-end record (whatever the chain says of it). */
  closed: boolean;
  endedAt?: string;
  durationMs?: number;
  exitCode?: number;
  interrupted?: boolean;
  hosts: string[];
}

/** Hosts whose results of one task are the same. */
export interface HostGroup {
  hosts: string[];
  /** The change lines (or the message, where a result has none). */
  lines: string[];
  /** Rendered diffs (unified for files, `before → after` for values). */
  diffs: string[];
  /** A check-mode result drover could not predict ("would run"). */
  uncertain: boolean;
}

/** A failure, with what the operator needs to act on it; hosts failing identically are one entry. */
export interface FailureGroup {
  taskId: string;
  task: string;
  play?: string;
  module: string;
  hosts: string[];
  message: string;
  hint?: string;
  /** The failing command (the last one executed) and its exit code and stderr tail. */
  command?: string;
  exitCode?: number | null;
  stderrTail?: string;
}

export interface UnreachableGroup {
  hosts: string[];
  message: string;
  hint?: string;
}

export interface TaskReport {
  /** A stable anchor for links from the side list. */
  id: string;
  play?: string;
  name: string;
  module: string;
  handler: boolean;
  changed: HostGroup[];
  ok: string[];
  skipped: string[];
  failed: string[];
  /** Failed, but the playbook ignores the failure (ignoreErrors). */
  ignored: string[];
  unreachable: string[];
}

export interface RunReport {
  path: string;
  identity: RunIdentity;
  chain: ChainSummary;
  signature: SignatureSummary;
  /** Lines that are not JSON records (a damaged log); the chain verdict says more. */
  unreadableLines: number;
  /** Why the run stopped early, if it did (fail-fast, Ctrl-C, max-fail-percentage). */
  stops: string[];
  warnings: string[];
  failures: FailureGroup[];
  unreachable: UnreachableGroup[];
  tasks: TaskReport[];
  totals: { hosts: number; hostsChanged: number; changed: number; ok: number; skipped: number; failed: number; unreachable: number };
}

export function buildRunReports(logs: AuditLogInput[]): RunReport[] {
  return logs.map((log, index) => buildRunReport(log, logs.length > 1 ? `log${index + 1}-` : ''));
}

type Rec = Record<string, unknown>;

export function buildRunReport(log: AuditLogInput, idPrefix = ''): RunReport {
  const identity: RunIdentity = { tags: [], skipTags: [], hosts: [], closed: false };
  const stops: string[] = [];
  const warnings: string[] = [];
  const unreachable = new Map<string, UnreachableGroup>();
  const tasks = new Map<string, { report: TaskReport; groups: Map<string, HostGroup> }>();
  const failures = new Map<string, FailureGroup>();
  // How often each host has met a task of this name in this play: a loop or a repeated name is a new row.
  const seen = new Map<string, number>();
  let play: string | undefined;
  let unreadableLines = 0;

  for (const line of log.text.split('\n')) {
    if (!line.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      unreadableLines++;
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      unreadableLines++;
      continue;
    }
    const record = parsed as Rec;
    switch (record.kind) {
      case 'run-start':
        readStart(record, identity);
        break;
      case 'run-end':
        identity.closed = true;
        identity.endedAt = str(record.time);
        identity.durationMs = num(record.durationMs);
        identity.exitCode = num(record.exitCode);
        identity.interrupted = record.interrupted === true;
        break;
      case 'play-start':
        play = str(record.play);
        break;
      case 'stopping':
        stops.push(`${str(record.reason) ?? 'stopped'}: ${str(record.message) ?? ''}`);
        break;
      case 'warning':
        warnings.push(`${str(record.host) ? `${str(record.host)}: ` : ''}${str(record.message) ?? ''}`);
        break;
      case 'host-unreachable': {
        const host = str(record.host) ?? '?';
        addUnreachable(unreachable, host, str(record.message) ?? 'unreachable', str(record.hint));
        break;
      }
      case 'task':
      case 'handler': {
        const host = str(record.host) ?? '?';
        const name = str(record.task) ?? '?';
        const handler = record.kind === 'handler';
        const base = JSON.stringify([play ?? '', handler, name]);
        const occurrence = (seen.get(JSON.stringify([base, host])) ?? 0) + 1;
        seen.set(JSON.stringify([base, host]), occurrence);
        const key = JSON.stringify([base, occurrence]);
        let entry = tasks.get(key);
        if (!entry) {
          entry = {
            report: {
              id: `${idPrefix}task-${tasks.size + 1}`,
              play,
              name,
              module: str(record.module) ?? '?',
              handler,
              changed: [],
              ok: [],
              skipped: [],
              failed: [],
              ignored: [],
              unreachable: [],
            },
            groups: new Map(),
          };
          tasks.set(key, entry);
        }
        addResult(entry, record, host, failures, unreachable);
        break;
      }
      default:
        break;
    }
  }

  const taskReports = [...tasks.values()].map(({ report }) => report);
  // The biggest group first: the fleet's common change, then the hosts that differ from it.
  const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  for (const task of taskReports) {
    for (const group of task.changed) group.hosts.sort(byName);
    task.changed.sort((a, b) => b.hosts.length - a.hosts.length || byName(a.hosts[0]!, b.hosts[0]!));
  }
  const allHosts = new Set(identity.hosts);
  const changedHosts = new Set<string>();
  const totals = { hosts: 0, hostsChanged: 0, changed: 0, ok: 0, skipped: 0, failed: 0, unreachable: unreachable.size };
  for (const task of taskReports) {
    for (const group of task.changed) {
      totals.changed += group.hosts.length;
      for (const host of group.hosts) changedHosts.add(host);
    }
    totals.ok += task.ok.length;
    totals.skipped += task.skipped.length;
    totals.failed += task.failed.length;
    for (const host of [...task.ok, ...task.skipped, ...task.failed, ...task.ignored, ...task.unreachable]) allHosts.add(host);
  }
  for (const group of unreachable.values()) for (const host of group.hosts) allHosts.add(host);
  totals.hosts = allHosts.size;
  totals.hostsChanged = changedHosts.size;

  return {
    path: log.path,
    identity,
    chain: log.chain,
    signature: log.signature,
    unreadableLines,
    stops,
    warnings,
    failures: [...failures.values()],
    unreachable: [...unreachable.values()],
    tasks: taskReports,
    totals,
  };
}

function readStart(record: Rec, identity: RunIdentity): void {
  identity.runId = str(record.runId);
  identity.operator = str(record.operator);
  identity.controller = str(record.controller);
  identity.cwd = str(record.cwd);
  identity.argv = strings(record.argv);
  identity.runKind = str(record.runKind);
  identity.playbook = pathAndHash(record.playbook);
  const git = record.git as Rec | undefined;
  if (git && typeof git === 'object' && str(git.commit)) identity.git = { commit: str(git.commit)!, dirty: git.dirty === true };
  identity.inventory = pathAndHash(record.inventory);
  identity.mode = str(record.mode);
  identity.diff = record.diff === true;
  identity.limit = str(record.limit);
  identity.tags = strings(record.tags) ?? [];
  identity.skipTags = strings(record.skipTags) ?? [];
  identity.startedAt = str(record.time);
  identity.hosts = strings(record.hosts) ?? [];
}

function addResult(
  entry: { report: TaskReport; groups: Map<string, HostGroup> },
  record: Rec,
  host: string,
  failures: Map<string, FailureGroup>,
  unreachable: Map<string, UnreachableGroup>,
): void {
  const { report } = entry;
  const status = str(record.status);
  if (status === 'changed') {
    const changes = strings(record.changes) ?? [];
    const lines = changes.length > 0 ? changes : [str(record.msg) ?? 'changed'];
    const diffs = (Array.isArray(record.diffs) ? record.diffs : []).map(showDiff);
    const uncertain = record.uncertain === true;
    // Identical summaries and identical diffs: the hosts change in the same way.
    const key = JSON.stringify([lines, diffs, uncertain]);
    let group = entry.groups.get(key);
    if (!group) {
      group = { hosts: [], lines, diffs, uncertain };
      entry.groups.set(key, group);
      report.changed.push(group);
    }
    group.hosts.push(host);
    return;
  }
  if (status === 'ok') return void report.ok.push(host);
  if (status === 'skipped') return void report.skipped.push(host);
  if (status === 'unreachable') {
    report.unreachable.push(host);
    const failure = record.failure as Rec | undefined;
    addUnreachable(unreachable, host, str(record.msg) ?? 'unreachable', failure && typeof failure === 'object' ? str(failure.hint) : undefined);
    return;
  }
  // 'failed', or a status this version does not know: shown as a failure rather than hidden.
  if (record.ignored === true) return void report.ignored.push(host);
  report.failed.push(host);
  const failure = record.failure as Rec | undefined;
  const commands = (Array.isArray(record.commands) ? record.commands : []).filter((command): command is Rec => typeof command === 'object' && command !== null);
  const last = [...commands].reverse().find((command) => command.executed === true);
  const message = str(record.msg) ?? `status ${String(status)}`;
  const hint = failure && typeof failure === 'object' ? str(failure.hint) : undefined;
  const stderrTail = str(last?.stderrTail) || str(record.stderrTail) || undefined;
  const key = JSON.stringify([report.id, message, hint, stderrTail]);
  const existing = failures.get(key);
  if (existing) {
    existing.hosts.push(host);
    return;
  }
  failures.set(key, {
    taskId: report.id,
    task: report.name,
    play: report.play,
    module: report.module,
    hosts: [host],
    message,
    hint,
    command: last ? str(last.line) : undefined,
    exitCode: last ? (typeof last.exitCode === 'number' ? last.exitCode : null) : undefined,
    stderrTail,
  });
}

function addUnreachable(groups: Map<string, UnreachableGroup>, host: string, message: string, hint: string | undefined): void {
  // The message names the host; hosts unreachable for the same reason group once their names are taken out.
  // The run records an unreachable host twice (its task's result, then the host event): count it once.
  for (const group of groups.values()) if (group.hosts.includes(host)) return;
  const key = JSON.stringify([message.split(host).join('\u0000'), hint]);
  const group = groups.get(key);
  if (group) group.hosts.push(host);
  else groups.set(key, { hosts: [host], message, hint });
}

function showDiff(value: unknown): string {
  const diff = value as Partial<Diff> | null;
  const text = (v: unknown) => (typeof v === 'string' ? v : v === null ? null : undefined);
  if (diff && diff.kind === 'file' && typeof diff.path === 'string' && text(diff.before) !== undefined && text(diff.after) !== undefined) {
    return renderDiff({ kind: 'file', path: diff.path, before: text(diff.before)!, after: text(diff.after)! });
  }
  if (diff && diff.kind === 'value' && typeof diff.name === 'string' && text(diff.before) !== undefined && text(diff.after) !== undefined) {
    return renderDiff({ kind: 'value', name: diff.name, before: text(diff.before)!, after: text(diff.after)! });
  }
  return JSON.stringify(value, null, 2);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;
}

function pathAndHash(value: unknown): { path: string; sha256: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { path, sha256 } = value as Rec;
  return typeof path === 'string' && typeof sha256 === 'string' ? { path, sha256 } : undefined;
}

/** What the report calls a change in this run: a prediction in check mode, a fact in an apply. */
export function changeWord(identity: RunIdentity): { verb: string; adjective: string } {
  return identity.mode === 'check' ? { verb: 'would change', adjective: 'pending' } : { verb: 'changed', adjective: 'made' };
}
