/**
 * `audit merge`: joins the audit logs of one run's shards (`--shard I/N`) into one verifiable log of the
 * whole run. Each part must be intact and belong to the same run (the same playbook or command, inventory,
 * mode, limit, tags, extra variables, shard count and selection: part-identity.ts); its records are re-sealed in one new chain, each keeping
 * its original seq, prev and hash as `source`, so the parts stay provable from the merged log (see
 * merged-parts.ts). The merged log opens with a `merge` record (each part's file sha256, record count,
 * closing head, verdict and exit status; the missing shards) and ends with a closing run-end record
 * carrying the whole run's exit status.
 *
 * The whole run's exit status from the parts': 2 if any part failed (2, or 130/143 interrupted or
 * terminated, or any status drover does not give a finished run), else 3 if a shard is missing (only with
 * allowMissing: its hosts are not accounted for), else 4 if any part had unreachable hosts, else 6 if any
 * part found drift (--check --detect-drift), else 0 — the order a single run uses (2 and 4 win over 6).
 */
import { basename } from 'node:path';
import { closingFields, CLOSING_KIND, describeVerdict, sealRecord, sha256, verifyChain } from './chain.ts';
import { DRIFT_EXIT_STATUS, MAX_SHARDS } from '../events.ts';
import { MERGE_KIND, SHARD_END_KIND, type MergedPartSummary } from './merged-parts.ts';
import { identityDifferences } from './part-identity.ts';

export class MergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

export interface MergeParams {
  /** Each part's file, text, and what its signature check found (a bad signature is refused before this). */
  parts: Array<{ file: string; text: string; signature: MergedPartSummary['signature'] }>;
  /** Write the merged log even if shards are missing; it then verifies as incomplete (exit 3). */
  allowMissing: boolean;
  /** The merge's own time stamp (ISO). */
  time: string;
}

export interface MergeResult {
  text: string;
  exitCode: number;
  shardCount: number;
  missing: number[];
  parts: MergedPartSummary[];
}

interface ShardFields {
  index: number;
  count: number;
  selectedHosts: number;
  selectedDigest: string;
  hosts: number;
}

interface Part {
  file: string;
  records: Array<Record<string, unknown>>;
  /** The run-start record (records[0]) and its shard fields: what partIdentity reads. */
  start: Record<string, unknown>;
  shard: ShardFields;
  summary: MergedPartSummary;
}

/** The whole run's exit status from its parts' (see the module comment). */
export function wholeExitCode(partCodes: readonly number[], missingShards: number): number {
  if (partCodes.some((code) => code !== 0 && code !== 4 && code !== DRIFT_EXIT_STATUS)) return 2;
  if (missingShards > 0) return 3;
  if (partCodes.includes(4)) return 4;
  if (partCodes.includes(DRIFT_EXIT_STATUS)) return DRIFT_EXIT_STATUS;
  return 0;
}

export function mergeAuditLogs(params: MergeParams): MergeResult {
  if (params.parts.length === 0) throw new MergeError('no parts to merge: give the audit logs of the shards of one run');
  const parts = params.parts.map(({ file, text, signature }) => readPart(file, text, signature));
  const first = parts[0]!;
  for (const part of parts.slice(1)) {
    const differences = identityDifferences(first, part);
    if (differences.length > 0) {
      const what = differences.map((d) => `its ${d.field} is ${d.value} where ${basename(first.file)} has ${d.expected}`).join('; ');
      throw new MergeError(
        `${part.file} is not a part of the same run as ${first.file}: ${what}; merge only the shards of one run, each run with the same command line but for --shard I/N and --audit-log (run the odd shard again that way, or merge it with the shards of its own run)`,
      );
    }
  }
  const byShard = new Map<number, Part>();
  for (const part of parts) {
    const other = byShard.get(part.shard.index);
    if (other) throw new MergeError(`shard ${part.shard.index}/${part.shard.count} is given twice: ${other.file} and ${part.file}; give each shard's log once`);
    byShard.set(part.shard.index, part);
  }
  const count = first.shard.count;
  const missing = Array.from({ length: count }, (_, index) => index + 1).filter((index) => !byShard.has(index));
  if (missing.length > 0 && !params.allowMissing) {
    throw new MergeError(
      `shard(s) ${missing.join(', ')} of ${count} missing: give every shard's log, or pass --allow-missing to write a merged log that verifies as incomplete (exit 3)`,
    );
  }
  // A host in two parts would be counted twice; a host of the selection in none, not at all.
  const owner = new Map<string, string>();
  for (const part of parts) {
    for (const host of (part.records[0]!.hosts as string[] | undefined) ?? []) {
      const before = owner.get(host);
      if (before) throw new MergeError(`host ${host} is in two parts, ${before} and ${part.file}: they were not split by the same --shard N`);
      owner.set(host, part.file);
    }
  }
  if (missing.length === 0 && owner.size !== first.shard.selectedHosts) {
    throw new MergeError(
      `the parts run ${owner.size} host(s) between them, but the run selected ${first.shard.selectedHosts}: the parts do not cover the selection`,
    );
  }

  const ordered = [...byShard.keys()].sort((a, b) => a - b).map((index) => byShard.get(index)!);
  const summaries = ordered.map((part) => part.summary);
  const exitCode = wholeExitCode(
    summaries.map((part) => part.exitCode),
    missing.length,
  );
  const start = first.records[0]!;
  const out: string[] = [];
  const append = (body: Record<string, unknown>) => {
    const seq = out.length + 1;
    const previous = out[out.length - 1];
    out.push(sealRecord(seq, previous, body.kind === CLOSING_KIND ? { ...body, ...closingFields(seq, previous) } : body));
  };
  append({
    kind: MERGE_KIND,
    time: params.time,
    runIds: summaries.map((part) => part.runId),
    runKind: start.runKind,
    playbook: start.playbook ?? null,
    mode: start.mode,
    shardCount: count,
    selectedHosts: first.shard.selectedHosts,
    selectedDigest: first.shard.selectedDigest,
    parts: summaries,
    missing,
    exitCode,
  });
  for (const part of ordered) {
    for (const record of part.records) {
      const { seq, prev, hash, ...body } = record;
      const closing = body.kind === CLOSING_KIND;
      // Only the merged log's last record may close it: a part's closing record is renamed, its own kind kept in source.
      if (closing) body.kind = SHARD_END_KIND;
      append({ ...body, source: { shard: part.shard.index, seq, prev, hash, ...(closing && { kind: CLOSING_KIND }) } });
    }
  }
  const ends = ordered.map((part) => part.records[part.records.length - 1]!);
  append({
    kind: CLOSING_KIND,
    time: params.time,
    merged: true,
    shards: ordered.map((part) => part.shard.index),
    missing,
    recap: ends.flatMap((end) => (end.recap as unknown[] | undefined) ?? []),
    exitCode,
    interrupted: ends.some((end) => end.interrupted === true),
    durationMs: Math.max(...ends.map((end) => Number(end.durationMs) || 0)),
  });
  return { text: out.map((line) => `${line}\n`).join(''), exitCode, shardCount: count, missing, parts: summaries };
}

/** A part, checked: an intact log of a shard run, closed with an exit status. */
function readPart(file: string, text: string, signature: MergedPartSummary['signature']): Part {
  const verdict = verifyChain(text);
  if (verdict.status !== 'intact') throw new MergeError(`${file} cannot be merged: ${describeVerdict(verdict)}; merge only intact logs (audit verify ${file})`);
  const lines = text.split('\n').filter((line) => line !== '');
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const start = records[0]!;
  if (start.kind === MERGE_KIND) throw new MergeError(`${file} is already a merged log; merge the shards' own logs`);
  const shard = start.shard as ShardFields | undefined;
  if (start.kind !== 'run-start' || !shard)
    throw new MergeError(`${file} is not the log of a shard: its run-start record has no shard (run each part with --shard I/N)`);
  // As --shard takes them: a crafted `"count": 1e9` (its chain recomputed) made merge list a billion
  // missing shards until the controller ran out of memory, and a string index counted as two shards.
  if (
    !Number.isInteger(shard.count) ||
    !Number.isInteger(shard.index) ||
    shard.count < 1 ||
    shard.count > MAX_SHARDS ||
    shard.index < 1 ||
    shard.index > shard.count
  ) {
    throw new MergeError(
      `${file} has a shard that no run writes (${JSON.stringify({ index: shard.index, count: shard.count })}): it was not written by drover's --shard; merge only the shards' own logs`,
    );
  }
  const end = records[records.length - 1]!;
  return {
    file,
    records,
    start,
    shard,
    summary: {
      shard: shard.index,
      file: basename(file),
      sha256: sha256(text),
      runId: String(start.runId),
      records: Number(end.records),
      closingHash: String(end.hash),
      head: String(end.head),
      verdict: 'intact',
      exitCode: typeof end.exitCode === 'number' ? end.exitCode : 2,
      hosts: shard.hosts,
      signature,
    },
  };
}
