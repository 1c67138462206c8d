/**
 * What makes a merged log (`audit merge`) verifiable beyond its own chain. A merged log opens with a
 * `merge` record naming each shard's part (its file's sha256, its record count, the head its closing record
 * named) and the shards that are missing; then every record of every part, re-sealed in the merged chain,
 * each carrying `source` = { shard, seq, prev, hash } (and `kind` where the merge renamed it: a part's
 * closing run-end becomes `shard-end`, since only the merged log's own last record may close it).
 *
 * From those fields each part's original lines are rebuilt byte for byte and their own chain checked, so
 * the merged log proves the parts it was made from (and the original part files, by their sha256 and
 * hashes, can be matched against it). Kept free of imports from chain.ts, which calls it.
 */
import { createHash } from 'node:crypto';

export const MERGE_KIND = 'merge';
/** What a part's closing run-end record is called inside a merged log. */
export const SHARD_END_KIND = 'shard-end';

export interface MergedPartSummary {
  shard: number;
  file: string;
  /** sha256 of the part's file as it was merged. */
  sha256: string;
  runId: string;
  records: number;
  /** The `hash` of the part's closing record. */
  closingHash: string;
  /** The `head` its closing record named (the hash of the record before it). */
  head: string;
  verdict: 'intact';
  exitCode: number;
  hosts: number;
  /** The part's signature LOG.sig as merged: it matched the file (signer not checked against allowed signers), or there was none. */
  signature: { status: 'unchecked'; signer?: string } | { status: 'missing' };
}

export interface MergedPartsVerdict {
  status: 'intact' | 'broken' | 'incomplete';
  /** 1-based line of the merged log where a part stops verifying. */
  brokenAt?: number;
  problem?: string;
}

const GENESIS = '0'.repeat(64);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The original line of a part, rebuilt from its record in the merged log. */
export function originalLine(record: Record<string, unknown>): string {
  const { seq: _seq, prev: _prev, hash: _hash, source, ...body } = record;
  const from = source as { seq: number; prev: string; hash: string; kind?: string };
  if (from.kind !== undefined) body.kind = from.kind;
  const unsealed = JSON.stringify({ seq: from.seq, prev: from.prev, ...body });
  return `${unsealed.slice(0, -1)},"hash":"${from.hash}"}`;
}

/**
 * Checks a merged log's parts (the merged chain itself is checked by verifyChain first): every part named
 * by the merge record is there, whole, in order, and chains as it did in its own file; a shard the merge
 * record lists as missing makes the log incomplete.
 */
export function verifyMergedParts(records: Array<Record<string, unknown>>): MergedPartsVerdict {
  const merge = records[0] as { parts?: MergedPartSummary[]; missing?: number[]; shardCount?: number; selectedHosts?: number };
  if (!Array.isArray(merge.parts) || !Array.isArray(merge.missing))
    return { status: 'broken', brokenAt: 1, problem: 'the merge record lacks its parts or missing list' };
  // Every shard 1..N is either a part or listed missing, and whole parts cover the selection: a part cannot be dropped quietly.
  const named = [...merge.parts.map((part) => part.shard), ...merge.missing].sort((a, b) => a - b);
  if (named.length !== merge.shardCount || named.some((shard, index) => shard !== index + 1)) {
    return {
      status: 'broken',
      brokenAt: 1,
      problem: `the merge record's parts and missing shards (${named.join(', ')}) are not shards 1 to ${String(merge.shardCount)}, each once`,
    };
  }
  const covered = merge.parts.reduce((sum, part) => sum + part.hosts, 0);
  if (merge.missing.length === 0 && covered !== merge.selectedHosts) {
    return { status: 'broken', brokenAt: 1, problem: `the parts hold ${covered} host(s) between them but the run selected ${String(merge.selectedHosts)}` };
  }
  const expected = new Map(merge.parts.map((part) => [part.shard, part]));
  const seen = new Map<number, { records: number; previous?: string; closedBy?: string }>();
  // The merge record first and the merged closing record last; every record between is a part's.
  for (let index = 1; index < records.length - 1; index++) {
    const record = records[index]!;
    const lineNumber = index + 1;
    const fail = (problem: string): MergedPartsVerdict => ({ status: 'broken', brokenAt: lineNumber, problem });
    const source = record.source as { shard?: unknown; seq?: unknown; prev?: unknown; hash?: unknown } | undefined;
    if (!source || typeof source.shard !== 'number' || typeof source.hash !== 'string')
      return fail('a record between the merge record and the closing record has no source (shard, seq, prev, hash)');
    const part = expected.get(source.shard);
    if (!part) return fail(`a record of shard ${source.shard}, which the merge record does not name`);
    const state = seen.get(source.shard) ?? { records: 0 };
    seen.set(source.shard, state);
    if (state.closedBy) return fail(`a record of shard ${source.shard} after that part's closing record`);
    if (source.seq !== state.records + 1)
      return fail(
        `shard ${source.shard}'s record has source seq ${JSON.stringify(source.seq)}, expected ${state.records + 1} (a part's record was removed or reordered)`,
      );
    const expectedPrev = state.previous === undefined ? GENESIS : sha256(state.previous);
    if (source.prev !== expectedPrev)
      return fail(`shard ${source.shard}'s record ${String(source.seq)}: its source prev does not match the record before it in that part`);
    const line = originalLine(record);
    const marker = `,"hash":"${source.hash}"}`;
    if (sha256(`${line.slice(0, -marker.length)}}`) !== source.hash)
      return fail(`shard ${source.shard}'s record ${String(source.seq)} does not hash to its source hash (it was changed after the part was written)`);
    state.records++;
    if (record.kind === SHARD_END_KIND) {
      const closing = record as { records?: unknown; head?: unknown };
      if (closing.records !== state.records || closing.head !== state.previous?.slice(-66, -2))
        return fail(`shard ${source.shard}'s closing record does not match its part (count or head)`);
      if (closing.records !== part.records || closing.head !== part.head || source.hash !== part.closingHash)
        return fail(`shard ${source.shard}'s closing record does not match what the merge record says of that part`);
      state.closedBy = source.hash;
    }
    state.previous = line;
  }
  for (const part of merge.parts) {
    if (!seen.get(part.shard)?.closedBy)
      return {
        status: 'broken',
        brokenAt: records.length,
        problem: `the part of shard ${part.shard} (${part.file}) is not whole in the merged log: records were removed`,
      };
  }
  if (merge.missing.length > 0) {
    return {
      status: 'incomplete',
      problem: `shard(s) ${merge.missing.join(', ')} of ${String(merge.shardCount)} missing: merged with --allow-missing, so those shards' hosts are not accounted for`,
    };
  }
  return { status: 'intact' };
}
