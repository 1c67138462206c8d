/**
 * Ad-hoc runs, audited like playbook runs:
 *   `exec PATTERN -i FILE -- COMMAND…`            one shell command on every matching host at once
 *   `module PATTERN -i FILE MODULE key=value …`   one module, with --check and --diff
 */
import { findModule, registry } from '../../modules/registry.ts';
import { fileURLToPath } from 'node:url';
import { osFacts } from '../../modules/facts/os.ts';
import { runPlaybook } from '../engine/run-playbook.ts';
import type { Module } from '../module.ts';
import { closest } from '../names.ts';
import { definePlaybook } from '../playbook.ts';
import { SchemaError } from '../schema.ts';
import { Secret } from '../secret.ts';
import { paramDocs } from './param-docs.ts';
import { commonHelpWithout, parseCommonOptions, UsageError, type CommonOptions } from './options.ts';
import { closeRun, prepareAudit, startRun } from './run-context.ts';
import { applyShard } from './shard.ts';
import { loadTargets } from './targets.ts';

export const EXEC_HELP = `Usage: tsx run exec PATTERN -i INVENTORY [options] -- COMMAND [ARG…]

Runs one shell command (under set -eu) on every host matching PATTERN at once and prints each host's
output under its name with its exit status. With --check it shows the command and runs nothing.
The words after -- are joined with spaces into one shell line, as ssh does: quote for the remote shell
(\`-- 'rm -f "my file"'\`); a ; or * in them is the host shell's.
  -b, --become          run with sudo
      --become-user U   sudo to this user (default root)

${commonHelpWithout(['tags', 'skip-tags'])}`;

export const MODULE_HELP = `Usage: tsx run module PATTERN -i INVENTORY [options] MODULE key=value …

Runs one module on every host matching PATTERN. Parameters are key=value words; keys may be camelCase
or Ansible's snake_case; lists as a,b,c or JSON; mappings as JSON. \`tsx run module --help MODULE\`
lists a module's parameters.
  -b, --become          run with sudo
      --become-user U   sudo to this user (default root)

${commonHelpWithout(['tags', 'skip-tags'])}

Modules: ${Object.keys(registry).join(', ')}`;

const BECOME_OPTIONS = { become: { type: 'boolean', short: 'b' }, 'become-user': { type: 'string' } } as const;

export async function execCommand(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  const head = split < 0 ? argv : argv.slice(0, split);
  const words = split < 0 ? [] : argv.slice(split + 1);
  const { options, positionals, extra } = parseCommonOptions(head, BECOME_OPTIONS);
  if (options.help) {
    process.stdout.write(`${EXEC_HELP}\n`);
    return 0;
  }
  refuseTags('exec', options);
  if (positionals.length !== 1) throw new UsageError('expected one host pattern before `--` (see --help)');
  if (words.length === 0) throw new UsageError('no command given: put it after `--`, e.g. `exec workers -i inv.yaml -- uptime`');
  // The words are joined as a shell command line, as `ssh host -- words` would do: quoting is the operator's.
  const cmd = words.join(' ');
  // `-- ''` or `-- "$CMD"` with CMD unset: refused here, once, as no words at all are, not failed on every host.
  if (cmd.trim() === '') {
    throw new UsageError(
      `the command after \`--\` is ${cmd === '' ? 'empty' : 'only blanks'} (an unset shell variable?): give the command to run, e.g. \`exec workers -i inv.yaml -- uptime\``,
    );
  }
  const shell = findModule('shell');
  if (!shell) throw new UsageError('the shell module is not available in this build');
  const params = { cmd };
  return adhocRun('exec', positionals[0]!, shell, params, options, extra, false, true);
}

export async function moduleCommand(argv: string[]): Promise<number> {
  const { options, positionals, extra } = parseCommonOptions(argv, BECOME_OPTIONS);
  if (options.help) {
    // `module --help MODULE` or `module PATTERN MODULE --help`.
    const asked = positionals.length === 0 ? undefined : (findModule(positionals[0]!) ?? findModule(positionals[1] ?? ''));
    if (positionals.length > 0 && !asked) throw unknownModule(positionals.length === 1 ? positionals[0]! : positionals[1]!);
    process.stdout.write(`${asked ? moduleHelp(asked) : MODULE_HELP}\n`);
    return 0;
  }
  refuseTags('module', options);
  if (positionals.length < 2) throw new UsageError('expected PATTERN MODULE [key=value …] (see --help)');
  const [pattern, moduleName, ...pairs] = positionals as [string, string, ...string[]];
  const module = findModule(moduleName);
  if (!module) throw unknownModule(moduleName);
  // The parameters are the same for every host: a mistake is reported once, before any host is contacted.
  const params = parsePairs(pairs);
  let parsed: unknown;
  try {
    parsed = module.params.parse(params, '', { fromText: true });
  } catch (error) {
    if (error instanceof SchemaError)
      throw new UsageError(`invalid parameters for ${module.name}: ${error.message}; nothing was run (see \`run module ${module.name} --help\`)`);
    throw error;
  }
  // A secret parameter (user password=…) is masked from the first record on: argv and the recorded parameters hold it.
  return adhocRun('module', pattern, module, params, options, extra, true, false, secretsIn(parsed));
}

/** The values of the Secrets a module's schema made of its parameters (s.secret() fields), at any depth. */
function secretsIn(value: unknown): string[] {
  if (value instanceof Secret) return [value.reveal()];
  if (Array.isArray(value)) return value.flatMap(secretsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(secretsIn);
  return [];
}

/** `key=value` words to a parameter object; values stay text and are coerced by the module's schema. */
export function parsePairs(pairs: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`parameter ${JSON.stringify(pair)} is not key=value`);
    const key = pair.slice(0, eq);
    if (key in params) throw new UsageError(`parameter ${key} given twice`);
    params[key] = pair.slice(eq + 1);
  }
  return params;
}

/** Names the unknown module and the nearest known one. */
/** --tags selects a playbook's tasks; an ad-hoc run is one untagged task, which --tags would silently keep or drop. */
function refuseTags(command: string, options: CommonOptions): void {
  const given = [...(options.tags.length > 0 ? ['--tags'] : []), ...(options.skipTags.length > 0 ? ['--skip-tags'] : [])];
  if (given.length > 0) {
    throw new UsageError(
      `${given.join(' and ')} ${given.length > 1 ? 'select' : 'selects'} tasks of a playbook; \`${command}\` runs one untagged task, so ${given.length > 1 ? 'they have' : 'it has'} no meaning here: remove ${given.length > 1 ? 'them' : 'it'} (or narrow the hosts with the pattern or --limit). Nothing was run.`,
    );
  }
}

function unknownModule(name: string): UsageError {
  const names = Object.keys(registry);
  const hint = closest(name, names);
  return new UsageError(`unknown module ${JSON.stringify(name)}${hint ? `; did you mean ${hint}?` : ''} (modules: ${names.join(', ')})`);
}

/** A module's summary and parameters, each with its type and the doc comment its schema field carries. */
function moduleHelp(module: Module): string {
  const docs = paramDocs(moduleSourceFile(module.name));
  const lines = [`${module.name}: ${module.summary}`, '', 'Parameters:'];
  for (const [key, schema] of Object.entries(module.params.shape)) {
    const field = schema as { describe(): string; omittable: boolean };
    lines.push(`  ${key}${field.omittable ? '' : ' (required)'}: ${field.describe()}`);
    const doc = docs.get(key);
    if (doc) lines.push(...wrap(doc, 100 - 6).map((line) => `      ${line}`));
  }
  return lines.join('\n');
}

/** modules/NAME.ts for a registered module (the registry test keeps file and key in step). */
function moduleSourceFile(name: string): string {
  return fileURLToPath(new URL(`../../modules/${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}.ts`, import.meta.url));
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * An ad-hoc run is a playbook of one play with one task, run by the same engine function as any
 * playbook. The hosts were all started at once, so a failure on one (a non-zero exit is that host's
 * answer, reported as failed, exit 2) does not stop the others: the play keeps going.
 */
async function adhocRun(
  kind: 'exec' | 'module',
  pattern: string,
  module: Module,
  params: Record<string, unknown>,
  options: CommonOptions,
  extra: Record<string, string | boolean | undefined>,
  paramsFromText: boolean,
  echoOutput: boolean,
  secrets: string[] = [],
): Promise<number> {
  const targets = await loadTargets(options);
  const { hosts, record: shard, warnings: shardWarnings } = applyShard(targets.select(pattern, { allowEmpty: false, ignoreShard: true }), options.shard);
  const becomeUser = typeof extra['become-user'] === 'string' ? extra['become-user'] : undefined;
  const becomeOption = extra.become || becomeUser ? (becomeUser ?? true) : undefined;
  const run = await startRun({
    options,
    hosts,
    audit: await prepareAudit(options),
    secrets,
    info: {
      runKind: kind,
      inventory: targets.source,
      adhoc: { module: module.name, params, ...(becomeOption !== undefined && { become: becomeOption }) },
      mode: options.check ? 'check' : 'apply',
      ...(options.detectDrift && { detectDrift: true }),
      diff: options.diff,
      limit: options.limit,
      shard,
    },
  });
  const taskName =
    kind === 'exec'
      ? String(params.cmd)
      : `${module.name} ${Object.entries(params)
          .map(([key, value]) => `${key}=${String(value)}`)
          .join(' ')}`;
  const book = definePlaybook({ name: kind });
  const play = book.play({
    name: kind,
    hosts: pattern,
    become: becomeOption,
    tasks: async (t) => {
      await t.run(module, taskName, params);
    },
  });
  for (const message of [...targets.warnings, ...shardWarnings]) run.bus.emit({ kind: 'warning', message });
  const { code } = await closeRun(run, async () => {
    await runPlaybook(book.playbook([play]), new Map(), {
      check: options.check,
      keepGoing: true,
      forks: options.forks,
      tags: { only: [], skip: [] },
      selectHosts: (hostPattern) => targets.select(hostPattern, { allowEmpty: false }),
      inventoryHosts: (hostPattern) => targets.select(hostPattern, { allowEmpty: true, ignoreLimit: true }),
      sessions: run.sessions,
      bus: run.bus,
      state: run.state,
      redactor: run.redactor,
      clock: run.clock,
      modules: registry,
      osFact: osFacts,
      adhoc: { paramsFromText, echoOutput },
    });
  });
  process.exitCode = code;
  return code;
}
