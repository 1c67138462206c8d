/**
 * yum: RPM packages installed (at a pinned version, if the spec gives one), at the newest version the
 * repositories offer, or removed, driven through dnf where the host has it and yum otherwise.
 *
 * One probe reads the rpm database for the asked specs and, only when something is missing or `latest`
 * is asked, the versions the repositories offer (with the same repository options the install will
 * use, so `exclude=kube*` in a .repo file hides kubelet here too unless `disableExcludes` lifts it).
 * Everything to install, upgrade or downgrade goes into ONE `dnf install` transaction, each package
 * pinned to the exact version the plan reports; each package that changes is reported with its version
 * before and after. A spec that no repository offers is an error naming it, found while planning.
 *
 * @example
 *   await t.yum('base packages', { name: ['ipvsadm', 'ipset', 'conntrack-tools', 'socat', 'curl'] });
 *   await t.yum('kubernetes packages', {
 *     name: ['kubelet-1.29.3', 'kubeadm-1.29.3', 'kubectl-1.29.3'],
 *     disableExcludes: 'kubernetes',
 *   });
 */
import { sh, type Command } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, type Change, type HostContext, type Plan } from '../runner/module.ts';
import { tail } from '../runner/result.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { parseRpmProbe, rpmProbeScript, specMatches, YUM_REPOS_DIR, type RpmPackage, type RpmState } from './facts/rpm-state.ts';
import { compareEvr, formatEvr } from './facts/rpm-version.ts';
import { notePredictedPackages, packageTransactionEffects } from './lib/package-effects.ts';
import { rpmTransactionEffects } from './lib/rpm-effects.ts';
import { parseRehearsedRpmTransaction, rehearseRpmTransactionScript } from './facts/rpm-transaction.ts';

/** `name`, `name-version`, `name-version-release`, with `epoch:` and `.arch` where wanted; no globs. */
const RPM_SPEC = /^[A-Za-z0-9_][A-Za-z0-9_.+~^-]*(?:-\d+:[A-Za-z0-9_.+~^-]+)?$/;
/** A repository id as in a .repo section name; `*` and `?` globs as dnf accepts for --enablerepo. */
const REPO_ID = /^[A-Za-z0-9_.:*?-]+$/;

const params = s
  .object({
    /**
     * The packages: `curl`, or with a pinned version `kubelet-1.29.3` (any release) or
     * `kubelet-1.29.3-150500.1.1`; `name.arch` and `name-epoch:version-release` work too.
     */
    name: s.array(s.string({ pattern: RPM_SPEC, what: 'an RPM package name, optionally with -VERSION[-RELEASE] (curl, kubelet-1.29.3)' }), { nonEmpty: true }),
    /** `present`: installed (at the version the spec pins, if any); `latest`: at the newest offered version; `absent`: removed. */
    state: s.enum(['present', 'absent', 'latest']).default('present'),
    /** Ignore `exclude=` settings: `all`, `main` (dnf.conf/yum.conf), or a repository id (`kubernetes`). */
    disableExcludes: s.string({ pattern: /^[A-Za-z0-9_.:-]+$/, what: 'all, main or a repository id' }).optional(),
    /** Repositories to enable for this task only (ids, `*` globs allowed). */
    enableRepo: s.array(s.string({ pattern: REPO_ID, what: 'a repository id' })).default([]),
    /** Repositories to disable for this task only (ids, `*` globs allowed); applied before `enableRepo`. */
    disableRepo: s.array(s.string({ pattern: REPO_ID, what: 'a repository id' })).default([]),
    /** Allow installing a version older than the installed one (a pin pointing back). */
    allowDowngrade: s.boolean().default(false),
    /** Which tool to drive: `auto` (dnf if the host has it, else yum), `dnf` or `yum`. */
    useBackend: s.enum(['auto', 'dnf', 'yum']).default('auto'),
  })
  .rule((p) => {
    const twice = p.name.find((spec, index) => p.name.indexOf(spec) !== index);
    return twice ? `package ${twice} is named twice` : undefined;
  });

export type YumParams = InputOf<typeof params>;
type Options = OutputOf<typeof params>;

type Decision =
  | { kind: 'keep' }
  | { kind: 'install'; spec: string; target: RpmPackage; before: RpmPackage | null; downgrade: boolean }
  | { kind: 'remove'; spec: string; packages: RpmPackage[] };

const INSTALL_TIMEOUT_MS = 30 * 60_000;

/** The repository options, in the order dnf applies them. */
export function repoFlags(p: Pick<Options, 'disableExcludes' | 'enableRepo' | 'disableRepo'>): string[] {
  return [
    ...(p.disableExcludes ? [`--disableexcludes=${p.disableExcludes}`] : []),
    ...p.disableRepo.map((repo) => `--disablerepo=${repo}`),
    ...p.enableRepo.map((repo) => `--enablerepo=${repo}`),
  ];
}

/** How a package version is shown: `1.1-1`, or `1:2.0-3` with an epoch. */
function show(row: RpmPackage): string {
  return formatEvr(row);
}

/** The newest of some packages, by epoch, version, release. */
function newest(rows: RpmPackage[]): RpmPackage | undefined {
  return [...rows].sort(compareEvr).at(-1);
}

/** Turns the probe's findings into a plan; pure, exported for table tests. */
export function planYum(p: Options, state: RpmState): Plan {
  if (!state.tool) {
    const which = p.useBackend === 'auto' ? 'dnf or yum' : p.useBackend;
    throw new ModuleError(
      `yum: this host has no ${which} (with rpm)`,
      'use the apt module on Debian-family hosts, or the package module to pick the right one',
    );
  }
  if (state.noRepoquery) {
    throw new ModuleError(
      'yum: the host has yum without repoquery, so the versions its repositories offer cannot be read',
      'install yum-utils (it provides repoquery), or use dnf',
    );
  }
  const problems: string[] = [];
  const decisions = p.name.map((spec) => decide(spec, p, state, problems));
  if (problems.length > 0) {
    throw new ModuleError(
      `yum: ${problems.join('; ')}`,
      problems.some((problem) => problem.includes('no repository'))
        ? `check the name and version (\`${state.tool} list --showduplicates NAME\` on the host), the repository (yumRepository), and its excludes (disableExcludes)`
        : undefined,
    );
  }

  const installs = decisions.filter((decision): decision is Extract<Decision, { kind: 'install' }> => decision.kind === 'install');
  const removals = decisions.filter((decision): decision is Extract<Decision, { kind: 'remove' }> => decision.kind === 'remove');
  if (state.tool === 'yum' && installs.some((decision) => decision.downgrade)) {
    throw new ModuleError('yum: a downgrade cannot be done in an install transaction by yum (EL7)', 'run `yum downgrade` by hand, or use a host with dnf');
  }

  const changes: Change[] = [];
  // Two specs may resolve to the same package (curl and curl-7.76.1): it is installed and reported once.
  const seen = new Set<string>();
  const unique = installs.filter((decision) => !seen.has(decision.target.name) && seen.add(decision.target.name));
  if (unique.length > 0) {
    const command = installCommand(state.tool, p, unique);
    changes.push(
      ...unique.map((decision, index) => ({
        summary: installSummary(decision),
        diff: {
          kind: 'value' as const,
          name: `package ${decision.target.name}`,
          before: decision.before ? show(decision.before) : null,
          after: show(decision.target),
        },
        // One transaction for every package; the per-package changes carry the diffs.
        commands: index === 0 ? [command] : [],
        effects:
          index === 0
            ? packageTransactionEffects(
                unique.map((decision) => decision.target.name),
                [],
              )
            : [],
      })),
    );
  }
  if (removals.length > 0) {
    const packages = [...new Map(removals.flatMap((decision) => decision.packages).map((row) => [`${row.name}.${row.arch}`, row])).values()];
    const command: Command = {
      run: sh`${state.tool} remove -y ${removals.map((decision) => decision.spec)}`,
      timeoutMs: INSTALL_TIMEOUT_MS,
      description: `${state.tool} remove ${removals.map((decision) => decision.spec).join(' ')}`,
    };
    changes.push(
      ...packages.map((row, index) => ({
        summary: `remove ${row.name} ${show(row)}`,
        diff: { kind: 'value' as const, name: `package ${row.name}`, before: show(row), after: null },
        commands: index === 0 ? [command] : [],
        effects:
          index === 0
            ? packageTransactionEffects(
                [],
                packages.map((row) => row.name),
              )
            : [],
      })),
    );
  }
  if (changes.length > 0) return { changes };
  const count = p.name.length;
  const what = p.state === 'absent' ? 'absent' : p.state === 'latest' ? 'at the newest version offered' : 'installed as asked';
  return { changes, reason: `${count === 1 ? 'the package is' : `all ${count} packages are`} ${what}` };
}

function decide(spec: string, p: Options, state: RpmState, problems: string[]): Decision {
  const installedMatches = state.installed.filter((row) => specMatches(spec, row));
  if (p.state === 'absent') return installedMatches.length > 0 ? { kind: 'remove', spec, packages: installedMatches } : { kind: 'keep' };
  if (p.state === 'present' && installedMatches.length > 0) return { kind: 'keep' };

  // rpm -q found every spec installed, so the repositories were not asked; rpm is the authority here.
  if (p.state === 'present' && state.available === null) return { kind: 'keep' };
  const offered = (state.available ?? []).filter((row) => specMatches(spec, row));
  const best = newest(offered);
  if (!best) {
    if (installedMatches.length > 0) return { kind: 'keep' };
    problems.push(`no repository offers ${spec}${p.disableExcludes ? '' : ' (or it is excluded)'}`);
    return { kind: 'keep' };
  }
  // The version installed now under the same name, whatever version the spec pinned.
  const current = newest(state.installed.filter((row) => row.name === best.name));
  if (p.state === 'latest' && current && compareEvr(current, best) >= 0) return { kind: 'keep' };
  const downgrade = current !== undefined && compareEvr(best, current) < 0;
  if (downgrade && !p.allowDowngrade) {
    problems.push(`${best.name} ${show(best)} is older than the installed ${show(current)} (set allowDowngrade: true to go back)`);
  }
  return { kind: 'install', spec, target: best, before: current ?? null, downgrade };
}

/** What the install command is given: each package pinned to the exact version the plan reports. */
function pinned(decisions: Array<Extract<Decision, { kind: 'install' }>>): string[] {
  return decisions.map(({ target }) => `${target.name}-${target.epoch ? `${target.epoch}:` : ''}${target.version}-${target.release}`);
}

/** The install's targets for a plan already made from `state` (the rehearsal passes the same). */
function installTargets(p: Options, state: RpmState): string[] {
  const problems: string[] = [];
  const installs = p.name
    .map((spec) => decide(spec, p, state, problems))
    .filter((decision): decision is Extract<Decision, { kind: 'install' }> => decision.kind === 'install');
  const seen = new Set<string>();
  return pinned(installs.filter((decision) => !seen.has(decision.target.name) && seen.add(decision.target.name)));
}

function installCommand(tool: 'dnf' | 'yum', p: Options, decisions: Array<Extract<Decision, { kind: 'install' }>>): Command {
  // Pinned to the exact version the plan reports: what dnf installs is what the diff said.
  // dnf installs an exact version whatever is installed (upgrading or downgrading in the transaction).
  const targets = pinned(decisions);
  const flags = repoFlags(p);
  return {
    run: sh`${[tool, 'install', '-y', ...flags, ...targets]}`,
    timeoutMs: INSTALL_TIMEOUT_MS,
    description: `${tool} install ${targets.join(' ')}`,
  };
}

function installSummary(decision: Extract<Decision, { kind: 'install' }>): string {
  const { target, before, downgrade } = decision;
  if (!before) return `install ${target.name} ${show(target)}`;
  return `${downgrade ? 'downgrade' : 'upgrade'} ${target.name} ${show(before)} → ${show(target)}`;
}

/**
 * In a dry run, /etc/yum.repos.d as the earlier tasks would leave it (a repository added): the files to
 * lay over a private copy of it, and the task that last changed it; undefined when nothing there is
 * predicted (always in a real run), `unknown` when a change there cannot be known (noted by the lookup).
 */
function reposOverlay(host: HostContext): { files: Map<string, Buffer | null>; by: string } | undefined | 'unknown' {
  const { paths, unknownBy } = host.predicted.pathsUnder(YUM_REPOS_DIR);
  if (unknownBy !== undefined) return 'unknown';
  if (paths.size === 0) return undefined;
  const files = new Map<string, Buffer | null>();
  let by = '';
  for (const [path, { known, by: task }] of paths) {
    by = task;
    if (known.kind === 'absent') files.set(path, null);
    else if (known.kind === 'file' && known.content !== undefined) files.set(path, known.content);
    else if (known.kind !== 'directory') {
      host.predicted.dependsOn(task, `the repository file ${path}`);
      return 'unknown';
    }
  }
  return { files, by };
}

export const yum = defineModule({
  name: 'yum',
  summary: 'Install, upgrade and remove RPM packages with dnf or yum, in one transaction',
  params,
  async plan(p, host) {
    notePredictedPackages(p.name, host.predicted);
    const probe = async (reposOverlay?: ReadonlyMap<string, Buffer | null>): Promise<RpmState> => {
      const script = rpmProbeScript({
        specs: p.name,
        backend: p.useBackend,
        alwaysQueryRepos: p.state === 'latest',
        neverQueryRepos: p.state === 'absent',
        repoFlags: repoFlags(p),
        ...(reposOverlay && { reposOverlay }),
      });
      const output = await host.probe(script, { timeoutMs: 10 * 60_000 });
      if (output.exitCode !== 0) {
        throw new ModuleError(
          `yum: reading the rpm database and repositories failed (exit ${output.exitCode}): ${tail(output.stderr, 8)}`,
          'check that the repositories are reachable (`dnf repolist` on the host)',
        );
      }
      return parseRpmProbe(output.stdout);
    };
    const overlay = reposOverlay(host);
    if (overlay === 'unknown') return planYum(p, await probe());
    const state = await probe(overlay?.files);
    if (state.overlayUnsupported) {
      // yum (EL7) reads only the host's repositories: what a repository added earlier in the dry run offers is unknown.
      host.predicted.dependsOn(overlay!.by, 'the repositories in /etc/yum.repos.d');
      return planYum(p, await probe());
    }
    const plan = planYum(p, state);
    // Only a dry run records what the transaction brings: a real run installs, and its probes see it.
    const install = plan.changes.find((change) => change.commands.some((command) => command.description?.startsWith('dnf install')));
    if (install && host.predicted.recording && state.tool === 'dnf') {
      const targets = installTargets(p, state);
      const output = await host.probe(rehearseRpmTransactionScript({ targets, repoFlags: repoFlags(p), ...(overlay && { reposOverlay: overlay.files }) }), {
        effectsOnly: true,
        timeoutMs: 10 * 60_000,
      });
      const effects = output.exitCode === 0 ? rpmTransactionEffects(parseRehearsedRpmTransaction(output.stdout)) : null;
      if (effects) install.effects = effects;
    }
    return plan;
  },
});
