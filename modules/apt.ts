/**
 * apt: Debian and Ubuntu packages installed (at a version, if one is given), at the newest candidate, or
 * removed; holds (`apt-mark hold`) so an unattended upgrade never moves a pinned kubelet; and a refresh
 * of the package lists when they are older than a window.
 *
 * One probe reads dpkg's status of every named package and, only when a decision needs it, apt's
 * candidates. Everything missing is installed in ONE `apt-get install` transaction (non-interactive,
 * keeping changed configuration files), and each package that changes is reported with its version
 * before and after. A package that no repository offers is an error naming it, found while planning, so
 * a dry run finds it too.
 *
 * @example
 *   await t.apt('base packages', { name: ['ipvsadm', 'ipset', 'conntrack', 'socat', 'curl'], cacheValidTime: 3600 });
 *   await t.apt('kubernetes packages', { name: ['kubelet=1.29.3-*', 'kubeadm=1.29.3-*', 'kubectl=1.29.3-*'], hold: true });
 */
import { sh, type Command, type Script } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, type Change, type Diff, type HostContext, type Plan } from '../runner/module.ts';
import type { Effect, PredictedPath } from '../runner/predicted-state.ts';
import { tail } from '../runner/result.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { aptProbeScript, downloadableVersions, parseAptProbe, UPDATE_STAMP, type AptState, type PolicyNeed } from './facts/apt-state.ts';
import { compareDebianVersions } from './facts/debian-version.ts';
import { notePredictedPackages, packageTransactionEffects } from './lib/package-effects.ts';
import { debTransactionEffects } from './lib/deb-effects.ts';
import {
  APT_ETC,
  type AptEtcOverlay,
  parseRehearsedPolicy,
  parseRehearsedTransaction,
  rehearsedPolicyScript,
  rehearseTransactionScript,
} from './facts/apt-transaction.ts';
import type { AptPolicy } from './facts/apt-state.ts';

/** `name` or `name=version`; Debian names are lower case (policy 5.6.1), versions may end in a `*` glob. */
const APT_SPEC = /^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+\*?)?$/;

const params = s
  .object({
    /**
     * The packages: `curl`, or `kubelet=1.29.3-1.1` for an exact version, or `kubelet=1.29.3-*` for the
     * highest available version starting with `1.29.3-`. May be empty when only refreshing the lists.
     */
    name: s
      .array(s.string({ pattern: APT_SPEC, what: 'a Debian package name, optionally with =VERSION (curl, kubelet=1.29.3-1.1, kubelet=1.29.3-*)' }))
      .default([]),
    /** `present`: installed (at the version given, if any); `latest`: at apt's candidate version; `absent`: removed. */
    state: s.enum(['present', 'absent', 'latest']).default('present'),
    /** Run `apt-get update` first: every run, unless `cacheValidTime` says the lists are fresh enough. */
    updateCache: s.boolean().default(false),
    /**
     * Seconds: refresh the lists only when they are older than this (judged from the mtime of
     * /var/lib/apt/periodic/update-success-stamp or /var/lib/apt/lists). Implies `updateCache`.
     */
    cacheValidTime: s.int({ min: 0 }).optional(),
    /**
     * `true`: hold the packages (`apt-mark hold`, after installing them) so upgrades leave them alone;
     * `false`: release their holds; unset: leave holds as they are, and a held package that would have
     * to change is an error.
     */
    hold: s.boolean().optional(),
    /** With `state: absent`: remove configuration files too (dpkg's purge). */
    purge: s.boolean().default(false),
    /** Install recommended packages too; unset: the host's apt configuration decides (Debian's default: yes). */
    installRecommends: s.boolean().optional(),
    /** Allow installing a version older than the installed one (an exact version pin pointing back). */
    allowDowngrade: s.boolean().default(false),
  })
  .rule((p) =>
    p.name.length === 0 && !p.updateCache && p.cacheValidTime === undefined ? 'give the packages (name), or updateCache to refresh the lists' : undefined,
  )
  .rule((p) =>
    p.state !== 'present' && p.name.some((spec) => spec.includes('=')) ? `a version (name=VERSION) goes with state present only, not ${p.state}` : undefined,
  )
  .rule((p) => (p.hold === true && p.state === 'absent' ? 'hold: true cannot go with state absent' : undefined))
  .rule((p) => (p.purge && p.state !== 'absent' ? 'purge goes with state absent only' : undefined))
  .rule((p) => {
    const names = p.name.map((spec) => splitAptSpec(spec).name);
    const twice = names.find((name, index) => names.indexOf(name) !== index);
    return twice ? `package ${twice} is named twice` : undefined;
  });

export type AptParams = InputOf<typeof params>;
type Options = OutputOf<typeof params>;

/** A package as asked: its name and, if given, a version or a version glob. */
export interface AptSpec {
  name: string;
  version?: string;
}

export function splitAptSpec(spec: string): AptSpec {
  const equals = spec.indexOf('=');
  return equals < 0 ? { name: spec } : { name: spec.slice(0, equals), version: spec.slice(equals + 1) };
}

/** What one package needs. `after` is null when the version is only known after the pending list refresh. */
type Decision =
  | { kind: 'keep' }
  | { kind: 'install'; name: string; target: string; before: string | null; after: string | null; held: boolean; downgrade: boolean }
  /** `latest` while a list refresh is pending: upgraded if the refreshed lists offer something newer. */
  | { kind: 'maybe-upgrade'; name: string; target: string; held: boolean }
  | { kind: 'remove'; name: string; before: string; held: boolean };

const DPKG_OPTIONS = ['-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];
/** Wait for another apt (an unattended upgrade) instead of failing at once on the dpkg lock. */
const LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=300'];
const NONINTERACTIVE = { DEBIAN_FRONTEND: 'noninteractive', APT_LISTCHANGES_FRONTEND: 'none' };
const INSTALL_TIMEOUT_MS = 30 * 60_000;

/** A stamp of the lists directory: names, sizes and mtimes, to tell whether `apt-get update` changed anything. */
const LISTS_STAMP = sh`find /var/lib/apt/lists -maxdepth 1 -type f -printf '%f %s %T@\\n' 2>/dev/null | sort | cksum`;

/** Versions of the named packages as dpkg has them, to tell whether an install changed anything. */
function versionsStamp(names: string[]): Script {
  return sh`dpkg-query -W -f='\${Package} \${db:Status-Status} \${Version}\\n' ${names} 2>/dev/null | sort | cksum || true`;
}

export const LISTS_CHANGED = 'drover: apt package lists changed';
export const PACKAGES_CHANGED = 'drover: apt packages changed';

/** The refresh to do, or null when none is asked or the lists are fresh enough. */
function refreshReason(p: Options, state: AptState): string | null {
  if (!p.updateCache && p.cacheValidTime === undefined) return null;
  if (p.cacheValidTime === undefined) return 'updateCache is set';
  if (state.listsUpdatedAt === null) return 'the lists were never updated';
  const age = state.now - state.listsUpdatedAt;
  return age >= p.cacheValidTime ? `older than cacheValidTime ${p.cacheValidTime} s` : null;
}

/** The install transaction of a plan: what `apt-get install` is given, and the change that carries it. */
export interface AptTransaction {
  targets: string[];
  flags: string[];
  /** A list refresh runs before it. */
  afterRefresh: boolean;
  change: Change;
}

/**
 * Turns the probe's findings into a plan; pure, exported for table tests. `afterRefresh` is apt's policy
 * for the named packages as the pending list refresh will leave it (rehearsed on the host): with it, the
 * plan names exact versions even though the refresh has not run yet.
 */
export function planApt(p: Options, state: AptState, afterRefresh?: Map<string, AptPolicy>): Plan & { transaction?: AptTransaction } {
  if (!state.hasApt) {
    throw new ModuleError(
      'apt: this host has no apt-get and dpkg-query',
      'use the yum module on RHEL-family hosts, or the package module to pick the right one',
    );
  }
  const refresh = refreshReason(p, state);
  // A refresh whose outcome was rehearsed leaves nothing unknown about the candidates.
  const rehearsed = refresh !== null && afterRefresh !== undefined;
  const pending = refresh !== null && !rehearsed;
  const problems: string[] = [];
  const known = rehearsed ? { ...state, policy: afterRefresh } : state;
  const decisions = p.name.map((spec) => decide(splitAptSpec(spec), p, known, pending, problems));
  if (problems.length > 0) {
    throw new ModuleError(
      `apt: ${problems.join('; ')}`,
      problems.some((problem) => problem.includes('no repository'))
        ? 'check the name and version (apt-cache policy NAME on the host), add the repository that has it (aptRepository), or refresh the lists (updateCache)'
        : undefined,
    );
  }

  const changes: Change[] = [];
  let transaction: AptTransaction | undefined;
  if (refresh) changes.push(refreshChange(refresh));

  const blocked = decisions.flatMap((decision) => (decision.kind !== 'keep' && decision.held ? [decision.name] : []));
  if (p.hold === undefined && blocked.length > 0) {
    throw new ModuleError(
      `apt: ${blocked.join(', ')} ${blocked.length === 1 ? 'is' : 'are'} held (apt-mark hold) and would have to change`,
      'set hold: true to change them and keep them held, or hold: false to release the hold',
    );
  }

  // Releasing holds comes first, so the transaction may change those packages.
  if (p.hold === false) {
    const toRelease = p.name.map((spec) => splitAptSpec(spec).name).filter((name) => state.dpkg.get(name)?.want === 'hold');
    changes.push(...holdChanges(toRelease, false));
  }

  const installs = decisions.filter((decision): decision is Extract<Decision, { kind: 'install' }> => decision.kind === 'install');
  const maybe = decisions.filter((decision): decision is Extract<Decision, { kind: 'maybe-upgrade' }> => decision.kind === 'maybe-upgrade');
  const removals = decisions.filter((decision): decision is Extract<Decision, { kind: 'remove' }> => decision.kind === 'remove');

  if (installs.length > 0 || maybe.length > 0) {
    const command = installCommand(p, [...installs, ...maybe], pending);
    // One transaction for every package; the per-package changes that follow carry the diffs.
    const packageChanges: Change[] = installs.map((decision) => ({
      summary: installSummary(decision),
      diff: packageDiff(decision.name, decision.before, decision.after ?? 'the candidate after the list refresh'),
      commands: [],
    }));
    if (maybe.length > 0) {
      packageChanges.push({
        summary: `upgrade ${maybe.map((decision) => decision.name).join(', ')} if the refreshed lists offer newer versions`,
        commands: [],
      });
    }
    packageChanges[0]!.commands.push(command);
    for (const change of packageChanges) change.effects = [];
    packageChanges[0]!.effects = packageTransactionEffects(
      [...installs, ...maybe].map((decision) => decision.name),
      [],
    );
    changes.push(...packageChanges);
    if (maybe.length === 0) {
      const targets = installs.map((decision) => decision.target);
      transaction = { targets, flags: installFlags(p, installs), afterRefresh: refresh !== null, change: packageChanges[0]! };
    }
  }

  if (removals.length > 0) {
    const command = removeCommand(p, removals);
    changes.push(
      ...removals.map((decision, index) => ({
        summary: `${p.purge ? 'purge' : 'remove'} ${decision.name} ${decision.before}`,
        diff: packageDiff(decision.name, decision.before, null),
        commands: index === 0 ? [command] : [],
        effects:
          index === 0
            ? packageTransactionEffects(
                [],
                removals.map((item) => item.name),
              )
            : [],
      })),
    );
  }

  if (p.hold === true) {
    const toHold = p.name.map((spec) => splitAptSpec(spec).name).filter((name) => state.dpkg.get(name)?.want !== 'hold');
    // Installing a held package (allowed above) resets its selection to "install": hold it again.
    const rehold = [...installs, ...maybe].filter((decision) => decision.held).map((decision) => decision.name);
    changes.push(...holdChanges(toHold, true, rehold));
  }

  if (changes.length === 0) return { changes, reason: keepReason(p, decisions.length) };
  const definite = changes.length > (refresh ? 1 : 0) + (maybe.length > 0 ? 1 : 0);
  const exact = definite && maybe.length === 0 && installs.every((decision) => decision.after !== null);
  if (!refresh || exact) return { changes, ...(transaction && { transaction }) };
  // A pending refresh makes the outcome unknowable in advance: whether the lists change, and what the
  // refreshed candidates are. The commands report what they did and `interpret` decides `changed`.
  return {
    changes,
    uncertain: true,
    interpret: (outcomes) => ({
      changed: definite || outcomes.some((outcome) => outcome.stdout.includes(LISTS_CHANGED) || outcome.stdout.includes(PACKAGES_CHANGED)),
    }),
  };
}

function decide(spec: AptSpec, p: Options, state: AptState, pending: boolean, problems: string[]): Decision {
  const entry = state.dpkg.get(spec.name);
  const installed = entry?.status === 'installed' ? entry.version : null;
  const held = entry?.want === 'hold';
  if (p.state === 'absent') {
    // Anything dpkg still records (half-installed, or configuration files when purging) is removed.
    const present = entry && entry.status !== 'not-installed' && (entry.status !== 'config-files' || p.purge);
    return present
      ? { kind: 'remove', name: spec.name, before: entry.status === 'installed' ? entry.version : `${entry.version} (${entry.status})`, held }
      : { kind: 'keep' };
  }

  const policy = state.policy?.get(spec.name);
  const unknown = (what: string): Decision => {
    if (!pending) problems.push(what);
    return {
      kind: 'install',
      name: spec.name,
      target: spec.version ? `${spec.name}=${spec.version}` : spec.name,
      before: installed,
      after: null,
      held,
      downgrade: false,
    };
  };

  if (spec.version === undefined && p.state === 'present') {
    if (installed !== null) return { kind: 'keep' };
    if (!policy) return unknown(`no repository offers a package named ${spec.name}`);
    if (!policy.candidate) return unknown(`${spec.name} has no installation candidate (a virtual package? name the package that provides it)`);
    return pending
      ? { kind: 'install', name: spec.name, target: spec.name, before: null, after: null, held, downgrade: false }
      : { kind: 'install', name: spec.name, target: `${spec.name}=${policy.candidate}`, before: null, after: policy.candidate, held, downgrade: false };
  }

  if (p.state === 'latest') {
    if (!policy)
      return installed !== null && pending
        ? { kind: 'maybe-upgrade', name: spec.name, target: spec.name, held }
        : unknown(`no repository offers a package named ${spec.name}`);
    if (pending) {
      return installed === null
        ? { kind: 'install', name: spec.name, target: spec.name, before: null, after: null, held, downgrade: false }
        : { kind: 'maybe-upgrade', name: spec.name, target: spec.name, held };
    }
    if (!policy.candidate) {
      if (installed !== null) return { kind: 'keep' };
      return unknown(`${spec.name} has no installation candidate (a virtual package? name the package that provides it)`);
    }
    if (installed !== null && compareDebianVersions(installed, policy.candidate) >= 0) return { kind: 'keep' };
    return { kind: 'install', name: spec.name, target: `${spec.name}=${policy.candidate}`, before: installed, after: policy.candidate, held, downgrade: false };
  }

  // An exact version or a glob.
  const version = spec.version!;
  const glob = version.endsWith('*');
  const matches = (candidate: string): boolean => (glob ? candidate.startsWith(version.slice(0, -1)) : candidate === version);
  if (installed !== null && matches(installed)) return { kind: 'keep' };
  const offered = policy ? downloadableVersions(policy).filter(matches).sort(compareDebianVersions) : [];
  const chosen = offered.at(-1);
  if (!chosen) {
    const available = policy ? downloadableVersions(policy) : [];
    return unknown(
      policy
        ? `no repository offers ${spec.name} version ${version} (available: ${available.length > 0 ? available.join(', ') : 'none'})`
        : `no repository offers a package named ${spec.name}`,
    );
  }
  const downgrade = installed !== null && compareDebianVersions(chosen, installed) < 0;
  if (downgrade && !p.allowDowngrade) {
    problems.push(`${spec.name} ${chosen} is older than the installed ${installed} (set allowDowngrade: true to go back)`);
  }
  return { kind: 'install', name: spec.name, target: `${spec.name}=${chosen}`, before: installed, after: chosen, held, downgrade };
}

function refreshChange(reason: string): Change {
  return {
    summary: `refresh the apt package lists (${reason})`,
    diff: { kind: 'value', name: 'apt package lists', before: 'as they were', after: 'refreshed' },
    // Only candidates change, which this module's own probe reads again in a real run.
    effects: [],
    commands: [
      {
        run: sh`before=$(${LISTS_STAMP})
apt-get update -q -o DPkg::Lock::Timeout=300
# What apt's periodic job does, so cacheValidTime can trust the stamp's mtime.
mkdir -p /var/lib/apt/periodic && touch ${UPDATE_STAMP}
if [ "$before" != "$(${LISTS_STAMP})" ]; then echo ${LISTS_CHANGED}; fi`,
        env: NONINTERACTIVE,
        timeoutMs: INSTALL_TIMEOUT_MS,
        description: 'apt-get update',
      },
    ],
  };
}

/** The flags that decide what an install pulls in and allows (the rehearsal passes the same). */
function installFlags(p: Options, decisions: Array<{ held: boolean; downgrade?: boolean }>): string[] {
  const flags: string[] = [];
  if (p.installRecommends === true) flags.push('--install-recommends');
  if (p.installRecommends === false) flags.push('--no-install-recommends');
  if (p.allowDowngrade && decisions.some((decision) => decision.downgrade)) flags.push('--allow-downgrades');
  if (p.hold === true && decisions.some((decision) => decision.held)) flags.push('--allow-change-held-packages');
  return flags;
}

function installCommand(p: Options, decisions: Array<{ name: string; target: string; held: boolean; downgrade?: boolean }>, pending: boolean): Command {
  const flags = ['-y', '-q', ...DPKG_OPTIONS, ...LOCK_WAIT, ...installFlags(p, decisions)];
  const targets = decisions.map((decision) => decision.target);
  const names = decisions.map((decision) => decision.name);
  const run = pending
    ? sh`before=$(${versionsStamp(names)})
apt-get install ${flags} ${targets}
if [ "$before" != "$(${versionsStamp(names)})" ]; then echo ${PACKAGES_CHANGED}; fi`
    : sh`apt-get install ${flags} ${targets}`;
  return { run, env: NONINTERACTIVE, timeoutMs: INSTALL_TIMEOUT_MS, description: `apt-get install ${targets.join(' ')}` };
}

function removeCommand(p: Options, decisions: Array<{ name: string }>): Command {
  const flags = ['-y', '-q', ...DPKG_OPTIONS, ...LOCK_WAIT];
  if (p.purge) flags.push('--purge');
  const names = decisions.map((decision) => decision.name);
  return { run: sh`apt-get remove ${flags} ${names}`, env: NONINTERACTIVE, timeoutMs: INSTALL_TIMEOUT_MS, description: `apt-get remove ${names.join(' ')}` };
}

function holdChanges(names: string[], hold: boolean, again: string[] = []): Change[] {
  const all = [...names, ...again];
  if (all.length === 0) return [];
  const verb = hold ? 'hold' : 'unhold';
  const command = { run: sh`apt-mark ${verb} ${all}`, description: `apt-mark ${verb} ${all.join(' ')}` };
  const changes: Change[] = names.map((name) => ({
    summary: `${hold ? 'hold' : 'release the hold on'} ${name}`,
    diff: { kind: 'value', name: `${name} held`, before: hold ? 'no' : 'yes', after: hold ? 'yes' : 'no' },
    commands: [],
    effects: [],
  }));
  if (again.length > 0) changes.push({ summary: `keep ${again.join(', ')} held after the change`, commands: [], effects: [] });
  changes[0]!.commands.push(command);
  return changes;
}

function packageDiff(name: string, before: string | null, after: string | null): Diff {
  return { kind: 'value', name: `package ${name}`, before, after };
}

function installSummary(decision: { name: string; before: string | null; after: string | null; downgrade: boolean }): string {
  const after = decision.after ?? '(candidate after the refresh)';
  if (decision.before === null) return `install ${decision.name} ${after}`;
  return `${decision.downgrade ? 'downgrade' : 'upgrade'} ${decision.name} ${decision.before} → ${after}`;
}

function keepReason(p: Options, count: number): string {
  if (count === 0) return 'the apt package lists are fresh enough';
  const what = p.state === 'absent' ? 'absent' : p.state === 'latest' ? 'at their candidate versions' : 'installed as asked';
  const holds = p.hold === true ? ' and held' : p.hold === false ? ' and not held' : '';
  return `${count === 1 ? 'the package is' : `all ${count} packages are`} ${what}${holds}`;
}

/**
 * The candidates after a pending refresh, rehearsed in a private copy of the lists, when a decision needs
 * candidates: in a dry run and a real run alike, so both plan the same exact versions (a saved plan
 * applies as reviewed). Undefined when no refresh is pending or no candidate is needed.
 */
async function rehearseRefresh(p: Options, state: AptState, need: PolicyNeed, host: HostContext): Promise<Map<string, AptPolicy> | undefined> {
  const names = p.name.map((spec) => splitAptSpec(spec).name);
  if (!state.hasApt || refreshReason(p, state) === null || names.length === 0 || need === 'never') return undefined;
  if (need === 'when-missing' && names.every((name) => state.dpkg.get(name)?.status === 'installed')) return undefined;
  const overlay = aptEtcOverlay(host);
  if (overlay === 'unknown') return undefined;
  const output = await host.probe(rehearsedPolicyScript(names, overlay));
  if (output.exitCode !== 0) {
    throw new ModuleError(
      `apt: rehearsing the package list refresh in a private directory failed (exit ${output.exitCode}): ${tail(output.stderr || output.stdout, 5)}`,
      'check that /var/tmp has room for a copy of /var/lib/apt/lists',
    );
  }
  const rehearsed = parseRehearsedPolicy(output.stdout);
  if (rehearsed.updateFailed !== null) {
    throw new ModuleError(
      `apt: refreshing the package lists fails on this host: ${rehearsed.updateFailed}`,
      'fix the repository it names (run `apt-get update` on the host to see it), or remove it (aptRepository state: absent)',
    );
  }
  return rehearsed.policy;
}

/**
 * /etc/apt as the dry run's earlier tasks would leave it (a repository and its key added), for the
 * rehearsals to read instead of the host's; undefined when nothing there is predicted (and always in a
 * real run), `unknown` when an earlier change there cannot be known (noted as this task's dependency).
 */
function aptEtcOverlay(host: HostContext): AptEtcOverlay | undefined | 'unknown' {
  const { paths, unknownBy } = host.predicted.pathsUnder(APT_ETC);
  if (unknownBy !== undefined) return 'unknown';
  if (paths.size === 0) return undefined;
  const overlay = new Map<string, PredictedPath>();
  for (const [path, { known, by }] of paths) {
    if (known.kind === 'file' && known.content === undefined) {
      host.predicted.dependsOn(by, `the content of ${path}`);
      return 'unknown';
    }
    overlay.set(path, known);
  }
  return overlay;
}

/** What the transaction leaves behind, read from the packages it would install (a dry run only). */
async function rehearseEffects(transaction: AptTransaction, host: HostContext): Promise<Effect[] | undefined> {
  const overlay = aptEtcOverlay(host);
  if (overlay === 'unknown') return undefined;
  const output = await host.probe(rehearseTransactionScript(transaction.targets, transaction.flags, transaction.afterRefresh, overlay), { effectsOnly: true });
  // Where the packages cannot be read, the transaction's files stay unknown (package-effects.ts).
  if (output.exitCode !== 0) return undefined;
  return debTransactionEffects(parseRehearsedTransaction(output.stdout)) ?? undefined;
}

export const apt = defineModule({
  name: 'apt',
  summary: 'Install, upgrade, remove and hold Debian packages; refresh the package lists when stale',
  params,
  async plan(p, host) {
    const specs = p.name.map(splitAptSpec);
    notePredictedPackages(
      specs.map((spec) => spec.name),
      host.predicted,
    );
    const need: PolicyNeed = p.state === 'absent' ? 'never' : p.state === 'latest' || specs.some((spec) => spec.version) ? 'always' : 'when-missing';
    const output = await host.probe(
      aptProbeScript(
        specs.map((spec) => spec.name),
        need,
      ),
      // The clock reading changes every second; a saved plan's fingerprint covers the rest (the lists' age
      // still counts through the plan itself: a refresh due now and not at review changes the commands).
      { fingerprint: (probed) => ({ ...probed, stdout: probed.stdout.replace(/^#now .*$/m, '#now') }) },
    );
    if (output.exitCode !== 0) {
      throw new ModuleError(
        `apt: reading dpkg and apt state failed (exit ${output.exitCode}): ${tail(output.stderr, 5)}`,
        'run `apt-cache policy` on the host to see what apt complains about',
      );
    }
    const state = parseAptProbe(output.stdout);
    const plan = planApt(p, state, await rehearseRefresh(p, state, need, host));
    const transaction = plan.transaction;
    delete plan.transaction;
    // Only a dry run records what the transaction brings: a real run installs, and its probes see it.
    if (transaction && host.predicted.recording) {
      const effects = await rehearseEffects(transaction, host);
      if (effects) transaction.change.effects = effects;
    }
    return plan;
  },
});
