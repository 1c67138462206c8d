/** `audit verify FILE…` and `audit show FILE`. */
import { readFileSync } from 'node:fs';
import { verifyChain } from '../audit/chain.ts';
import { showAuditLog } from '../audit/show.ts';
import { UsageError } from './options.ts';

export const AUDIT_HELP = `Usage:
  tsx run audit verify FILE…  check each log's hash chain; exit 0 if all are intact, 1 naming the first broken
                              record of each that is not
  tsx run audit show FILE     print the log for people; exit 1 if its chain is broken`;

export async function auditCommand(argv: string[]): Promise<number> {
  const [action, ...files] = argv;
  if (action === '--help' || action === '-h' || action === undefined) {
    process.stdout.write(`${AUDIT_HELP}\n`);
    return action === undefined ? 1 : 0;
  }
  if (action === 'verify') {
    if (files.length === 0) throw new UsageError('expected `audit verify FILE…` (see audit --help)');
    // Every file is checked and reported, so one bad log among many does not hide the others' verdicts.
    let intact = true;
    for (const file of files) {
      const log = readLog(file);
      if ('unreadable' in log) {
        intact = false;
        process.stdout.write(`${file}: cannot read it: ${log.unreadable}\n`);
        continue;
      }
      const verdict = verifyChain(log.text);
      if (verdict.ok) {
        process.stdout.write(`${file}: intact, ${verdict.records} records\n`);
      } else {
        intact = false;
        process.stdout.write(`${file}: BROKEN at record ${verdict.brokenAt} (line ${verdict.brokenAt}): ${verdict.problem}\n`);
      }
    }
    return intact ? 0 : 1;
  }
  if (action === 'show') {
    if (files.length !== 1) throw new UsageError('expected `audit show FILE` (see audit --help)');
    const log = readLog(files[0]!);
    if ('unreadable' in log) throw new UsageError(`cannot read the audit log ${files[0]}: ${log.unreadable}`);
    process.stdout.write(`${showAuditLog(log.text)}\n`);
    // The log is shown either way, but a script piping it somewhere must not take a broken one as good.
    return verifyChain(log.text).ok ? 0 : 1;
  }
  throw new UsageError(`unknown audit action ${JSON.stringify(action)}: use verify or show`);
}

/** A log's text, or why it cannot be read (the error code, e.g. ENOENT). */
function readLog(file: string): { text: string } | { unreadable: string } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (error) {
    return { unreadable: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
}
