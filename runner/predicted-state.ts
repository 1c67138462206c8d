/**
 * The dry run's memory of its own earlier tasks: what each planned (and, in check mode, not executed)
 * change would have left on the host, carried forward for the later tasks of the same run.
 *
 * A module describes what its change leaves behind as `effects` (runner/module.ts); the runner records
 * them here, per host, in check mode only (a real run executes the change and the probes see it). The
 * typed probes (file state, kernel modules, sysctl values, units, mounts, packages) then answer from the
 * latest prediction that covers what they read, so `file /etc/docker state=directory` followed by `copy
 * /etc/docker/daemon.json` plans "create" instead of failing on a directory that only the real run makes.
 *
 * What cannot be predicted (a command that would run, a package whose files are unknown) is recorded as
 * `unknown` over a domain; a later probe that reads inside it plans from the host as it is, and the task
 * is reported "would run (cannot know: depends on TASK)". Nothing is ever silently assumed unchanged.
 *
 * In a real run nothing is recorded, so every lookup answers `undefined` ("as probed").
 */
import { posix } from 'node:path';

/** What a path would be. Metadata left undefined is not predicted (the probed value, if any, stands). */
export type PredictedPath =
  | { kind: 'file'; sha256: string; size: number; content?: Buffer; mode?: string; owner?: string; group?: string; uid?: number; gid?: number }
  | { kind: 'directory'; mode?: string; owner?: string; group?: string; uid?: number; gid?: number }
  | { kind: 'link'; target: string }
  | { kind: 'absent' };

/** A unit as a later probe would find it; undefined fields are not predicted. */
export interface PredictedUnit {
  loadState?: string;
  activeState?: string;
  enablement?: string;
  needDaemonReload?: boolean;
}

/** A mount as findmnt would report it, or not mounted. */
export interface PredictedMount {
  mounted: boolean;
  source?: string;
  fstype?: string;
  options?: string;
}

/** The kinds of host state a prediction (or an unknown) covers. */
export type Domain = 'files' | 'sysctl' | 'kernel-modules' | 'units' | 'mounts' | 'packages' | 'iptables';
export const ALL_DOMAINS: readonly Domain[] = ['files', 'sysctl', 'kernel-modules', 'units', 'mounts', 'packages', 'iptables'];

/** What one change leaves behind, as its module declares it. */
export type Effect =
  | { kind: 'path'; path: string; state: PredictedPath }
  | { kind: 'sysctl'; path: string; value: string }
  | { kind: 'kernel-module'; name: string; loaded: boolean }
  | { kind: 'unit'; name: string; state: PredictedUnit }
  | { kind: 'mount'; path: string; state: PredictedMount }
  | { kind: 'package'; name: string; installed: boolean }
  /**
   * A whole iptables table as `iptables-save -t TABLE` would print it afterwards (no counters or comment
   * lines), keyed `ipv4/filter`: what the module's rehearsal in a throwaway namespace listed.
   */
  | { kind: 'iptables-table'; key: string; rules: string }
  /**
   * The change may alter anything in these domains in ways drover cannot know; `under` narrows it to a
   * path and what is below it (files, mounts) or to one unit (units).
   */
  | { kind: 'unknown'; domains: readonly Domain[]; under?: string; what: string };

/** A prediction found for what a probe reads, and the task whose planned change made it. */
export interface Known<T> {
  known: T;
  by: string;
}

/** A dependency on an unpredictable earlier task: which task, and what this one read. */
export interface Unknowable {
  by: string;
  what: string;
}

/**
 * The planner's view of the predictions, one per task: every lookup that lands in an unknown is noted,
 * so the runner can report the task as depending on that earlier task.
 */
export interface PredictedView {
  path(path: string): Known<PredictedPath> | undefined;
  sysctl(path: string): Known<string> | undefined;
  kernelModule(name: string): Known<boolean> | undefined;
  unit(name: string): Known<PredictedUnit> | undefined;
  mount(path: string): Known<PredictedMount> | undefined;
  package(name: string): Known<boolean> | undefined;
  /** An iptables table (keyed `ipv4/filter`) as an earlier change would leave it, in iptables-save form. */
  iptablesTable(key: string): Known<string> | undefined;
  /**
   * For state drover does not predict value by value: notes an earlier change that may have altered it,
   * as for any unknown.
   */
  reads(domain: Domain, key: string, what: string): void;
  /** A planner notes that what it read depends on an earlier planned change whose result it cannot know. */
  dependsOn(by: string, what: string): void;
  /**
   * Every path predicted in or below `dir`, newest prediction per path (an `absent` directory takes what
   * was predicted below it along), for a planner that rebuilds a tree as the dry run would leave it; or
   * `unknownBy`, the task whose change there cannot be known (noted as this task's dependency).
   */
  pathsUnder(dir: string): { paths: Map<string, Known<PredictedPath>>; unknownBy?: string };
  /**
   * `path` with each directory on its way that an earlier planned change makes a symbolic link replaced by
   * where that link leads (`/srv/app/current/app.conf` → `/srv/app/releases/v2/app.conf`), so that a task
   * reads and plans what the real run's kernel would reach through the link. The last component is left
   * as it is: whether to follow it is the module's choice. Unchanged when no link is predicted (a real run).
   */
  throughLinks(path: string): string;
  /** The unknowns this task read, in order, each task named once. */
  readonly unknowns: readonly Unknowable[];
  /** Whether a lookup answered from a prediction: the plan was made from predicted, not probed, state. */
  readonly consulted: boolean;
  /**
   * Whether this run records the plan's effects (a dry run). A module may skip work whose only use is
   * describing effects (apt reading the packages a transaction brings) when nothing records them.
   */
  readonly recording: boolean;
}

interface Entry {
  effect: Effect;
  task: string;
}

/** Kernel module names: `-` and `_` are the same character to the kernel. */
const moduleKey = (name: string) => name.replace(/-/g, '_');

function isUnder(path: string, dir: string): boolean {
  return dir === '/' ? path.startsWith('/') : path === dir || path.startsWith(`${dir}/`);
}

/** One host's predictions for the length of a check-mode run. */
export class PredictedState {
  readonly #entries: Entry[] = [];

  /** Records what a planned change would leave behind (check mode only). */
  record(task: string, effects: readonly Effect[]): void {
    for (const effect of effects) this.#entries.push({ effect, task });
  }

  get empty(): boolean {
    return this.#entries.length === 0;
  }

  /** Forgets every prediction: the host changed behind drover's back, and nothing predicted is pending. */
  clear(): void {
    this.#entries.length = 0;
  }

  /**
   * A task changed the host for real while earlier changes were only predicted (checkMode always-run in
   * a dry run, or always-check tasks in a real run): a prediction may now hide what that task really did,
   * so every later read depends on it.
   */
  supersede(task: string): void {
    if (this.#entries.length === 0) return;
    this.#entries.length = 0;
    this.record(task, [{ kind: 'unknown', domains: ALL_DOMAINS, what: `what "${task}" changed for real while earlier changes were only predicted` }]);
  }

  /** A view for one task's planning; `recording` is false for a real run's view. */
  view(recording = true): PredictedView {
    const unknowns: Unknowable[] = [];
    let consulted = false;
    const known = <T>(found: Known<T> | undefined): Known<T> | undefined => {
      if (found) consulted = true;
      return found;
    };
    const note = (by: string, what: string) => {
      if (!unknowns.some((item) => item.by === by)) unknowns.push({ by, what });
    };
    /** The latest entry that speaks about the resource: a prediction (`match` returns it) or an unknown. */
    const find = <T>(domain: Domain, what: string, match: (effect: Effect) => T | undefined, path?: string): Known<T> | undefined => {
      for (let index = this.#entries.length - 1; index >= 0; index--) {
        const { effect, task } = this.#entries[index]!;
        if (effect.kind === 'unknown') {
          if (effect.domains.includes(domain) && (effect.under === undefined || path === undefined || isUnder(path, effect.under))) {
            note(task, what);
            return undefined;
          }
          continue;
        }
        const found = match(effect);
        if (found !== undefined) return { known: found, by: task };
      }
      return undefined;
    };
    const view: PredictedView = {
      unknowns,
      recording,
      get consulted() {
        return consulted;
      },
      dependsOn: note,
      pathsUnder: (dir) => {
        const paths = new Map<string, Known<PredictedPath>>();
        for (const { effect, task } of this.#entries) {
          if (effect.kind === 'unknown') {
            if (effect.domains.includes('files') && (effect.under === undefined || isUnder(dir, effect.under) || isUnder(effect.under, dir))) {
              note(task, dir);
              return { paths, unknownBy: task };
            }
            continue;
          }
          if (effect.kind !== 'path' || !(isUnder(effect.path, dir) || (effect.state.kind === 'absent' && isUnder(dir, effect.path)))) continue;
          if (effect.state.kind === 'absent') for (const known of paths.keys()) if (isUnder(known, effect.path)) paths.delete(known);
          paths.set(effect.path, { known: effect.state, by: task });
        }
        if (paths.size > 0) consulted = true;
        return { paths };
      },
      reads: (domain, key, what) => void find(domain, what, () => undefined, key),
      throughLinks: (arg) => arg,
      path: (path) => {
        // A path something is predicted below is a directory; its mode and owner come from the newest
        // prediction of the path itself, if that made it a directory too.
        let implied: Known<PredictedPath> | undefined;
        for (let index = this.#entries.length - 1; index >= 0; index--) {
          const { effect, task } = this.#entries[index]!;
          if (effect.kind === 'unknown') {
            if (effect.domains.includes('files') && (effect.under === undefined || isUnder(path, effect.under))) {
              if (implied) return implied;
              note(task, path);
              return undefined;
            }
            continue;
          }
          let found: PredictedPath | undefined;
          if (effect.kind === 'path') {
            if (effect.path === path) found = effect.state;
            // Removing a directory removes what is in it.
            else if (effect.state.kind === 'absent' && isUnder(path, effect.path)) found = { kind: 'absent' };
            else if (effect.state.kind !== 'absent' && isUnder(effect.path, path)) {
              implied ??= { known: { kind: 'directory' }, by: task };
              continue;
            }
          } else if (effect.kind === 'mount' && effect.path === path && effect.state.mounted) {
            found = { kind: 'directory' };
          }
          if (found === undefined) continue;
          if (implied && found.kind !== 'directory') return implied;
          return { known: found, by: implied?.by ?? task };
        }
        return implied;
      },
      sysctl: (path) =>
        find('sysctl', `sysctl ${path.replace(/\//g, '.')}`, (effect) => (effect.kind === 'sysctl' && effect.path === path ? effect.value : undefined), path),
      kernelModule: (name) =>
        find('kernel-modules', `kernel module ${name}`, (effect) =>
          effect.kind === 'kernel-module' && moduleKey(effect.name) === moduleKey(name) ? effect.loaded : undefined,
        ),
      unit: (name) => {
        // Several changes may each predict a part of a unit (enabled by one, started by another): merged,
        // newest first, back to the newest unknown that covers units.
        let merged: PredictedUnit | undefined;
        let by: string | undefined;
        for (let index = this.#entries.length - 1; index >= 0; index--) {
          const { effect, task } = this.#entries[index]!;
          if (effect.kind === 'unknown' && effect.domains.includes('units') && (effect.under === undefined || effect.under === name)) {
            note(task, `unit ${name}`);
            break;
          }
          if (effect.kind !== 'unit' || effect.name !== name) continue;
          merged = { ...effect.state, ...merged };
          by ??= task;
        }
        return merged && by ? { known: merged, by } : undefined;
      },
      mount: (path) => find('mounts', `mount ${path}`, (effect) => (effect.kind === 'mount' && effect.path === path ? effect.state : undefined), path),
      package: (name) => find('packages', `package ${name}`, (effect) => (effect.kind === 'package' && effect.name === name ? effect.installed : undefined)),
      iptablesTable: (key) =>
        find(
          'iptables',
          `the ${key.replace('/', ' ')} table`,
          (effect) => (effect.kind === 'iptables-table' && effect.key === key ? effect.rules : undefined),
          key,
        ),
    };
    // Every answer from a prediction marks the plan as made from predicted state (a saved plan's fingerprint).
    const { path, sysctl, kernelModule, unit, mount } = view;
    const packageLookup = view.package;
    const tableLookup = view.iptablesTable;
    view.path = (arg) => known(path(arg));
    view.sysctl = (arg) => known(sysctl(arg));
    view.kernelModule = (arg) => known(kernelModule(arg));
    view.unit = (arg) => known(unit(arg));
    view.mount = (arg) => known(mount(arg));
    view.package = (arg) => known(packageLookup(arg));
    view.iptablesTable = (arg) => known(tableLookup(arg));
    view.throughLinks = (arg) => (this.#entries.some(({ effect }) => effect.kind === 'path' && effect.state.kind === 'link') ? throughLinks(view, arg) : arg);
    return view;
  }
}

/** Linux's limit on the links followed in one path lookup (ELOOP beyond it). */
const MAX_LINK_HOPS = 40;

function throughLinks(view: PredictedView, path: string): string {
  let current = posix.normalize(path);
  for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
    const parts = current.split('/').filter((part) => part !== '');
    let followed: string | undefined;
    for (let depth = 1; depth < parts.length && followed === undefined; depth++) {
      const directory = `/${parts.slice(0, depth).join('/')}`;
      const found = view.path(directory)?.known;
      // A relative target is taken from the link's own directory, as the kernel does.
      if (found?.kind === 'link') followed = posix.resolve(posix.dirname(directory), found.target, ...parts.slice(depth));
    }
    if (followed === undefined) return current;
    current = followed;
  }
  // A loop of predicted links: the host would refuse the path (ELOOP); planning from it as given says so.
  return path;
}

/** The view of a real run (or of a probe outside any task): nothing predicted, nothing unknown. */
export const NOTHING_PREDICTED: PredictedView = new PredictedState().view(false);

/** The directory that holds a path (`/` for `/etc`). */
export const parentOf = (path: string) => posix.dirname(path);
