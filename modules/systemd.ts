/**
 * systemd: a unit's run state (started, stopped, restarted, reloaded), whether it starts at boot
 * (enabled), whether it is masked, and optionally its unit file and drop-ins, written atomically through
 * `planFileContent` (modules/lib/), followed by one `systemctl daemon-reload` only when one of them changed.
 *
 * @example
 *   // `systemctl disable --now firewalld` as one idempotent task:
 *   await t.systemd('firewall off', { name: 'firewalld', state: 'stopped', enabled: false });
 *   // a proxy drop-in for docker; a handler restarts docker once, only when this changed:
 *   await t.systemd('docker proxy', { name: 'docker', dropIns: { 'http-proxy.conf': '[Service]\nEnvironment="HTTP_PROXY=http://proxy:3128"\n' } });
 *   await t.systemd('kubelet at boot', { name: 'kubelet', enabled: true });
 *
 * Order of the commands: unmask, write files, daemon-reload, enable/disable, mask (a unit being masked is
 * disabled first, while systemctl still can), then start/stop/restart/reload. When enable or disable runs
 * for a unit with its own unit file, it carries the reload: systemctl reloads systemd itself after
 * changing the links, and a separate daemon-reload before it would make every host re-read all its units
 * twice (on the benchmark's 20 hosts the unit task took 2.7 s with both reloads and 1.6 s with one). The
 * plan says so in the enable's summary. If that enable fails, the files are written but not loaded; the
 * next run's probe sees them changed on disk and reloads (with `daemonReload` unset).
 *
 * daemonReload (see `reloadReason`; "reload" below is the daemon-reload step, or the enable/disable that
 * carries it):
 *   - unset or `'auto'`: reload when this task changed the unit file or a drop-in, or when systemd itself
 *     reports the unit's files changed on disk since it loaded them (`NeedDaemonReload=yes`, which is what
 *     an earlier copy/template task editing a unit file leaves behind), or when a drop-in on disk is not
 *     among the unit's loaded ones (systemd 252 does not flag a drop-in added to a new NAME.d directory),
 *     or when a unit file exists for a unit systemd reports as not found. Otherwise no reload: a reload
 *     re-reads every unit and is expensive on busy hosts. (An inactive unit is not kept loaded: systemd
 *     reads it afresh when asked, so only loaded units can be stale.)
 *   - `true`: always reload first (Ansible's `daemon_reload: true`); the task then reports changed each run.
 *   - `false`: never reload, except after this task's own unitFile/dropIns changes (without that reload
 *     systemd would go on running the old definition).
 *
 * Edge cases, decided and documented:
 *   - `restarted` always restarts and reports changed (Ansible's meaning); for "restart once, only when a
 *     change notified it" use a handler.
 *   - `reloaded` starts a stopped unit (as Ansible), and fails while planning when the unit has no
 *     ExecReload= (use `restarted`).
 *   - A unit that does not exist (yet): started, restarted, reloaded and `enabled: true` are planned
 *     behind a guard and marked uncertain, because an earlier task of the same run (a package install)
 *     may create it, and a dry run must not fail on what the real run would have; when the real run gets
 *     there and the unit still does not exist, the guard fails the task with a clear error. stopped,
 *     `enabled: false` and `masked: false` succeed with nothing to do (the wanted state holds);
 *     `masked: true` masks it anyway (systemctl allows it).
 *   - A unit whose file is /etc/systemd/system/NAME (one this module wrote) cannot be masked: the mask
 *     link would go there, so systemctl refuses; said while planning.
 *   - Static, indirect, generated and transient units have no [Install] rules: `enabled` true or false
 *     leaves them as they are (systemctl enable/disable would do nothing); mask them to keep them off.
 *   - After unmasking, the unit's underlying enablement cannot be read beforehand, so `enabled` is then
 *     applied with an unconditional `systemctl enable` (harmless when already so) or a `systemctl disable`
 *     that first checks the unit has a file once unmasked (a unit masked without one has nothing to
 *     disable, and systemctl fails on it).
 *   - A start that fails shows the last 20 lines of the unit's journal (`journalctl -u`, after asking
 *     journald to flush: see lib/journal.ts), or `systemctl status` where the journal cannot be read.
 */
import { Script, sh, type Command } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type Change, type HostContext, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { planFileContentFrom } from './lib/file-content.ts';
import { unitJournalScript } from './lib/journal.ts';
import { probeSections } from './lib/probe-output.ts';
import type { PredictedView } from '../runner/predicted-state.ts';
import { decodeHostText } from '../runner/host-text.ts';
import { fileStateScript, parseFileState, predictFileState, type FileState } from './facts/file-state.ts';
import { fullUnitName, parseUnitState, UNIT_DIRECTORIES, unitStateScript, type UnitState } from './facts/systemd-unit.ts';

/** Unit names systemd accepts: letters, digits, `:_.\@-`; never starting with `-` (it would read as an option). */
const UNIT_NAME = /^[A-Za-z0-9_\\][A-Za-z0-9:_.\\@-]{0,250}$/;
/** Drop-in file names: systemd reads only `*.conf` in NAME.d/. */
const DROP_IN_NAME = /^[A-Za-z0-9_][A-Za-z0-9:_.@-]{0,250}\.conf$/;

const params = s
  .object({
    /** The unit: `docker` (means docker.service), `docker.socket`, `getty@tty1.service`. */
    name: s.string({ pattern: UNIT_NAME, what: 'a systemd unit name like docker or docker.service' }),
    /**
     * started/stopped: brought to that state only when not already in it. restarted: always restarts
     * (changed every run; use a handler for "only when notified"). reloaded: reloads a running unit,
     * starts a stopped one. Unset: the run state is left alone.
     */
    state: s.enum(['started', 'stopped', 'restarted', 'reloaded'] as const).optional(),
    /** Start at boot (`systemctl enable`) or not (`disable`). Unset: left alone. */
    enabled: s.boolean().optional(),
    /** Mask (link to /dev/null, so nothing can start it) or unmask. Unset: left alone. */
    masked: s.boolean().optional(),
    /**
     * When to run `systemctl daemon-reload` before the other actions: `'auto'` (also when unset) only if
     * this task changed unit files or systemd reports the unit's files changed on disk; `true` always;
     * `false` never (except after this task's own unitFile/dropIns changes).
     */
    daemonReload: s.union<boolean | 'auto', boolean | 'auto'>(s.boolean(), s.enum(['auto'] as const)).optional(),
    /** Exact content of /etc/systemd/system/UNIT (overrides a packaged unit of the same name). */
    unitFile: s.string().optional(),
    /** Drop-ins by file name → content, written to /etc/systemd/system/UNIT.d/NAME (only the ones listed). */
    dropIns: s
      .record(s.string())
      .refine((files) => {
        const bad = Object.keys(files).find((file) => !DROP_IN_NAME.test(file));
        return bad === undefined ? undefined : `drop-in name ${JSON.stringify(bad)} must be a plain file name ending in .conf (systemd ignores other names)`;
      })
      .optional(),
  })
  .rule((p) =>
    p.state === undefined &&
    p.enabled === undefined &&
    p.masked === undefined &&
    p.daemonReload === undefined &&
    p.unitFile === undefined &&
    p.dropIns === undefined
      ? 'nothing asked: give state, enabled, masked, daemonReload, unitFile or dropIns'
      : undefined,
  )
  .rule((p) =>
    p.masked === true && p.state !== undefined && p.state !== 'stopped' ? `a masked unit cannot be ${p.state}; drop masked or use state: stopped` : undefined,
  )
  .rule((p) => (p.masked === true && p.enabled === true ? 'a masked unit cannot be enabled; choose masked or enabled' : undefined))
  .rule((p) =>
    p.masked === true && (p.unitFile !== undefined || p.dropIns !== undefined)
      ? 'masking replaces the unit with a link to /dev/null; unitFile and dropIns cannot be written together with masked: true'
      : undefined,
  );

export type SystemdParams = InputOf<typeof params>;
type Params = OutputOf<typeof params>;

/** A file this task manages for the unit. */
export interface UnitFile {
  path: string;
  content: string;
}

/** The unit file first, then drop-ins by name (sorted, so plans and diffs are stable). */
export function unitFiles(unit: string, p: Pick<Params, 'unitFile' | 'dropIns'>): UnitFile[] {
  const files: UnitFile[] = [];
  if (p.unitFile !== undefined) files.push({ path: `/etc/systemd/system/${unit}`, content: p.unitFile });
  for (const name of Object.keys(p.dropIns ?? {}).sort()) {
    files.push({ path: `/etc/systemd/system/${unit}.d/${name}`, content: p.dropIns![name]! });
  }
  return files;
}

/**
 * One probe for the unit and every file: sections `@@unit` and `@@file N`. The parts run one after the
 * other in the probe's shell, not in subshells (a process each on every host: issue 13): neither script
 * exits early, and each sets every variable it reads.
 */
export function systemdProbeScript(unit: string, files: UnitFile[]): Script {
  const parts = [sh`echo @@unit`, unitStateScript(unit)];
  for (const [index, file] of files.entries()) parts.push(sh`echo ${`@@file ${index}`}`, fileStateScript(file.path));
  return Script.join(parts);
}

/** Splits the probe output and parses each section. Pure. */
export function parseSystemdProbe(unit: string, files: UnitFile[], stdout: string): { unit: UnitState; files: FileState[] } {
  const sections = probeSections(stdout);
  const unitText = sections.get('unit');
  if (unitText === undefined) throw new ModuleError(`systemctl probe for ${unit} printed nothing usable: ${JSON.stringify(stdout.slice(0, 300))}`);
  return {
    unit: parseUnitState(unit, unitText),
    files: files.map((file, index) => {
      const text = sections.get(`file ${index}`);
      if (text === undefined) throw new ModuleError(`the probe did not report on ${file.path}: ${JSON.stringify(stdout.slice(0, 300))}`);
      return parseFileState(file.path, text);
    }),
  };
}

/** States in which the unit counts as running (Ansible's view: activating includes auto-restart loops). */
const RUNNING = new Set(['active', 'activating', 'reloading', 'refreshing']);
/** Enablement states made by links, which rewriting the unit file leaves as they are. */
const LINKED = new Set(['enabled', 'enabled-runtime', 'linked', 'linked-runtime', 'masked', 'masked-runtime']);
/** Enablement states without [Install] rules: systemctl enable/disable would not change them. */
const NOT_INSTALLABLE = new Set(['static', 'indirect', 'generated', 'transient']);

/**
 * What a unit file's [Install] section makes of it once loaded without links: `disabled` when it has
 * WantedBy/RequiredBy/UpheldBy/Alias rules, `indirect` with only Also=, `static` with none (systemd's rule).
 */
export function enablementOfNewUnit(text: string): 'disabled' | 'indirect' | 'static' {
  let section = '';
  let also = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[') && line.endsWith(']')) {
      section = line;
      continue;
    }
    if (section !== '[Install]' || line.startsWith('#') || line.startsWith(';')) continue;
    const key = line.split('=', 1)[0]!.trim();
    const value = line.slice(line.indexOf('=') + 1).trim();
    if (value === '') continue;
    if (['WantedBy', 'RequiredBy', 'UpheldBy', 'Alias'].includes(key)) return 'disabled';
    if (key === 'Also') also = true;
  }
  return also ? 'indirect' : 'static';
}

/** Why a daemon-reload is needed, or undefined. See the module's doc comment. */
export function reloadReason(p: Pick<Params, 'daemonReload'>, state: UnitState, filesChanged: boolean): string | undefined {
  if (filesChanged) return 'its unit files changed';
  if (p.daemonReload === true) return 'daemonReload: true';
  if (p.daemonReload === false) return undefined;
  if (state.needDaemonReload) return 'systemd reports its files changed on disk (NeedDaemonReload=yes)';
  if (state.dropInsNotLoaded.length > 0) return `drop-ins not loaded yet: ${state.dropInsNotLoaded.join(', ')}`;
  if (state.loadState === 'not-found' && state.fileOnDisk) return `systemd has not loaded ${state.fileOnDisk} yet`;
  return undefined;
}

/** The pure planner: (params, probed unit, probed files) → plan. Exported for table tests. */
export function planSystemd(p: Params, state: UnitState, fileStates: FileState[]): Plan {
  const unit = fullUnitName(p.name);
  const files = unitFiles(unit, p);
  const changes: Change[] = [];
  const notes: string[] = [];
  const masked = state.loadState === 'masked' || state.enablement === 'masked' || state.enablement === 'masked-runtime';
  const isAlias = state.id !== unit && state.loadState !== 'not-found';

  if (isAlias && (p.enabled !== undefined || p.masked !== undefined || files.length > 0)) {
    throw new ModuleError(`${unit} is an alias of ${state.id}`, `manage ${state.id} itself: enabling, masking and unit files apply to the real unit`);
  }

  // 1. unmask
  const unmasking = masked && p.masked === false;
  if (unmasking) {
    const runtime = state.enablement === 'masked-runtime';
    changes.push({
      summary: `unmask ${unit}`,
      diff: { kind: 'value', name: `${unit} masked`, before: 'yes', after: 'no' },
      commands: [systemctl(runtime ? ['unmask', '--runtime'] : ['unmask'], unit)],
      // What links were under the mask is not known until it is gone.
      effects: [{ kind: 'unknown', domains: ['units'], under: unit, what: `the enablement of ${unit} once unmasked` }],
    });
  }
  const stillMasked = masked && !unmasking;
  if (stillMasked && files.length > 0) {
    throw new ModuleError(`${unit} is masked, so its unit file and drop-ins would be ignored`, 'add masked: false to unmask it');
  }

  // 2. unit file and drop-ins, atomically
  let filesChanged = false;
  let unitFileChanged = false;
  files.forEach((file, index) => {
    const planned = planFileContentFrom({ path: file.path, content: file.content, createParents: true }, fileStates[index]!);
    if (planned.changes.length === 0) return;
    filesChanged = true;
    if (p.unitFile !== undefined && index === 0) unitFileChanged = true;
    changes.push(...planned.changes);
  });

  // 3. daemon-reload (pushed with step 4, which may carry it instead)
  const why = reloadReason(p, state, filesChanged);
  const reloaded = { kind: 'unit', name: unit, state: { needDaemonReload: false } } as const;

  // What the unit looks like once the files are written and systemd reloaded.
  const exists = state.loadState !== 'not-found' || p.unitFile !== undefined || state.fileOnDisk !== undefined;
  const enablement = unitFileChanged && !LINKED.has(state.enablement) ? enablementOfNewUnit(p.unitFile ?? '') : state.enablement;
  const brokenLoad = ['bad-setting', 'error'].includes(state.loadState) && !filesChanged;
  const add = (item: Change | string | undefined) => {
    if (typeof item === 'string') notes.push(item);
    else if (item) changes.push(item);
  };

  // 4. enable / disable, then mask (a unit about to be masked is disabled first, while it still can be)
  const masking = p.masked === true && !masked;
  const maskedAfter = stillMasked || p.masked === true;
  const enabling =
    p.enabled === undefined
      ? undefined
      : enablementChange(unit, p.enabled, { predicted: enablement, current: state.enablement }, { exists, maskedAfter: stillMasked, unmasking });
  // systemctl enable and disable reload systemd themselves once their links are made (unless told
  // --no-reload), and they read the unit files from disk, so they need no reload before them: the reload
  // this task needs rides on theirs instead of reloading every unit on the host twice. Only for a unit
  // with a unit file of its own, not masked: systemd before 231 (EL7's 219) hands a service that only
  // has an init script to chkconfig and returns without reloading.
  const ownUnitFile = p.unitFile !== undefined || (state.fileOnDisk !== undefined && !masked);
  if (why && ownUnitFile && typeof enabling === 'object') {
    add({ ...enabling, summary: `${enabling.summary} (systemd reloads with it: ${why})`, effects: [reloaded, ...(enabling.effects ?? [])] });
  } else {
    if (why)
      changes.push({
        summary: `run systemctl daemon-reload (${unit}: ${why})`,
        commands: [{ run: sh`systemctl daemon-reload`, description: 'systemctl daemon-reload' }],
        effects: [reloaded],
      });
    add(enabling);
  }
  if (masking) {
    if (state.fragmentPath === `/etc/systemd/system/${unit}`) {
      throw new ModuleError(
        `cannot mask ${unit}: its unit file is ${state.fragmentPath}, where the mask link would go (systemctl refuses)`,
        'remove that unit file first (file state=absent, then daemonReload), or stop and disable the unit instead',
      );
    }
    changes.push({
      summary: `mask ${unit}`,
      diff: { kind: 'value', name: `${unit} masked`, before: 'no', after: 'yes' },
      commands: [systemctl(['mask'], unit)],
      effects: [{ kind: 'unit', name: unit, state: { enablement: 'masked', loadState: 'masked', activeState: 'inactive' } }],
    });
  }

  // 5. run state
  // A unit file or drop-in this task writes may add ExecReload= (systemd's CanReload is from before).
  const reloadInNewFiles = filesChanged && files.some((file) => /^\s*ExecReload\s*=\s*\S/m.test(file.content));
  if (p.state !== undefined) add(runStateChange(unit, p.state, state, { exists, maskedAfter, brokenLoad, reloadInNewFiles }));

  if (changes.length === 0) return noChange(`${unit}: ${[describe(state), ...notes].join('; ')}`);
  const needsUnit = !exists && (p.enabled === true || (p.state !== undefined && p.state !== 'stopped'));
  if (needsUnit) return { changes: [unitMustExist(unit), ...changes], uncertain: true, reason: notes.length ? notes.join('; ') : undefined };
  return { changes, reason: notes.length ? notes.join('; ') : undefined };
}

/**
 * The guard in front of a plan for a unit that does not exist yet: a package installed earlier in the run
 * usually brings it (and its postinst reloads systemd); if nothing did, the task fails here, by name.
 */
function unitMustExist(unit: string): Change {
  const problem = `unit ${unit} does not exist: install the package that provides it (before this task), give its unitFile, or check the name (systemctl list-unit-files)`;
  return {
    summary: `check that ${unit} exists by then (it does not yet; an earlier task may install it)`,
    commands: [
      { run: sh`systemctl cat -- ${unit} >/dev/null 2>&1 || { echo ${problem} >&2; exit 1; }`, description: `check that ${unit} exists`, readOnly: true },
    ],
    effects: [],
  };
}

function describe(state: UnitState): string {
  if (state.loadState === 'not-found') return 'not found';
  return `${state.activeState}${state.subState ? ` (${state.subState})` : ''}, ${state.enablement}`;
}

/**
 * enable/disable, decided from the enablement the unit will have once its files are written
 * (`predicted`), shown against what it has now (`current`). A string is a note for the reason; undefined
 * means nothing to say.
 */
function enablementChange(
  unit: string,
  enabled: boolean,
  enablement: { predicted: string; current: string },
  after: { exists: boolean; maskedAfter: boolean; unmasking: boolean },
): Change | string | undefined {
  const change = (verb: string[]): Change => ({
    summary: `${verb.join(' ')} ${unit}`,
    diff: { kind: 'value', name: `${unit} enabled`, before: enablement.current, after: enabled ? 'enabled' : 'disabled' },
    commands: [systemctl(verb, unit)],
    effects: [{ kind: 'unit', name: unit, state: { enablement: enabled ? 'enabled' : 'disabled' } }],
  });
  const state = enablement.predicted;
  if (after.unmasking && enabled) return change(['enable']);
  if (after.unmasking) {
    // A unit masked without a unit file of its own (a service masked before its package came, or after it
    // went) has nothing to disable once unmasked, and `systemctl disable` fails on it after the unmask has
    // already happened. What the mask hides cannot be read beforehand, so the command looks first.
    return {
      ...change(['disable']),
      summary: `disable ${unit} (if it has a unit file once unmasked)`,
      commands: [
        {
          run: sh`if systemctl cat -- ${unit} >/dev/null 2>&1; then systemctl disable -- ${unit}; fi`,
          description: `systemctl disable ${unit}, if it has a unit file once unmasked`,
        },
      ],
    };
  }
  if (!after.exists) {
    if (!enabled) return 'not found, so not enabled';
    return change(['enable']);
  }
  if (after.maskedAfter) {
    if (!enabled) return 'masked, so it never starts';
    throw new ModuleError(`${unit} is masked and cannot be enabled`, 'add masked: false to unmask it');
  }
  if (state === 'bad') {
    throw new ModuleError(`${unit}'s unit file is invalid (systemctl is-enabled says bad)`, `check it with: systemd-analyze verify ${unit}`);
  }
  if (NOT_INSTALLABLE.has(state)) {
    return `${state}: no [Install] rules, so systemctl ${enabled ? 'enable' : 'disable'} would change nothing (mask it to keep it from starting)`;
  }
  if (enabled) return state === 'enabled' || state === 'alias' ? undefined : change(['enable']);
  if (state === 'enabled') return change(['disable']);
  if (state === 'enabled-runtime') return change(['disable', '--runtime']);
  return undefined;
}

function runStateChange(
  unit: string,
  wanted: NonNullable<Params['state']>,
  state: UnitState,
  after: { exists: boolean; maskedAfter: boolean; brokenLoad: boolean; reloadInNewFiles: boolean },
): Change | string | undefined {
  const change = runStateChangeOf(unit, wanted, state, after);
  if (typeof change !== 'object') return change;
  return { ...change, effects: [{ kind: 'unit', name: unit, state: { activeState: wanted === 'stopped' ? 'inactive' : 'active', loadState: 'loaded' } }] };
}

function runStateChangeOf(
  unit: string,
  wanted: NonNullable<Params['state']>,
  state: UnitState,
  after: { exists: boolean; maskedAfter: boolean; brokenLoad: boolean; reloadInNewFiles: boolean },
): Change | string | undefined {
  const running = RUNNING.has(state.activeState);
  const diff = (to: string) => ({ kind: 'value' as const, name: `${unit} state`, before: state.activeState, after: to });
  if (wanted === 'stopped') {
    if (!after.exists) return 'not found, so not running';
    if (!running && state.activeState !== 'deactivating') return undefined;
    return { summary: `stop ${unit}`, diff: diff('inactive'), commands: [systemctl(['stop'], unit)] };
  }
  if (!after.exists) {
    const verb = wanted === 'reloaded' ? 'start' : wanted === 'started' ? 'start' : 'restart';
    return { summary: `${verb} ${unit}`, diff: diff(wanted === 'restarted' ? 'restarted' : 'active'), commands: [startCommand([verb], unit)] };
  }
  if (after.maskedAfter) throw new ModuleError(`${unit} is masked and cannot be ${wanted}`, 'add masked: false to unmask it');
  if (after.brokenLoad) {
    throw new ModuleError(`systemd could not load ${unit} (LoadState=${state.loadState})`, `fix the unit file; systemd-analyze verify ${unit} shows why`);
  }
  if (wanted === 'started') {
    if (running) return undefined;
    return { summary: `start ${unit}`, diff: diff('active'), commands: [startCommand(['start'], unit)] };
  }
  if (wanted === 'restarted') {
    return { summary: `restart ${unit}`, diff: diff('restarted'), commands: [startCommand(['restart'], unit)] };
  }
  if (!running)
    return { summary: `start ${unit} (reloaded asked; it was ${state.activeState})`, diff: diff('active'), commands: [startCommand(['start'], unit)] };
  if (!state.canReload && !after.reloadInNewFiles) {
    throw new ModuleError(`${unit} cannot reload (it has no ExecReload=)`, 'use state: restarted');
  }
  return { summary: `reload ${unit}`, diff: diff('reloaded'), commands: [startCommand(['reload'], unit)] };
}

function systemctl(verb: string[], unit: string): Command {
  return { run: sh`systemctl ${verb} -- ${unit}`, description: `systemctl ${verb.join(' ')} ${unit}` };
}

/**
 * start/restart/reload, with the journal as the failure's context. A Type=simple service whose program
 * cannot be executed still makes `systemctl start` succeed: systemd calls it started once it has forked,
 * and the exec fails in the child a moment later. So the command waits until the main process has left
 * systemd's code (its executable is no longer systemd's own or systemd-executor) or is gone, then asks
 * whether the unit ended up failed. Asking at once raced the exec on a loaded host; the wait ends as soon
 * as the exec is done (milliseconds) and is bounded at 5 s. `show -p` without `--value` also works on
 * systemd 219 (EL7).
 */
function startCommand(verb: string[], unit: string): Command {
  return {
    run: sh`systemctl ${verb} -- ${unit}
settle=0
while [ "$settle" -lt 50 ]; do
  main_pid=$(systemctl show -p MainPID -- ${unit} 2>/dev/null) || break
  main_pid=\${main_pid#MainPID=}
  case "$main_pid" in ''|0) break ;; esac
  main_exe=$(readlink "/proc/$main_pid/exe" 2>/dev/null) || main_exe=
  case "$main_exe" in */systemd|*/systemd-executor|'') ;; *) break ;; esac
  sleep 0.1; settle=$((settle + 1))
done
if systemctl is-failed --quiet -- ${unit}; then echo ${`${unit} failed right after ${verb.join(' ')}`} >&2; exit 1; fi`,
    description: `systemctl ${verb.join(' ')} ${unit}`,
    diagnose: unitJournalScript(unit, { fallback: sh`systemctl status --no-pager --full -n 20 -- ${unit}` }),
  };
}

/**
 * In a dry run: the unit as the earlier tasks' planned changes would leave it. A unit file an earlier
 * task writes is what systemd would find (it loads a unit it has not loaded on the first request: loaded,
 * inactive, enabled as its [Install] section says; a loaded unit whose file changes needs a reload); then
 * what earlier systemd tasks would have done to the unit.
 */
export function predictUnit(unit: string, probed: UnitState, predicted: PredictedView): UnitState {
  let state = probed;
  for (const dir of UNIT_DIRECTORIES) {
    const file = predicted.path(`${dir}/${unit}`);
    if (!file) {
      if (probed.fileOnDisk === `${dir}/${unit}`) break;
      continue;
    }
    if (file.known.kind !== 'file' && file.known.kind !== 'link') break;
    if (state.loadState === 'not-found') {
      if (file.known.kind === 'file' && file.known.content === undefined) predicted.dependsOn(file.by, `the unit file ${dir}/${unit}`);
      const text = file.known.kind === 'file' && file.known.content ? decodeHostText(file.known.content) : '';
      state = {
        ...state,
        loadState: 'loaded',
        activeState: 'inactive',
        subState: 'dead',
        enablement: enablementOfNewUnit(text),
        fileOnDisk: `${dir}/${unit}`,
        fragmentPath: `${dir}/${unit}`,
      };
    } else if (state.loadState === 'loaded') {
      state = { ...state, needDaemonReload: true };
    }
    break;
  }
  const found = predicted.unit(unit);
  if (!found) return state;
  const known = found.known;
  return {
    ...state,
    ...(known.loadState !== undefined && { loadState: known.loadState }),
    ...(known.activeState !== undefined && { activeState: known.activeState, subState: known.activeState === 'active' ? 'running' : 'dead' }),
    ...(known.enablement !== undefined && { enablement: known.enablement }),
    ...(known.needDaemonReload !== undefined && { needDaemonReload: known.needDaemonReload }),
  };
}

export const systemd = defineModule({
  name: 'systemd',
  summary: 'Start, stop, restart, reload, enable, disable or mask a systemd unit; write its unit file and drop-ins',
  params,
  async plan(p, host: HostContext): Promise<Plan> {
    const unit = fullUnitName(p.name);
    const files = unitFiles(unit, p);
    const output = await host.probe(systemdProbeScript(unit, files));
    if (output.exitCode !== 0) {
      const why = (output.stderr || output.stdout).trim();
      throw new ModuleError(
        `could not ask systemd about ${unit} on ${host.name} (exit ${output.exitCode}): ${why}`,
        /not been booted with systemd|Failed to connect to bus/.test(why)
          ? 'this host does not run systemd as its init system'
          : 'check that systemd is running: systemctl is-system-running',
      );
    }
    const probed = parseSystemdProbe(unit, files, output.stdout);
    return planSystemd(
      p,
      predictUnit(unit, probed.unit, host.predicted),
      probed.files.map((file) => predictFileState(host.predicted, file)),
    );
  },
});
