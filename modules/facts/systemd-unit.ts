/**
 * What systemd knows about one unit, read in one round trip: `systemctl show` for the loaded state
 * (load, active and sub state, whether its files changed on disk since the last daemon-reload, whether it
 * can reload), `systemctl is-enabled` for the enablement as it is on disk now, and, for a unit systemd
 * reports as not found, whether a unit file for it exists anyway (written since systemd last looked).
 *
 * `UnitFileState` from `show` is cached by systemd until the next daemon-reload, while `is-enabled` reads
 * the unit files each time, so the planner decides enablement from `is-enabled`.
 */
import { sh, type Script } from '../../runner/command.ts';
import { FactError } from '../../runner/facts.ts';

/** Suffixes systemctl recognises; a name without one means NAME.service, as systemctl itself does. */
export const UNIT_SUFFIXES = ['service', 'socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer', 'slice', 'scope'] as const;

/** Directories systemd loads system unit files from, most important first. */
export const UNIT_DIRECTORIES = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/local/lib/systemd/system',
  '/lib/systemd/system',
  '/usr/lib/systemd/system',
];

/** `docker` → `docker.service`; `docker.socket` stays. Mirrors systemctl's own name mangling. */
export function fullUnitName(name: string): string {
  const dot = name.lastIndexOf('.');
  const suffix = dot > 0 ? name.slice(dot + 1) : '';
  return (UNIT_SUFFIXES as readonly string[]).includes(suffix) ? name : `${name}.service`;
}

export interface UnitState {
  /** The unit's primary name; differs from the asked name when that name is an alias. */
  id: string;
  /** loaded, not-found, masked, bad-setting, error, merged, stub. */
  loadState: string;
  /** active, reloading, inactive, failed, activating, deactivating (maintenance, refreshing on newer systemd). */
  activeState: string;
  /** running, exited, dead, auto-restart… (depends on the unit type). */
  subState: string;
  /** The unit's files (fragment or drop-ins) changed on disk since systemd loaded them. */
  needDaemonReload: boolean;
  /** The unit has ExecReload= (or its type supports reloading). */
  canReload: boolean;
  /** The unit file systemd loaded, empty when none. */
  fragmentPath: string;
  /**
   * `systemctl is-enabled` now: enabled, enabled-runtime, linked, linked-runtime, alias, masked,
   * masked-runtime, static, indirect, disabled, generated, transient, bad; `not-found` when no unit file.
   */
  enablement: string;
  /** A unit file found in the unit directories although systemd says not-found (it needs a daemon-reload). */
  fileOnDisk?: string;
  /**
   * Drop-ins in NAME.d/ directories on disk that the loaded unit does not have. systemd's own
   * NeedDaemonReload misses these (systemd 252 reports `no` after a drop-in is added to a directory it
   * did not load from), so the planner checks them itself.
   */
  dropInsNotLoaded: string[];
}

/**
 * The probe script: `systemctl show`, `is-enabled`, and a search of the unit directories. Every systemd
 * task runs it on every host, and each systemctl costs a process and a call to PID 1 (issue 13): so one
 * `show` names every property, its DropInPaths line and is-enabled's first line are cut out with the
 * shell's own expansions (the patterns hold a newline), and nothing else is started unless drop-ins exist.
 * It never exits early, so a probe can run it beside others without a subshell around it.
 */
export function unitStateScript(unit: string): Script {
  return sh`u=${unit}
if ! command -v systemctl >/dev/null 2>&1; then echo 'drover-systemd=absent'
else
shown=$(systemctl show -p Id,LoadState,ActiveState,SubState,NeedDaemonReload,CanReload,FragmentPath,DropInPaths -- "$u")
printf '%s\n' "$shown"
e=$(systemctl is-enabled -- "$u" 2>/dev/null) || true
printf 'IsEnabled=%s\n' "\${e%%
*}"
for d in ${UNIT_DIRECTORIES}; do if [ -e "$d/$u" ] || [ -L "$d/$u" ]; then printf 'FileOnDisk=%s\n' "$d/$u"; break; fi; done
dp=
case $shown in *DropInPaths=*) dp=\${shown#*DropInPaths=}; dp=\${dp%%
*} ;; esac
for f in $dp; do printf 'LoadedDropIn=%s\n' "$(readlink -f -- "$f" || printf '%s' "$f")"; done
for d in ${UNIT_DIRECTORIES}; do for f in "$d/$u.d"/*.conf; do if [ -e "$f" ]; then printf 'DropInOnDisk=%s\n' "$(readlink -f -- "$f")"; fi; done; done
fi
`;
}

/** Parses the probe's output (KEY=value lines). Pure; tested from captured output. */
export function parseUnitState(unit: string, stdout: string): UnitState {
  const fields = new Map<string, string>();
  // Paths come resolved (readlink -f): /lib is often a link to /usr/lib, and a drop-in found through both
  // must count once.
  const dropInsOnDisk = new Set<string>();
  const loadedDropIns = new Set<string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    if (key === 'DropInOnDisk') dropInsOnDisk.add(line.slice(at + 1));
    else if (key === 'LoadedDropIn') loadedDropIns.add(line.slice(at + 1));
    else fields.set(key, line.slice(at + 1));
  }
  if (fields.get('drover-systemd') === 'absent') {
    throw new FactError(`systemd-unit:${unit}`, 'systemctl is not installed on this host, so it does not run systemd');
  }
  const loadState = fields.get('LoadState');
  const activeState = fields.get('ActiveState');
  if (!loadState || !activeState) {
    throw new FactError(`systemd-unit:${unit}`, `unexpected systemctl show output: ${JSON.stringify(stdout.slice(0, 300))}`);
  }
  const isEnabled = fields.get('IsEnabled') ?? '';
  const state: UnitState = {
    id: fields.get('Id') || unit,
    loadState,
    activeState,
    subState: fields.get('SubState') ?? '',
    needDaemonReload: fields.get('NeedDaemonReload') === 'yes',
    canReload: fields.get('CanReload') === 'yes',
    fragmentPath: fields.get('FragmentPath') ?? '',
    // Older systemd prints nothing (and an error on stderr) for a unit without a file; newer prints not-found.
    enablement: isEnabled === '' ? 'not-found' : isEnabled,
    dropInsNotLoaded: [],
  };
  if (loadState === 'loaded') state.dropInsNotLoaded = [...dropInsOnDisk].filter((path) => !loadedDropIns.has(path));
  const onDisk = fields.get('FileOnDisk');
  if (onDisk) state.fileOnDisk = onDisk;
  return state;
}
