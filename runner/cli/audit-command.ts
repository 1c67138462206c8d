/** `audit verify FILE` and `audit show FILE`. */
import { readFileSync } from 'node:fs';
import { verifyChain } from '../audit/chain.ts';
import { showAuditLog } from '../audit/show.ts';
import { UsageError } from './options.ts';

export const AUDIT_HELP = `Usage:
  tsx run audit verify FILE   check the hash chain; exit 0 if intact, 1 with the first broken record if not
  tsx run audit show FILE     print the log for people; exit 1 if its chain is broken`;

export async function auditCommand(argv: string[]): Promise<number> {
  const [action, file, ...rest] = argv;
  if (action === '--help' || action === '-h' || action === undefined) {
    process.stdout.write(`${AUDIT_HELP}\n`);
    return action === undefined ? 1 : 0;
  }
  if (!file || rest.length > 0) throw new UsageError(`expected \`audit ${action} FILE\` (see audit --help)`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the audit log ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (action === 'verify') {
    const verdict = verifyChain(text);
    if (verdict.ok) {
      process.stdout.write(`${file}: intact, ${verdict.records} records\n`);
      return 0;
    }
    process.stdout.write(`${file}: BROKEN at record ${verdict.brokenAt} (line ${verdict.brokenAt}): ${verdict.problem}\n`);
    return 1;
  }
  if (action === 'show') {
    process.stdout.write(`${showAuditLog(text)}\n`);
    // The log is shown either way, but a script piping it somewhere must not take a broken one as good.
    return verifyChain(text).ok ? 0 : 1;
  }
  throw new UsageError(`unknown audit action ${JSON.stringify(action)}: use verify or show`);
}
