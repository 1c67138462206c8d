/**
 * Command-line options shared by playbook runs and ad-hoc commands, validated up front with messages
 * that name the option and the value.
 */
import { parseArgs } from 'node:util';
import { DRIFT_EXIT_STATUS } from '../events.ts';
import { DEFAULT_RUN_OUTPUT_BYTES } from '../transport/output-budget.ts';
import { describeParseArgsError } from './parse-args-error.ts';
import { parseShard, type Shard } from './shard.ts';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Default and ceiling for hosts working at once: every host of a batch, up to this many. */
export const DEFAULT_MAX_FORKS = 256;

export interface CommonOptions {
  inventory?: string;
  limit?: string;
  check: boolean;
  /**
   * With check: exit DRIFT_EXIT_STATUS when changes are pending and nothing failed (cron and CI drift
   * detection). Absent means false (options built in code, as the engine tests do, need not name it).
   */
  detectDrift?: boolean;
  diff: boolean;
  json: boolean;
  /**
   * The terminal's view (report/terminal.ts): --per-host or --grouped; absent means `auto` (per host up to
   * five hosts or with -v, grouped beyond).
   */
  hostView?: 'auto' | 'per-host' | 'grouped';
  /** At least -v (kept for callers that only ask whether commands are shown). */
  verbose: boolean;
  /**
   * How many -v were given, as Ansible counts them (`-vvv`, `-v -v -v`, `--verbose --verbose`): 1 shows
   * every command run, 2 also every probe and its output, 3 also the transport (connect attempts, keepalives).
   */
  verbosity?: number;
  forks: number;
  keepGoing: boolean;
  tags: string[];
  skipTags: string[];
  auditLog?: string;
  /** Sign the audit log when the run ends (--sign-audit, or implied by --audit-sign-key); unset: do not sign. */
  signAudit?: boolean;
  /** The key to sign with: a private key file, or a .pub naming one of the agent's keys; unset: the agent's first key. */
  auditSignKey?: string;
  /** Where else each audit record goes as it is written (--audit-copy, repeatable; see runner/audit/copy.ts); unset: nowhere. */
  auditCopies?: string[];
  timeoutSeconds: number;
  hostKeyPolicy: 'strict' | 'accept-new' | 'insecure-ignore';
  /** Prompt for the become password once (like ansible -K). */
  askBecomePass: boolean;
  /**
   * Where Ansible Vault passwords come from, in the order given: --vault-password-file FILE is an unlabelled
   * file, --vault-id [LABEL@]SOURCE a file or `prompt` (vault-passwords.ts); unset: none.
   */
  vaultIds?: Array<{ label: string | undefined; source: string }>;
  /** --ask-vault-pass: prompt once for an unlabelled vault password. */
  askVaultPass?: boolean;
  sshConfig?: string;
  /** Connection settings from the command line; inventory variables win, then these, then the defaults (targets.ts). */
  connectTimeoutSeconds?: number;
  keepaliveIntervalSeconds?: number;
  keepaliveCount?: number;
  /** Most bytes of command output held in memory at once for the whole run (all hosts, both streams); default 16 MiB. */
  maxOutputBytes?: number;
  /** --shard I/N: run only this part of the selected hosts (shard.ts). */
  shard?: Shard;
  help: boolean;
}

const OPTION_SPEC = {
  inventory: { type: 'string', short: 'i' },
  limit: { type: 'string', short: 'l' },
  check: { type: 'boolean', short: 'C' },
  'dry-run': { type: 'boolean' },
  'detect-drift': { type: 'boolean' },
  diff: { type: 'boolean', short: 'D' },
  json: { type: 'boolean' },
  'per-host': { type: 'boolean' },
  grouped: { type: 'boolean' },
  // multiple: each -v is counted; `-vvv` is three of them (a group of short flags).
  verbose: { type: 'boolean', short: 'v', multiple: true },
  forks: { type: 'string', short: 'f' },
  'keep-going': { type: 'boolean' },
  tags: { type: 'string', short: 't', multiple: true },
  'skip-tags': { type: 'string', multiple: true },
  'audit-log': { type: 'string' },
  'sign-audit': { type: 'boolean' },
  'audit-sign-key': { type: 'string' },
  'audit-copy': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  'accept-new-host-keys': { type: 'boolean' },
  'insecure-skip-host-key-check': { type: 'boolean' },
  'ask-become-pass': { type: 'boolean', short: 'K' },
  'vault-password-file': { type: 'string', multiple: true },
  'vault-pass-file': { type: 'string', multiple: true },
  'vault-id': { type: 'string', multiple: true },
  'ask-vault-pass': { type: 'boolean' },
  'ask-vault-password': { type: 'boolean' },
  'ssh-config': { type: 'string' },
  'connect-timeout': { type: 'string' },
  'keepalive-interval': { type: 'string' },
  'keepalive-count': { type: 'string' },
  'max-output': { type: 'string' },
  shard: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses argv (without the subcommand); returns the options and the positional words. */
export function parseCommonOptions(
  argv: string[],
  extra: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {},
): {
  options: CommonOptions;
  positionals: string[];
  extra: Record<string, string | boolean | undefined>;
  /** The values of extra options declared `multiple`, in order (`-e a=1 -e b=2`). */
  extraLists: Record<string, string[]>;
} {
  const spec = { ...OPTION_SPEC, ...extra };
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof spec; allowPositionals: true; strict: true; tokens: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError(`${describeParseArgsError(error, Object.keys(spec))} (see --help)`);
  }
  refuseRepeatedValues(parsed.tokens, spec);
  const v = parsed.values as Record<string, unknown>;
  const list = (value: unknown) =>
    [value]
      .flat()
      .filter((item): item is string => typeof item === 'string')
      .flatMap((item) => item.split(','))
      .map((item) => item.trim())
      .filter(Boolean);
  // An empty path or pattern (an unset shell variable) would mean the working directory or nothing at all.
  for (const name of ['inventory', 'audit-log', 'ssh-config', 'limit', 'audit-sign-key'] as const) {
    if (v[name] === '') throw new UsageError(`--${name} is empty: give it a value, or leave the option out`);
  }
  // `--tags "$TAGS"` with TAGS unset would select every task: the opposite of asking for a selection.
  if (v.tags !== undefined && list(v.tags).length === 0) throw new UsageError('--tags is empty: name at least one tag (or leave --tags out to run every task)');
  const forks = v.forks === undefined ? DEFAULT_MAX_FORKS : wholeNumber('--forks', String(v.forks), 1, 10_000);
  const timeoutSeconds = v.timeout === undefined ? 1800 : wholeNumber('--timeout', String(v.timeout), 1, 86_400);
  if (v['accept-new-host-keys'] && v['insecure-skip-host-key-check']) {
    throw new UsageError('--accept-new-host-keys and --insecure-skip-host-key-check cannot be used together');
  }
  if (v['per-host'] && v.grouped) throw new UsageError('--per-host and --grouped cannot be used together: pick one view');
  // -v shows each host's commands under its own result: the grouped view has no per-host result to put them under.
  if (v.grouped && verbosity(v.verbose) > 0)
    throw new UsageError("--grouped merges hosts and -v shows each host's commands: use one or the other (-v alone gives the per-host view)");
  if (v['detect-drift'] && !(v.check || v['dry-run'])) {
    throw new UsageError('--detect-drift reports pending changes of a dry run: use it with --check');
  }
  const options: CommonOptions = {
    inventory: v.inventory as string | undefined,
    limit: v.limit as string | undefined,
    check: Boolean(v.check || v['dry-run']),
    detectDrift: Boolean(v['detect-drift']),
    diff: Boolean(v.diff),
    json: Boolean(v.json),
    hostView: v['per-host'] ? 'per-host' : v.grouped ? 'grouped' : 'auto',
    verbose: verbosity(v.verbose) > 0,
    verbosity: verbosity(v.verbose),
    forks,
    keepGoing: Boolean(v['keep-going']),
    tags: list(v.tags),
    skipTags: list(v['skip-tags']),
    auditLog: v['audit-log'] as string | undefined,
    signAudit: Boolean(v['sign-audit'] || v['audit-sign-key'] !== undefined),
    auditSignKey: v['audit-sign-key'] as string | undefined,
    auditCopies: [v['audit-copy']].flat().filter((item): item is string => typeof item === 'string'),
    timeoutSeconds,
    hostKeyPolicy: v['insecure-skip-host-key-check'] ? 'insecure-ignore' : v['accept-new-host-keys'] ? 'accept-new' : 'strict',
    askBecomePass: Boolean(v['ask-become-pass']),
    vaultIds: vaultIds(v),
    askVaultPass: Boolean(v['ask-vault-pass'] || v['ask-vault-password']),
    sshConfig: v['ssh-config'] as string | undefined,
    maxOutputBytes: v['max-output'] === undefined ? DEFAULT_RUN_OUTPUT_BYTES : byteSize('--max-output', String(v['max-output'])),
    help: Boolean(v.help),
  };
  if (v['connect-timeout'] !== undefined) options.connectTimeoutSeconds = wholeNumber('--connect-timeout', String(v['connect-timeout']), 1, 3600);
  if (v['keepalive-interval'] !== undefined) options.keepaliveIntervalSeconds = wholeNumber('--keepalive-interval', String(v['keepalive-interval']), 0, 3600);
  if (v.shard !== undefined) {
    const shard = parseShard(String(v.shard));
    if ('problem' in shard) throw new UsageError(shard.problem);
    options.shard = shard;
  }
  if (v['keepalive-count'] !== undefined) options.keepaliveCount = wholeNumber('--keepalive-count', String(v['keepalive-count']), 1, 100);
  const extraValues: Record<string, string | boolean | undefined> = {};
  const extraLists: Record<string, string[]> = {};
  for (const [key, spec] of Object.entries(extra)) {
    if (spec.multiple) extraLists[key] = [v[key]].flat().filter((item): item is string => typeof item === 'string');
    else extraValues[key] = v[key] as string | boolean | undefined;
  }
  return { options, positionals: parsed.positionals, extra: extraValues, extraLists };
}

/**
 * An option that takes one value, given twice (`-i a.yaml -i b.yaml`, `--limit x --limit y`): parseArgs keeps
 * the last and drops the other without a word, so a run would quietly use another inventory, limit or audit
 * log than the operator typed. Options meant to repeat are declared `multiple`; repeated flags are harmless.
 */
function refuseRepeatedValues(
  tokens: ReadonlyArray<{ kind: string; name?: string; rawName?: string; value?: string }>,
  spec: Record<string, { type: string; multiple?: boolean }>,
): void {
  const seen = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind !== 'option' || !token.name) continue;
    const option = spec[token.name];
    if (option?.type !== 'string' || option.multiple) continue;
    const values = seen.get(token.name) ?? [];
    values.push(`${token.rawName ?? `--${token.name}`} ${token.value ?? ''}`.trim());
    seen.set(token.name, values);
  }
  for (const [name, values] of seen) {
    if (values.length > 1)
      throw new UsageError(`--${name} was given ${values.length} times (${values.join(', ')}): give it once; drover does not merge or override them`);
  }
}

/**
 * The vault password sources, in the order given: --vault-password-file (Ansible also spells it
 * --vault-pass-file) names an unlabelled file; --vault-id takes LABEL@SOURCE or SOURCE alone.
 */
function vaultIds(v: Record<string, unknown>): Array<{ label: string | undefined; source: string }> {
  const strings = (value: unknown) => [value].flat().filter((item): item is string => typeof item === 'string');
  const ids: Array<{ label: string | undefined; source: string }> = [...strings(v['vault-password-file']), ...strings(v['vault-pass-file'])].map((source) => ({
    label: undefined,
    source,
  }));
  for (const id of strings(v['vault-id'])) {
    const at = id.indexOf('@');
    const label = at > 0 ? id.slice(0, at) : undefined;
    const source = at >= 0 ? id.slice(at + 1) : id;
    if (source === '') throw new UsageError(`--vault-id takes [LABEL@]FILE or [LABEL@]prompt, got ${JSON.stringify(id)}`);
    ids.push({ label, source });
  }
  for (const { source } of ids) if (source === '') throw new UsageError('--vault-password-file needs a file name');
  return ids;
}

/** The number of -v given; more than three means the same as three (as Ansible, which stops at -vvvvvv). */
function verbosity(value: unknown): number {
  return Math.min(3, [value].flat().filter((item) => item === true).length);
}

/** A size in bytes, with an optional K, M or G suffix (powers of 1024): `64M`, `1G`, `500000`. */
function byteSize(option: string, text: string): number {
  const match = /^(\d+)([KMG]?)i?B?$/i.exec(text);
  const value = match ? Number(match[1]) * 1024 ** ' KMG'.indexOf((match[2] || ' ').toUpperCase()) : NaN;
  if (!match || !(value >= 64 * 1024) || value > 64 * 1024 ** 3) {
    throw new UsageError(`${option} takes a size from 64K to 64G (bytes, or with a K, M or G suffix), got ${JSON.stringify(text)}`);
  }
  return value;
}

function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${option} takes a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export const COMMON_HELP = `Options:
  -i, --inventory FILE          inventory (Ansible YAML or INI; group_vars/ and host_vars/ beside it are read)
  -l, --limit PATTERN           narrow the hosts further (all, group, host, node*, a:b, a:&b, a:!b)
  -C, --check, --dry-run        read state and report what would change; change nothing
      --detect-drift            with --check: exit ${DRIFT_EXIT_STATUS} when changes are pending and no host failed or
                                was unreachable (for cron and CI); 0 when nothing would change
  -D, --diff                    show unified diffs for files and before → after for settings
  -t, --tags TAGS               run only tasks with these tags (comma-separated; repeatable)
      --skip-tags TAGS          skip tasks with these tags
  -f, --forks N                 most hosts working at once (default: all hosts of a batch, at most ${DEFAULT_MAX_FORKS})
      --keep-going              let other hosts continue after a host fails (default: stop everywhere)
      --timeout SECONDS         time limit of a single command (default 1800)
  -K, --ask-become-pass         ask once for the sudo password
      --vault-password-file FILE
                                Ansible Vault password: the file's text (surrounding whitespace removed), or,
                                if FILE is executable, what it prints on stdout; repeatable
      --vault-id [LABEL@]SOURCE vault password under a vault id LABEL (tried first for values encrypted with
                                that label); SOURCE is a file as above or \`prompt\`; repeatable
      --ask-vault-pass          ask once for the vault password
      --json                    print one JSON event per line instead of the report
      --per-host                a line per host per task and a recap line per host (the default up to 5 hosts)
      --grouped                 a line per task with counts per status, hosts as ranges (node[01:97]),
                                identical changes merged, failures in full (the default beyond 5 hosts)
      --audit-log FILE          where to write the audit log (default: ./audit/RUN-ID.jsonl)
      --sign-audit              sign the audit log at the end with your SSH key from ssh-agent (SSH_AUTH_SOCK,
                                its first key), into FILE.sig (OpenSSH SSHSIG, namespace drover-audit)
      --audit-sign-key KEY      sign with this key (implies --sign-audit): a private key file, or the .pub
                                of a key held by ssh-agent
      --audit-copy DEST         also send each audit record, as it is written, to DEST (repeatable):
                                command:CMD (on its stdin), syslog, journald, syslog://HOST[:PORT] (TCP),
                                syslog+udp://HOST[:PORT]
      --accept-new-host-keys    record unknown host keys (trust on first use); changed keys are still refused
      --insecure-skip-host-key-check
                                do not verify host keys at all (man-in-the-middle risk)
      --ssh-config FILE         OpenSSH client config to read (default ~/.ssh/config)
      --connect-timeout SECONDS one connection attempt's limit, TCP to logged in (default 5; 3 attempts)
      --keepalive-interval SECONDS
                                a silent connection is probed this often (default 2; 0 turns it off)
      --keepalive-count N       unanswered probes before the host counts as unreachable (default 3)
      --max-output SIZE         most command output held in memory at once, all hosts together (default 16M);
                                past it output is counted, not kept, and marked truncated
      --shard I/N               run only part I of N of the selected hosts (1 ≤ I ≤ N; a host's part depends
                                only on its name and N); an empty part warns and exits 0. \`audit merge\`
                                joins the parts' audit logs
  -v, --verbose                 show every command run; -vv also every probe and its output;
                                -vvv also the transport (connect attempts, keepalives); repeatable (-v -v)
  -h, --help                    this help`;

/**
 * COMMON_HELP without the options a command refuses (exec and module take no --tags; apply takes its
 * limit and tags from the plan and runs for real): help lists only what works.
 */
export function commonHelpWithout(refused: readonly string[]): string {
  const entries: string[][] = [];
  for (const line of COMMON_HELP.split('\n')) {
    // An option's entry starts at `  -x, --name` or `      --name`; its continuation lines are indented further.
    if (/^ {2}(-\w, )?--|^ {6}--/.test(line) || entries.length === 0) entries.push([line]);
    else entries.at(-1)!.push(line);
  }
  const named = (entry: string[]) => entry[0]!.match(/--([\w-]+)/g)?.map((name) => name.slice(2)) ?? [];
  return entries
    .filter((entry) => !named(entry).some((name) => refused.includes(name)))
    .flat()
    .join('\n');
}
