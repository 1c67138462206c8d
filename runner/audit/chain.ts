/**
 * The audit log's hash chain. Each JSON line carries `prev`, the sha256 of the previous line as written,
 * and `hash`, the sha256 of its own content without `hash`. Editing, removing or reordering any record
 * breaks the chain at that record; `verifyChain` names the first broken one. The last record closes the
 * log (run-end, with the record count and the head of the chain), so records removed from the end leave a
 * log without its closing record, and records appended after it are refused.
 *
 * Without a key this detects tampering by anyone who does not recompute every later hash; a signed log
 * (sign.ts: the whole file signed with the operator's SSH key) also catches someone who does.
 */
import { createHash } from 'node:crypto';
import { decodeHostText } from '../host-text.ts';
import { MERGE_KIND, verifyMergedParts } from './merged-parts.ts';

export const GENESIS = '0'.repeat(64);

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Serialises one record, chained to the previous line. Key order is fixed: seq, prev, the body, hash. */
export function sealRecord(seq: number, previousLine: string | undefined, body: Record<string, unknown>): string {
  const prev = previousLine === undefined ? GENESIS : sha256(previousLine);
  const unsealed = JSON.stringify({ seq, prev, ...body });
  const hash = sha256(unsealed);
  return `${unsealed.slice(0, -1)},"hash":"${hash}"}`;
}

/** The kind of the record that closes a log; it carries `records` and `head` (see closingFields). */
export const CLOSING_KIND = 'run-end';

/**
 * What the closing record adds to its body: `records`, the number of records in the log including itself
 * (its own seq), and `head`, the hash of the record before it. A verifier then knows the log is whole: a log
 * cut short has no closing record, and a record appended after it is refused.
 */
export function closingFields(seq: number, previousLine: string | undefined): { records: number; head: string } {
  return { records: seq, head: previousLine === undefined ? GENESIS : recordHash(previousLine) };
}

/** The `hash` of a sealed line (the last field, fixed width). */
function recordHash(line: string): string {
  return line.slice(-66, -2);
}

/**
 * intact: every record chains and the log ends with its closing record, whose count and head match.
 * broken: a record was changed, removed, reordered or appended after the closing record.
 * incomplete: what is there chains, but the closing record is missing (a run cut off, or records removed
 * from the end), or there are no records at all.
 */
export type ChainStatus = 'intact' | 'broken' | 'incomplete';

export interface ChainVerdict {
  ok: boolean;
  status: ChainStatus;
  records: number;
  /** 1-based line number of the first broken record. */
  brokenAt?: number;
  problem?: string;
}

/**
 * A log's bytes as text for verifying and showing it, without losing a byte: drover writes JSON, which is
 * UTF-8 with every other character escaped, so a byte that is not UTF-8 was put there later. Decoded as
 * U+FFFD it could stand in for the U+FFFD the writer had written (command output that was not UTF-8) and
 * the record verified; decoded as host text it is a lone surrogate, which verifyChain refuses.
 */
export function auditLogText(bytes: Buffer): string {
  return decodeHostText(bytes);
}

/** A lone surrogate: what auditLogText makes of a byte that is not UTF-8 (paired surrogates are one character). */
const NOT_WRITTEN_BY_DROVER = /[\uD800-\uDFFF]/u;

export function verifyChain(text: string): ChainVerdict {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let previous: string | undefined;
  let closedAt: number | undefined;
  for (const [index, line] of lines.entries()) {
    const lineNumber = index + 1;
    const fail = (problem: string): ChainVerdict => ({ ok: false, status: 'broken', records: index, brokenAt: lineNumber, problem });
    if (NOT_WRITTEN_BY_DROVER.test(line)) return fail('it holds bytes that are not UTF-8, which drover never writes (this record was changed)');
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return fail('not valid JSON (a truncated or edited line)');
    }
    if (typeof record !== 'object' || record === null) return fail('not a record');
    const { hash, prev, seq, kind, records, head } = record as {
      hash?: unknown;
      prev?: unknown;
      seq?: unknown;
      kind?: unknown;
      records?: unknown;
      head?: unknown;
    };
    if (seq !== index + 1) return fail(`sequence number is ${JSON.stringify(seq)}, expected ${index + 1} (a record was removed or reordered)`);
    const expectedPrev = previous === undefined ? GENESIS : sha256(previous);
    if (prev !== expectedPrev) return fail('prev does not match the sha256 of the line before (the previous record was changed, or one was removed)');
    const marker = `,"hash":"${String(hash)}"}`;
    if (typeof hash !== 'string' || !line.endsWith(marker)) return fail('hash field missing or not last');
    const unsealed = `${line.slice(0, -marker.length)}}`;
    if (sha256(unsealed) !== hash) return fail("hash does not match the record's content (this record was changed)");
    if (closedAt !== undefined)
      return fail(`it follows the closing record (record ${closedAt}): nothing is written after a run ends, so it was appended later`);
    if (kind === CLOSING_KIND) {
      const expected = closingFields(lineNumber, previous);
      if (records !== expected.records || head !== expected.head) {
        return fail(
          `the closing record's count and head (${JSON.stringify(records)}, ${JSON.stringify(head)}) do not match the log (${expected.records}, ${expected.head})`,
        );
      }
      closedAt = lineNumber;
    }
    previous = line;
  }
  if (lines.length === 0)
    return {
      ok: false,
      status: 'incomplete',
      records: 0,
      problem: 'the log holds no records (an empty file: the run never started writing, or the file was emptied)',
    };
  if (closedAt === undefined) {
    return {
      ok: false,
      status: 'incomplete',
      records: lines.length,
      problem: `no closing ${CLOSING_KIND} record after record ${lines.length}: the run was cut off, or its last records were removed`,
    };
  }
  // A merged log (audit merge) also carries its parts' own chains, and may lack a shard.
  const first = JSON.parse(lines[0]!) as Record<string, unknown>;
  if (first.kind === MERGE_KIND) {
    const parts = verifyMergedParts(lines.map((line) => JSON.parse(line) as Record<string, unknown>));
    if (parts.status === 'broken') return { ok: false, status: 'broken', records: lines.length, brokenAt: parts.brokenAt, problem: parts.problem };
    if (parts.status === 'incomplete') return { ok: false, status: 'incomplete', records: lines.length, problem: parts.problem };
  }
  return { ok: true, status: 'intact', records: lines.length };
}

/** One line for a verdict, shared by verify and show. */
export function describeVerdict(verdict: ChainVerdict): string {
  switch (verdict.status) {
    case 'intact':
      return `intact, ${verdict.records} records, closed by its run-end record`;
    case 'incomplete':
      return verdict.records === 0 ? `INCOMPLETE: ${verdict.problem}` : `INCOMPLETE (${verdict.records} records chain correctly): ${verdict.problem}`;
    case 'broken':
      return `BROKEN at record ${verdict.brokenAt} (line ${verdict.brokenAt}): ${verdict.problem}`;
  }
}
