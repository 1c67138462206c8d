/** `run PLAYBOOK.ts -i INVENTORY [options]`: loads a TypeScript playbook and runs it. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { osFacts } from '../../modules/facts/os.ts';
import { registry } from '../../modules/registry.ts';
import { runPlaybook, validatePlaybookVars } from '../engine/run-playbook.ts';
import { checkTemplates } from '../engine/template-preflight.ts';
import type { RunStartInfo } from '../events.ts';
import { codeLocation } from '../engine/code-location.ts';
import { checkPlays, PlaybookError } from '../play-options.ts';
import { isPlaybook, RUNTIME, type Playbook } from '../playbook.ts';
import type { PlanReview } from '../planned-task.ts';
import { toPlain } from '../plain-value.ts';
import { Redactor } from '../secret.ts';
import { refuseDataAsPlaybook } from './argument-roles.ts';
import { gitInfo } from './git-info.ts';
import {
  connectionVariableWarnings,
  extraVarSecrets,
  parseExtraVars,
  recordedExtraVars,
  secretsUnderNames,
  typeExtraVars,
  withExtraVars,
} from './extra-vars.ts';
import { COMMON_HELP, parseCommonOptions, UsageError, type CommonOptions } from './options.ts';
import { closeRun, prepareAudit, startRun, type RunContext } from './run-context.ts';
import { checkPlanPath, PLAN_FORMAT, PlanRecorder, writeSavedPlan } from './saved-plan.ts';
import { applyShard } from './shard.ts';
import { loadTargets, type Targets } from './targets.ts';
import { HostPatternError } from '../../inventory/index.ts';
import type { HostTarget } from '../engine/host-session.ts';
import { typeCheckPlaybook } from './typecheck.ts';

export const PLAYBOOK_HELP = `Usage: tsx run PLAYBOOK.ts -i INVENTORY [options]

Runs a playbook's plays on the hosts they name, every host at once, stopping everywhere at the first
failure. Exit status: 0 ok, 2 a host failed, 4 a host unreachable, 130 interrupted, 5 ok but the audit log
could not be signed (--sign-audit) or copied whole (--audit-copy); with --check --detect-drift, 6 when
changes are pending (and none of the others).

The playbook and the files it imports are type-checked first (cached by content); a type error is
reported as file:line:col and nothing runs (exit 1).

Playbook options:
  --no-typecheck           skip the type check (the playbook still fails on a bad parameter, but only
                           when the task runs)

  -e, --extra-vars VARS         key=value (several, shell-quoted), @FILE (YAML or JSON) or a JSON object;
                                repeatable, later wins; above every inventory variable, checked by the
                                playbook's vars schema (key=value text typed by it: port=8080 → 8080)
      --save-plan FILE          with --check: write the reviewed plan to FILE (never overwritten; written
                                when the run ends): per host and task the commands, diffs and a fingerprint
                                of the state probed, with the playbook's and inventory's hashes; apply it
                                with \`run apply FILE -i INVENTORY\` (see \`run apply --help\`)
${COMMON_HELP}`;

export async function playbookCommand(argv: string[]): Promise<number> {
  // Taken out before the common options are parsed: only this command has it.
  const typecheck = !argv.includes('--no-typecheck');
  const { options, positionals, extra, extraLists } = parseCommonOptions(
    argv.filter((arg) => arg !== '--no-typecheck'),
    { 'extra-vars': { type: 'string', short: 'e', multiple: true }, 'save-plan': { type: 'string' } },
  );
  if (options.help) {
    process.stdout.write(`${PLAYBOOK_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one playbook file, got ${positionals.length ? positionals.join(' ') : 'none'} (see --help)`);
  const savePlan = extra['save-plan'] as string | undefined;
  if (savePlan !== undefined && !options.check)
    throw new UsageError('--save-plan records a dry run for review: use it with --check, then `run apply PLAN -i INVENTORY`');
  const planPath = savePlan !== undefined ? checkPlanPath(savePlan) : undefined;
  // Both files are created by the run: the one path for both was found only when the dry run had ended.
  if (planPath !== undefined && options.auditLog !== undefined && resolve(options.auditLog) === planPath) {
    throw new UsageError(`--save-plan and --audit-log name the same file (${planPath}): give each its own path`);
  }
  const recorder = planPath ? new PlanRecorder() : undefined;
  let saved: ReturnType<typeof writePlanOfRun> | undefined;
  return runPlaybookFile({
    options,
    playbookPath: resolve(positionals[0]!),
    typecheck,
    extraVarArgs: extraLists['extra-vars'] ?? [],
    review: recorder?.review,
    beforeFinish: recorder && ((run, identity, threw) => (saved = writePlanOfRun(planPath!, recorder, run, identity, threw, options))),
    afterRun:
      recorder &&
      (() => {
        if (saved && 'problem' in saved) process.stderr.write(`drover: ${saved.problem}\n`);
        else if (saved)
          process.stderr.write(
            `plan saved: ${planPath} (sha256 ${saved.sha256})${saved.incomplete ? ` — incomplete, cannot be applied: ${saved.incomplete}` : ''}\n`,
          );
      }),
  });
}

/**
 * Writes the dry run's plan before the run closes, so that a plan that could not be written (a full disk)
 * is in the audit log and the exit status: a warning naming the file, and the run failed (exit 2), since
 * the review it was for cannot happen. An incomplete plan says why (`web2 failed`).
 */
function writePlanOfRun(
  path: string,
  recorder: PlanRecorder,
  run: RunContext,
  identity: RunIdentity,
  threw: boolean,
  options: CommonOptions,
): { sha256: string; incomplete: string } | { problem: string } {
  const problems = [
    ...(threw ? ['the dry run stopped on an error'] : []),
    ...[...run.state.failedHosts].map((host) => `${host} failed`),
    ...[...run.state.unreachableHosts].map((host) => `${host} was unreachable`),
    ...(run.state.stopReason === 'interrupted' ? ['the dry run was interrupted'] : []),
    ...(run.state.runFailures > 0 ? ['the dry run failed outside any host'] : []),
  ];
  const written = writeSavedPlan(path, {
    format: PLAN_FORMAT,
    createdAt: identity.startedAt,
    runId: run.runId,
    operator: identity.operator,
    controller: hostname(),
    playbook: identity.playbook,
    inventory: identity.inventory,
    ...(options.limit !== undefined && { limit: options.limit }),
    ...(options.shard !== undefined && { shard: `${options.shard.index}/${options.shard.count}` }),
    tags: options.tags,
    skipTags: options.skipTags,
    ...(identity.extraVars && { extraVars: identity.extraVars }),
    complete: problems.length === 0,
    problems,
    hosts: Object.fromEntries(recorder.hosts),
  });
  if ('problem' in written) {
    run.state.runFailures++;
    run.bus.emit({ kind: 'warning', message: `the plan was not saved: ${written.problem}` });
    return written;
  }
  return { sha256: written.sha256, incomplete: problems.join('; ') };
}

/** What a playbook run is, as a saved plan records it and an apply checks it. */
export interface RunIdentity {
  playbook: { path: string; sha256: string };
  inventory: { path: string; sha256: string } | null;
  /** The -e variables as the audit log records them, as plain data with secrets masked. */
  extraVars?: Record<string, { value: unknown; from: string }>;
  /** The hosts the run selected. */
  hosts: string[];
  operator: string;
  /** ISO 8601 time the run started. */
  startedAt: string;
}

/** A playbook run, as `run PLAYBOOK` and `run apply PLAN` both make it. */
export interface PlaybookFileRun {
  options: CommonOptions;
  playbookPath: string;
  typecheck: boolean;
  extraVarArgs: string[];
  /** Refuses (throws a UsageError) before the playbook is loaded: an apply whose plan does not fit. */
  preflight?: (identity: RunIdentity) => void;
  /** Refuses before any host is contacted, given the hosts selected. */
  checkHosts?: (hosts: string[]) => void;
  /** Added to run-start (the plan an apply follows). */
  info?: Pick<RunStartInfo, 'plan'>;
  /** Each task's plan before it runs (saved plans). */
  review?: PlanReview;
  /** After the plays, before the run closes: failures the plays alone cannot see. */
  afterPlays?: (run: RunContext) => void;
  /** After the plays and before the run closes (its audit log still open); `threw`: an error escaped the plays and failed the run. */
  beforeFinish?: (run: RunContext, identity: RunIdentity, threw: boolean) => void;
  /** After the run closed (the recap printed). */
  afterRun?: () => void;
}

export async function runPlaybookFile(request: PlaybookFileRun): Promise<number> {
  const { options, playbookPath } = request;
  if (!existsSync(playbookPath)) throw new UsageError(`playbook ${playbookPath} does not exist`);
  if (statSync(playbookPath).isDirectory()) throw new UsageError(`playbook ${playbookPath} is a directory: give the playbook's .ts file`);
  // The playbook is read more than once (hashed, type-checked, imported): a pipe would be empty after the first.
  if (!statSync(playbookPath).isFile()) {
    throw new UsageError(
      `playbook ${playbookPath} is not a regular file (a pipe, or /dev/stdin?): drover reads a playbook more than once (to hash, type-check and import it), so save it to a .ts file and give that`,
    );
  }
  refuseDataAsPlaybook(playbookPath);
  // Hashed before the type check and the import: what an apply checks against its plan is what runs.
  const playbookSha256 = createHash('sha256').update(readFileSync(playbookPath)).digest('hex');
  // Started now, read at run start: git works beside the type check and the import (see git-info.ts).
  const git = gitInfo(playbookPath);
  const extraVars = parseExtraVars(request.extraVarArgs);
  const targets = withExtraVars(await loadTargets(options), extraVars);
  const masked = new Redactor();
  for (const value of extraVarSecrets(extraVars)) masked.add(value);
  const identity: RunIdentity = {
    playbook: { path: playbookPath, sha256: playbookSha256 },
    inventory: targets.source,
    ...(extraVars.size > 0 && {
      extraVars: masked.redactValue(toPlain(recordedExtraVars(extraVars))) as RunIdentity['extraVars'],
    }),
    hosts: [],
    operator: process.env.SUDO_USER ? `${process.env.SUDO_USER} (as ${userInfo().username})` : userInfo().username,
    startedAt: new Date().toISOString(),
  };
  request.preflight?.(identity);
  if (request.typecheck) await checkTypes(playbookPath);
  const playbook = await loadPlaybook(playbookPath);
  // What ran must be what was hashed (the plan's and the audit log's sha256): a file edited meanwhile is refused.
  if (createHash('sha256').update(readFileSync(playbookPath)).digest('hex') !== playbookSha256) {
    throw new UsageError(`the playbook ${playbookPath} changed while it was being loaded: nothing was run; run again once it is saved`);
  }

  // Every host any play will touch must have the playbook's variables before anything runs anywhere.
  const selected = uniqueTargets(playbook.plays.flatMap((play) => selectForPlay(targets, play.name, play.hosts)));
  if (selected.length === 0) throw new UsageError(noHostsMessage(playbook, targets.source?.path, options.limit));
  const { hosts, record: shard, warnings: shardWarnings } = applyShard(selected, options.shard);
  identity.hosts = hosts.map((host) => host.name);
  request.checkHosts?.(identity.hosts);
  const typedExtra = typeExtraVars(playbook.vars, extraVars);
  // A schema error quotes the value it refused: a mistyped password would be printed (and kept in CI logs).
  if (typedExtra.errors.length > 0) {
    throw new UsageError(masked.redact(`extra variables do not fit the playbook's vars schema; nothing was run:\n  ${typedExtra.errors.join('\n  ')}`));
  }
  const { vars, errors } = validatePlaybookVars(playbook, hosts, typedExtra.declared);
  if (errors.length > 0) {
    for (const host of hosts) for (const value of secretsUnderNames(Object.entries(host.vars))) masked.add(value);
    throw new UsageError(
      masked.redact(
        `the playbook's variables are not valid on ${errors.length} host(s); nothing was run:\n  ${errors.join('\n  ')}\nset them in the inventory (host_vars/, group_vars/) or give them a default in the playbook's vars schema`,
      ),
    );
  }

  const templateProblems = checkTemplates(playbook.templates, hosts, (pattern) => targets.select(pattern, { allowEmpty: true }));
  if (templateProblems.length > 0) {
    throw new UsageError(
      `the playbook's templates cannot render on every host; nothing was run:\n  ${templateProblems.join('\n  ')}\ndeclare the name in book.template(…, { vars: [...] }) and pass it, or set it in the inventory`,
    );
  }

  const run = await startRun({
    options,
    hosts,
    audit: await prepareAudit(options),
    secrets: extraVarSecrets(extraVars),
    info: {
      runKind: 'playbook',
      playbook: identity.playbook,
      git: await git,
      inventory: targets.source,
      mode: options.check ? 'check' : 'apply',
      ...(options.detectDrift && { detectDrift: true }),
      ...(options.keepGoing && { keepGoing: true }),
      diff: options.diff,
      limit: options.limit,
      ...(extraVars.size > 0 && { extraVars: recordedExtraVars(extraVars) }),
      tags: options.tags,
      skipTags: options.skipTags,
      shard,
      ...request.info,
    },
  });
  for (const message of [...targets.warnings, ...shardWarnings, ...connectionVariableWarnings(extraVars)]) run.bus.emit({ kind: 'warning', message });
  const { code } = await closeRun(
    run,
    async () => {
      await runPlaybook(playbook, vars, {
        check: options.check,
        keepGoing: options.keepGoing,
        forks: options.forks,
        tags: { only: options.tags, skip: options.skipTags },
        selectHosts: (pattern) => targets.select(pattern, { allowEmpty: true }),
        inventoryHosts: (pattern) => targets.select(pattern, { allowEmpty: true, ignoreLimit: true }),
        sessions: run.sessions,
        bus: run.bus,
        state: run.state,
        redactor: run.redactor,
        clock: run.clock,
        modules: registry,
        osFact: osFacts,
        review: request.review,
      });
      request.afterPlays?.(run);
    },
    (threw) => request.beforeFinish?.(run, identity, threw),
  );
  process.exitCode = code;
  request.afterRun?.();
  return code;
}

/**
 * A run in which no play matches a host would change nothing and exit 0, which hides a wrong -i or
 * --limit; one play matching nothing is only a warning (an optional group), all of them is an error.
 */
function noHostsMessage(playbook: Playbook<unknown>, inventoryPath: string | undefined, limit: string | undefined): string {
  if (playbook.plays.length === 0) return 'the playbook has no plays (book.playbook([]) was given none): add the plays to run. Nothing was run.';
  const patterns = [...new Set(playbook.plays.map((play) => play.hosts))].join(', ');
  if (!inventoryPath)
    return `no host matches this playbook's plays (${patterns}): no inventory was given, so only the implicit localhost exists; pass -i INVENTORY. Nothing was run.`;
  return `no host matches this playbook's plays (${patterns}) in the inventory ${inventoryPath}${limit ? ` narrowed by --limit ${limit}` : ''}; nothing was run. Check -i and --limit (\`run inventory -i FILE --graph\` shows the groups).`;
}

/** Refuses a playbook that does not type-check, before it is even imported (see typecheck.ts). */
async function checkTypes(playbookPath: string): Promise<void> {
  const { errors } = await typeCheckPlaybook(playbookPath);
  if (errors.length === 0) return;
  const shown = errors.slice(0, 20);
  throw new UsageError(
    `the playbook does not type-check (${errors.length} error${errors.length === 1 ? '' : 's'}); nothing was run, no host was contacted:\n  ${shown.join('\n  ')}` +
      `${errors.length > shown.length ? `\n  … and ${errors.length - shown.length} more` : ''}\nfix them (\`npx tsc --noEmit\` shows the same), or pass --no-typecheck to run anyway`,
  );
}

async function loadPlaybook(path: string): Promise<Playbook<unknown>> {
  if (!existsSync(path)) throw new UsageError(`playbook ${path} does not exist`);
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // book.play and book.playbook check the plays as the file is imported (play-options.ts).
    if (error instanceof Error && error.name === 'PlaybookError') {
      const location = codeLocation(error.stack);
      throw new UsageError(`the playbook ${path} is not valid${location ? ` (at ${location})` : ''}: ${message}; nothing was run`);
    }
    throw new UsageError(`cannot load the playbook ${path}: ${message}${commonJsHint(path)}`);
  }
  if (!isPlaybook(loaded.default)) {
    throw new UsageError(
      `${path} does not default-export a playbook: end it with \`export default book.playbook([...plays])\` (see README, "Writing a playbook")`,
    );
  }
  if (loaded.default.runtime !== RUNTIME) {
    // Two copies of the runner would not recognise each other's Secrets and errors. The causes: CommonJS
    // compilation (a copy of its own), or a playbook importing another installation of drover.
    if (commonJsHint(path) !== '') {
      throw new UsageError(
        `${path} was loaded as CommonJS with its own copy of drover's runner: keep playbooks in a folder whose package.json says "type": "module", or name the file .mts`,
      );
    }
    throw new UsageError(
      `${path} imports another installation of drover than the one running it (${fileURLToPath(new URL('../..', import.meta.url))}): run the drover installed beside the playbook (\`npx drover\` in its project)`,
    );
  }
  // A playbook object not made by book.playbook (built by hand) gets the same check.
  try {
    checkPlays(loaded.default.plays);
  } catch (error) {
    if (error instanceof PlaybookError) throw new UsageError(`the playbook ${path} is not valid: ${error.message}; nothing was run`);
    throw error;
  }
  return loaded.default;
}

/**
 * A .ts playbook in a package without `"type": "module"` is compiled as CommonJS, and Node then fails on
 * its `import … from 'drover'` with an error about require() and cycles that names neither cause nor fix.
 */
function commonJsHint(path: string): string {
  if (!path.endsWith('.ts')) return '';
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      let type: unknown;
      try {
        type = (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type;
      } catch {
        return '';
      }
      return type === 'module' ? '' : `\n(playbooks are ES modules: add "type": "module" to ${manifest}, or name the file .mts)`;
    }
    if (dirname(dir) === dir) {
      return `\n(playbooks are ES modules, and no package.json above ${path} says so: create one beside it holding {"type": "module"}, or name the file .mts)`;
    }
  }
}

/**
 * A play's hosts before the run: a pattern that selects nothing here is the runner's warning when its play
 * comes; one that cannot be read (`~dead(`, `web:&`) stops the run now, naming the play.
 */
function selectForPlay(targets: Targets, play: string, pattern: string): HostTarget[] {
  try {
    return targets.select(pattern, { allowEmpty: true, ignoreShard: true });
  } catch (error) {
    if (error instanceof HostPatternError) throw new UsageError(`play "${play}": ${error.message} Nothing was run.`);
    throw error;
  }
}

function uniqueTargets<T extends { name: string }>(targets: T[]): T[] {
  const seen = new Map<string, T>();
  for (const target of targets) if (!seen.has(target.name)) seen.set(target.name, target);
  return [...seen.values()];
}
