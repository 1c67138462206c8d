/** `audit verify FILE…`, `audit show FILE`, `audit report FILE…` and `audit merge LOG… -o MERGED`. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AllowedSignersError, parseAllowedSigners, type AllowedSigner } from '../audit/allowed-signers.ts';
import { auditLogText, describeVerdict, verifyChain, type ChainStatus } from '../audit/chain.ts';
import { mergeAuditLogs, MergeError, type MergeResult } from '../audit/merge.ts';
import { AUDIT_NAMESPACE, describeSignature, verifyAuditSignature, type SignatureStatus } from '../audit/sign.ts';
import { showAuditLog } from '../audit/show.ts';
import { buildRunReports, type AuditLogInput } from '../report/audit-report.ts';
import { renderHtml } from '../report/audit-report-html.ts';
import { renderMarkdown } from '../report/audit-report-markdown.ts';
import { writeOutputFile } from '../output-file.ts';
import { UsageError } from './options.ts';
import { describeParseArgsError } from './parse-args-error.ts';
import { planSideBySide } from './plan-side-by-side.ts';
import { readSavedPlan } from './saved-plan.ts';

export const AUDIT_HELP = `Usage:
  tsx run audit verify [--allowed-signers FILE [--require-signature]] LOG…
                              check each log's hash chain and that it ends with its closing record,
                              and its signature LOG.sig when there is one
  tsx run audit show FILE     print the log for people, then the same verdict (and whether LOG.sig matches)
  tsx run audit show --plan PLAN.json LOG
                              a saved plan and its apply's log side by side, task by task on each host;
                              exit 1 when the log's run-start does not name this plan (by its sha256)
  tsx run audit report [--allowed-signers FILE [--require-signature]] LOG… -o report.html
                              one self-contained page for review: the run's identity, chain and signature
                              verdicts, failures and unreachable hosts first, then each task with the hosts
                              that change the same way grouped (node[01:18]) and their diffs collapsed
      -o, --output FILE       where to write it, a new file (default: standard output)
      --format html|markdown  default: markdown when FILE ends in .md, else html
  tsx run audit merge LOG… -o MERGED.jsonl [--allow-missing]
                              join the logs of one run's shards (--shard I/N) into one verifiable log

A log is intact when every record chains to the one before and the last record is the run's closing
run-end record, which carries the number of records and the hash of the record before it; nothing may
follow it. A log cut short (a killed run, records removed from the end) or with no records is incomplete.

A chain alone cannot catch someone who edits a record and recomputes every hash after it; a signature can.
A run given --sign-audit (or --audit-sign-key KEY) signs the whole log file with the operator's SSH key
into LOG.sig, in OpenSSH's format (namespace ${AUDIT_NAMESPACE}), so OpenSSH checks it too:
  ssh-keygen -Y verify -f allowed_signers -I alice@example.com -n ${AUDIT_NAMESPACE} -s LOG.sig < LOG

  --allowed-signers FILE   whose keys may sign: OpenSSH's allowed_signers format (see ssh-keygen(1)),
                           e.g. \`alice@example.com namespaces="${AUDIT_NAMESPACE}" ssh-ed25519 AAAA…\`; the signer's
                           principals and key fingerprint are reported
  --require-signature      a log without LOG.sig fails (needs --allowed-signers)
Without --allowed-signers a signature is still checked against the log, but not who made it.

Exit status (for several files, the worst, in this order): 1 a log broken (a record changed, removed,
reordered or appended after the closing record), unreadable, or its signature does not match it;
4 the signer not proven: a signature required and missing, or made by a key the allowed signers do not
allow (for this namespace, at this time); 3 a log incomplete; 0 every log intact (and signed by an
allowed key, where --allowed-signers was given and the log is signed). report writes its page whatever
the verdicts (they are at its top) and exits as verify does.

merge refuses parts that are broken or incomplete (or signed, with a LOG.sig that does not match), of
different runs (they differ in the playbook or its commit, the inventory, exec's command or module's
parameters, mode, --limit, --tags, --skip-tags, an extra variable, N or the selected hosts: only --shard I
and --audit-log may), or given twice, and refuses to go on with a shard missing unless --allow-missing
(the merged log then verifies as incomplete, naming the missing shards). It never overwrites MERGED.
Its exit status is the whole run's, from the parts': 2 if a part failed (2, or interrupted: 130, 143),
else 3 if a shard is missing, else 4 if a part had unreachable hosts, else 6 if a part found drift
(--check --detect-drift), else 0; 1 if it cannot merge.`;

/** Exit statuses of verify and show. */
const EXIT = { intact: 0, broken: 1, incomplete: 3, unproven: 4 } as const;
type Outcome = keyof typeof EXIT;

export async function auditCommand(argv: string[]): Promise<number> {
  const [action, ...files] = argv;
  if (action === '--help' || action === '-h' || action === undefined) {
    process.stdout.write(`${AUDIT_HELP}\n`);
    return action === undefined ? 1 : 0;
  }
  // `audit verify --help` and the like: the audit help covers every action (`show --help` read a log named --help).
  if (files.includes('--help') || files.includes('-h')) {
    process.stdout.write(`${AUDIT_HELP}\n`);
    return 0;
  }
  if (action === 'verify') {
    const { files: logs, allowed, requireSignature } = verifyArguments(files);
    // Every file is checked and reported, so one bad log among many does not hide the others' verdicts.
    const statuses: Outcome[] = [];
    for (const file of logs) {
      const log = readLog(file);
      if ('unreadable' in log) {
        statuses.push('broken');
        process.stdout.write(`${file}: cannot read it: ${log.unreadable}\n`);
        continue;
      }
      const verdict = verifyChain(log.text);
      statuses.push(verdict.status);
      process.stdout.write(`${file}: ${describeVerdict(verdict)}\n`);
      const signature = verifyAuditSignature(file, log.bytes, allowed, new Date());
      if (signature.status !== 'missing' || allowed) {
        process.stdout.write(`${file}: ${describeSignature(signature, requireSignature)}\n`);
      }
      statuses.push(signatureOutcome(signature.status, requireSignature));
    }
    return worst(statuses);
  }
  if (action === 'show' && files[0] === '--plan') {
    if (files.length !== 3) throw new UsageError('expected `audit show --plan PLAN.json LOG` (see audit --help)');
    const saved = readSavedPlan(files[1]!);
    const log = readLog(files[2]!);
    if ('unreadable' in log) throw new UsageError(`cannot read the audit log ${files[2]}: ${log.unreadable}`);
    const shown = planSideBySide(saved.plan, saved.sha256, saved.path, log.text);
    process.stdout.write(`${shown.text}\n`);
    const verdict = verifyChain(log.text);
    process.stdout.write(`chain: ${describeVerdict(verdict)}\n`);
    return shown.sameRun ? worst([verdict.status]) : EXIT.broken;
  }
  if (action === 'show') {
    if (files.length !== 1) throw new UsageError('expected `audit show FILE` (see audit --help)');
    const log = readLog(files[0]!);
    if ('unreadable' in log) throw new UsageError(`cannot read the audit log ${files[0]}: ${log.unreadable}`);
    process.stdout.write(`${showAuditLog(log.text)}\n`);
    // Whose signature it is needs `audit verify --allowed-signers`; show says whether it matches the log.
    const signature = verifyAuditSignature(files[0]!, log.bytes, undefined, new Date());
    process.stdout.write(`signature: ${describeSignature(signature, false)}\n`);
    // The log is shown either way, but a script piping it somewhere must not take a broken or partial one as good.
    return worst([verifyChain(log.text).status, signatureOutcome(signature.status, false)]);
  }
  if (action === 'report') return reportCommand(files);
  if (action === 'merge') return mergeCommand(files);
  throw new UsageError(`unknown audit action ${JSON.stringify(action)}: use verify, show, report or merge`);
}

/** `audit report [--allowed-signers FILE [--require-signature]] FILE… [-o OUT] [--format html|markdown]`. */
function reportCommand(argv: string[]): number {
  const spec = {
    output: { type: 'string', short: 'o' },
    format: { type: 'string' },
    'allowed-signers': { type: 'string' },
    'require-signature': { type: 'boolean' },
  } as const;
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: typeof spec }>>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: spec });
  } catch (error) {
    throw new UsageError(`${describeParseArgsError(error, Object.keys(spec))} (see audit --help)`);
  }
  const files = parsed.positionals;
  if (files.length === 0) throw new UsageError('expected `audit report FILE… -o report.html` (see audit --help)');
  const output = parsed.values.output;
  const format = parsed.values.format ?? (output && /\.(md|markdown)$/i.test(output) ? 'markdown' : 'html');
  if (format !== 'html' && format !== 'markdown') throw new UsageError(`--format takes html or markdown, got ${JSON.stringify(format)}`);
  const requireSignature = Boolean(parsed.values['require-signature']);
  const signersFile = parsed.values['allowed-signers'];
  if (requireSignature && signersFile === undefined) throw new UsageError(REQUIRE_NEEDS_SIGNERS);
  const allowed = signersFile === undefined ? undefined : loadAllowedSigners(signersFile);
  const outcomes: Outcome[] = [];
  const logs = files.map((file): AuditLogInput => {
    const log = readLog(file);
    if ('unreadable' in log) throw new UsageError(`cannot read the audit log ${file}: ${log.unreadable}; no report was written`);
    const verdict = verifyChain(log.text);
    const signature = verifyAuditSignature(file, log.bytes, allowed, new Date());
    outcomes.push(verdict.status, signatureOutcome(signature.status, requireSignature));
    return {
      path: file,
      text: log.text,
      chain: { status: verdict.status, text: describeVerdict(verdict) },
      signature: { status: signature.status, text: describeSignature(signature, requireSignature) },
    };
  });
  const reports = buildRunReports(logs);
  const page = format === 'html' ? renderHtml(reports) : renderMarkdown(reports);
  if (output === undefined || output === '-') process.stdout.write(page);
  else writeReport(output, page);
  return worst(outcomes);
}

/** What to do when `-o` could not be written (writeOutputFile's error code); `ifExists` for a file already there. */
function outputHint(code: string, ifExists: string): string {
  if (code === 'EEXIST') return ifExists;
  if (code === 'ENOSPC') return 'free space on that file system or choose a path for -o on another';
  return 'choose a path for -o in a directory you can write';
}

/**
 * Writes the report to a new file only, whole or not at all (runner/output-file.ts): `-o` naming the log
 * being reported on (tab completion, a shell history slip), another run's log or a `.sig` would otherwise
 * replace evidence with a page; a page cut short by a full disk would block the retry.
 */
function writeReport(output: string, page: string): void {
  // Owner-only (0600), as the logs it is made from: the page holds their diffs, which hold file contents.
  const written = writeOutputFile(output, page);
  if (written.ok) return;
  const hint = outputHint(written.code, 'a report never replaces a file (it could be an audit log): remove it first or choose a new path for -o');
  throw new UsageError(`audit report: cannot write ${output} (${written.code}); ${hint}; no report was written`);
}

/** `audit merge LOG… -o MERGED.jsonl [--allow-missing]`: writes the merged log and returns the whole run's exit status. */
function mergeCommand(argv: string[]): number {
  const spec = { output: { type: 'string', short: 'o' }, 'allow-missing': { type: 'boolean' } } as const;
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof spec; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${describeParseArgsError(error, Object.keys(spec))} (expected \`audit merge LOG… -o MERGED.jsonl [--allow-missing]\`)`);
  }
  const output = parsed.values.output;
  if (!output || parsed.positionals.length === 0) throw new UsageError('expected `audit merge LOG… -o MERGED.jsonl [--allow-missing]` (see audit --help)');
  const now = new Date();
  const parts = parsed.positionals.map((file) => {
    const log = readLog(file);
    if ('unreadable' in log) throw new UsageError(`cannot read the audit log ${file}: ${log.unreadable}`);
    // A signed part whose signature does not match is as suspect as a broken chain. Who signed it is for
    // `audit verify --allowed-signers` on the part; the merged log records the signer's key.
    const signature = verifyAuditSignature(file, log.bytes, undefined, now);
    if (signature.status === 'bad') throw new UsageError(`audit merge: ${file} cannot be merged: ${describeSignature(signature, false)}; nothing was written`);
    return {
      file,
      text: log.text,
      signature:
        signature.status === 'unchecked'
          ? { status: 'unchecked' as const, ...(signature.signer && { signer: signature.signer }) }
          : { status: 'missing' as const },
    };
  });
  let result: MergeResult;
  try {
    result = mergeAuditLogs({ parts, allowMissing: Boolean(parsed.values['allow-missing']), time: now.toISOString() });
  } catch (error) {
    if (error instanceof MergeError) throw new UsageError(`audit merge: ${error.message}; nothing was written`);
    throw error;
  }
  // Whole or not at all, never over a file (a merged log is evidence), owner-only as every audit log.
  const written = writeOutputFile(output, result.text);
  if (!written.ok) {
    const hint = outputHint(written.code, 'a merged log never replaces a file: choose a new path for -o');
    throw new UsageError(`audit merge: cannot write ${output} (${written.code}); ${hint}; nothing was written`);
  }
  for (const part of result.parts) {
    const signed = part.signature.status === 'unchecked' ? `, signed by ${part.signature.signer ?? 'a key'} (signature matches)` : '';
    process.stdout.write(
      `shard ${part.shard}/${result.shardCount}: ${part.file}, intact, ${part.records} records, ${part.hosts} host(s), exit ${part.exitCode}${signed}\n`,
    );
  }
  for (const shard of result.missing) process.stdout.write(`shard ${shard}/${result.shardCount}: MISSING\n`);
  process.stdout.write(
    `merged into ${output}: ${verifyChain(result.text).records} records\nwhole run: exit ${result.exitCode} (${WHOLE_MEANING[result.exitCode] ?? 'failed'})\n`,
  );
  return result.exitCode;
}

const WHOLE_MEANING: Record<number, string> = {
  0: 'ok',
  2: 'a host failed, or a shard was interrupted',
  3: 'incomplete: a shard is missing',
  4: 'hosts unreachable',
  6: 'changes pending (drift)',
};

function worst(statuses: Array<ChainStatus | Outcome>): number {
  if (statuses.includes('broken')) return EXIT.broken;
  if (statuses.includes('unproven')) return EXIT.unproven;
  if (statuses.includes('incomplete')) return EXIT.incomplete;
  return EXIT.intact;
}

/** A signature that does not match the log means the log (or the signature) was changed: as broken as a chain. */
function signatureOutcome(status: SignatureStatus, required: boolean): Outcome {
  switch (status) {
    case 'bad':
      return 'broken';
    case 'untrusted':
      return 'unproven';
    case 'missing':
      return required ? 'unproven' : 'intact';
    case 'trusted':
    case 'unchecked':
      return 'intact';
  }
}

function verifyArguments(argv: string[]): { files: string[]; allowed: AllowedSigner[] | undefined; requireSignature: boolean } {
  const spec = { 'allowed-signers': { type: 'string' }, 'require-signature': { type: 'boolean' } } as const;
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof spec; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${describeParseArgsError(error, Object.keys(spec))} (see audit --help)`);
  }
  const files = parsed.positionals;
  if (files.length === 0) throw new UsageError('expected `audit verify FILE…` (see audit --help)');
  const signersFile = parsed.values['allowed-signers'];
  const requireSignature = Boolean(parsed.values['require-signature']);
  if (requireSignature && signersFile === undefined) throw new UsageError(REQUIRE_NEEDS_SIGNERS);
  if (signersFile === undefined) return { files, allowed: undefined, requireSignature };
  return { files, allowed: loadAllowedSigners(signersFile), requireSignature };
}

const REQUIRE_NEEDS_SIGNERS = '--require-signature needs --allowed-signers FILE: a signature proves nothing without the list of keys allowed to make it';

/** The allowed signers file of verify and report, read and parsed, or a UsageError naming the file. */
function loadAllowedSigners(signersFile: string): AllowedSigner[] {
  let text: string;
  try {
    text = readFileSync(signersFile, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the allowed signers file ${signersFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    const allowed = parseAllowedSigners(text, signersFile);
    if (allowed.length === 0) throw new UsageError(`the allowed signers file ${signersFile} names no key: every signature would be refused`);
    return allowed;
  } catch (error) {
    if (error instanceof AllowedSignersError) throw new UsageError(error.message);
    throw error;
  }
}

/** A log's bytes and text, or why it cannot be read (the error code, e.g. ENOENT). */
function readLog(file: string): { text: string; bytes: Buffer } | { unreadable: string } {
  try {
    const bytes = readFileSync(file);
    return { bytes, text: auditLogText(bytes) };
  } catch (error) {
    return { unreadable: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
}
