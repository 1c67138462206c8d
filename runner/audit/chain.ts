/**
 * The audit log's hash chain. Each JSON line carries `prev`, the sha256 of the previous line as written,
 * and `hash`, the sha256 of its own content without `hash`. Editing, removing or reordering any record
 * breaks the chain at that record; `verifyChain` names the first broken one.
 *
 * Without a key this detects tampering by anyone who does not recompute every later hash; the roadmap's
 * signed variant will add a key.
 */
import { createHash } from 'node:crypto';

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

export interface ChainVerdict {
  ok: boolean;
  records: number;
  /** 1-based line number of the first broken record. */
  brokenAt?: number;
  problem?: string;
}

export function verifyChain(text: string): ChainVerdict {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let previous: string | undefined;
  for (const [index, line] of lines.entries()) {
    const lineNumber = index + 1;
    const fail = (problem: string): ChainVerdict => ({ ok: false, records: index, brokenAt: lineNumber, problem });
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return fail('not valid JSON (a truncated or edited line)');
    }
    if (typeof record !== 'object' || record === null) return fail('not a record');
    const { hash, prev, seq } = record as { hash?: unknown; prev?: unknown; seq?: unknown };
    if (seq !== index + 1) return fail(`sequence number is ${JSON.stringify(seq)}, expected ${index + 1} (a record was removed or reordered)`);
    const expectedPrev = previous === undefined ? GENESIS : sha256(previous);
    if (prev !== expectedPrev) return fail('prev does not match the sha256 of the line before (the previous record was changed, or one was removed)');
    const marker = `,"hash":"${String(hash)}"}`;
    if (typeof hash !== 'string' || !line.endsWith(marker)) return fail('hash field missing or not last');
    const unsealed = `${line.slice(0, -marker.length)}}`;
    if (sha256(unsealed) !== hash) return fail('hash does not match the record\'s content (this record was changed)');
    previous = line;
  }
  return { ok: true, records: lines.length };
}
