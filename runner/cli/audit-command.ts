/** `audit verify FILE…` and `audit show FILE`. */
import { readFileSync } from 'node:fs';
import { describeVerdict, verifyChain, type ChainStatus } from '../audit/chain.ts';
import { showAuditLog } from '../audit/show.ts';
import { UsageError } from './options.ts';

export const AUDIT_HELP = `Usage:
  tsx run audit verify FILE…  check each log's hash chain and that it ends with its closing record
  tsx run audit show FILE     print the log for people, then the same verdict

A log is intact when every record chains to the one before and the last record is the run's closing
run-end record, which carries the number of records and the hash of the record before it; nothing may
follow it. A log cut short (a killed run, records removed from the end) or with no records is incomplete.

Exit status (for several files, the worst): 0 every log intact, 1 a log broken (a record changed, removed,
reordered or appended after the closing record) or unreadable, 3 a log incomplete.`;

/** Exit statuses of verify and show. */
const EXIT = { intact: 0, broken: 1, incomplete: 3 } as const;

export async function auditCommand(argv: string[]): Promise<number> {
  const [action, ...files] = argv;
  if (action === '--help' || action === '-h' || action === undefined) {
    process.stdout.write(`${AUDIT_HELP}\n`);
    return action === undefined ? 1 : 0;
  }
  if (action === 'verify') {
    if (files.length === 0) throw new UsageError('expected `audit verify FILE…` (see audit --help)');
    // Every file is checked and reported, so one bad log among many does not hide the others' verdicts.
    const statuses: ChainStatus[] = [];
    for (const file of files) {
      const log = readLog(file);
      if ('unreadable' in log) {
        statuses.push('broken');
        process.stdout.write(`${file}: cannot read it: ${log.unreadable}\n`);
        continue;
      }
      const verdict = verifyChain(log.text);
      statuses.push(verdict.status);
      process.stdout.write(`${file}: ${describeVerdict(verdict)}\n`);
    }
    return worst(statuses);
  }
  if (action === 'show') {
    if (files.length !== 1) throw new UsageError('expected `audit show FILE` (see audit --help)');
    const log = readLog(files[0]!);
    if ('unreadable' in log) throw new UsageError(`cannot read the audit log ${files[0]}: ${log.unreadable}`);
    process.stdout.write(`${showAuditLog(log.text)}\n`);
    // The log is shown either way, but a script piping it somewhere must not take a broken or partial one as good.
    return EXIT[verifyChain(log.text).status];
  }
  throw new UsageError(`unknown audit action ${JSON.stringify(action)}: use verify or show`);
}

function worst(statuses: ChainStatus[]): number {
  if (statuses.includes('broken')) return EXIT.broken;
  if (statuses.includes('incomplete')) return EXIT.incomplete;
  return EXIT.intact;
}

/** A log's text, or why it cannot be read (the error code, e.g. ENOENT). */
function readLog(file: string): { text: string } | { unreadable: string } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (error) {
    return { unreadable: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
}
