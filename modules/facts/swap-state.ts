/**
 * Swap as the host has it, in one round trip: the active swap areas (/proc/swaps), what each swap entry
 * of /etc/fstab resolves to (so `UUID=…` and symbolic links can be matched to an active device), and,
 * under systemd, the swap units and swap.target's state (for masking).
 *
 * /proc/swaps is not per container: inside a container it lists the whole machine's swap.
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';
import { unescapeField } from './fstab.ts';

/** One line of /proc/swaps. */
export interface ActiveSwap {
  /** The device or file, as the kernel names it (decoded). */
  path: string;
  /** `partition` or `file`. */
  type: string;
  sizeKiB: number;
  usedKiB: number;
  priority: number;
  /**
   * Whether the path exists on this host. /proc/swaps lists the whole machine's swap, so in a container
   * it names areas of the machine or of other containers that cannot be turned off from here.
   */
  visible: boolean;
}

export interface SwapState {
  active: ActiveSwap[];
  /** fstab `src` as written (encoded) → the path it resolves to now; '' when it resolves to nothing. */
  fstabResolved: Map<string, string>;
  /** The asked device resolved (symbolic links followed, `UUID=` found); '' when it resolves to nothing. */
  deviceResolved?: string;
  /** Whether systemd is PID 1; the unit fields are empty otherwise. */
  systemd: boolean;
  /** `systemctl is-enabled swap.target` ("static", "masked", …). */
  swapTarget?: string;
  /** Swap units systemd knows (loaded), with their load state ("loaded", "masked", "not-found"). */
  units: Array<{ name: string; load: string }>;
  /** For the asked device: its swap unit names (as given and resolved) and their is-enabled state. */
  deviceUnits: Array<{ name: string; state: string }>;
}

/**
 * The probe. `device` (already validated) adds its resolution and unit names. The swap units and
 * swap.target's state are read only when `units` asks (masking needs them): each `systemctl` call costs
 * the host a process and PID 1 an answer, on every run of every host (issue 13).
 */
export function swapStateScript(device?: string, units = true): ReturnType<typeof sh> {
  return sh`resolve() {
  case "$1" in
    UUID=*|LABEL=*|PARTUUID=*|PARTLABEL=*) findfs "$1" 2>/dev/null || true ;;
    *) readlink -f -- "$1" 2>/dev/null || true ;;
  esac
}
b64() { printf '%s' "$1" | base64 -w0; }
# fstab and /proc/swaps write a blank as \\040; printf %b decodes \\0NNN, so the escapes are rewritten first.
decode() { printf '%b' "$(printf '%s' "$1" | sed 's/\\\\\\([0-7][0-7][0-7]\\)/\\\\0\\1/g')"; }
printf 'swaps=%s\\n' "$(base64 -w0 < /proc/swaps)"
# Read by the shell itself, no tail or awk (one process fewer each, on every host: issue 13). read splits
# at blanks and tabs as awk does; the first line of /proc/swaps is its header; a last line without its
# newline still counts (read fails on it but fills the variables).
{
  read -r header || true
  while read -r spec rest || [ -n "$spec" ]; do
    if [ ! -e "$(decode "$spec")" ]; then printf 'invisible=%s\\n' "$(b64 "$spec")"; fi
  done
} < /proc/swaps
if [ -r /etc/fstab ]; then
  while read -r spec file type rest || [ -n "$spec" ]; do
    case $spec in '#'*) continue ;; esac
    if [ "$type" = swap ]; then printf 'resolve=%s %s\\n' "$(b64 "$spec")" "$(b64 "$(resolve "$(decode "$spec")")")"; fi
  done < /etc/fstab
fi
device=${device ?? ''}
if [ -n "$device" ]; then printf 'device=%s\\n' "$(b64 "$(resolve "$device")")"; fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo systemd=yes
  if [ ${units ? 'yes' : 'no'} = yes ]; then
    printf 'target=%s\\n' "$(systemctl is-enabled swap.target 2>/dev/null || true)"
    systemctl list-units --type=swap --all --no-legend --plain 2>/dev/null | while read -r unit load rest; do
      printf 'unit=%s %s\\n' "$unit" "$load"
    done
    if [ -n "$device" ]; then
      for path in "$device" "$(resolve "$device")"; do
        case "$path" in /*) ;; *) continue ;; esac
        unit=$(systemd-escape -p --suffix=swap -- "$path")
        printf 'devunit=%s %s\\n' "$unit" "$(systemctl is-enabled -- "$unit" 2>/dev/null || true)"
      done
    fi
  fi
else
  echo systemd=no
fi
`;
}

/**
 * Parses /proc/swaps text (header line, then one area per line). `invisible` holds the paths, as
 * /proc/swaps writes them, that do not exist on this host. Pure.
 */
export function parseProcSwaps(text: string, invisible: ReadonlySet<string> = new Set()): ActiveSwap[] {
  return text
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [path = '', type = '', size = '0', used = '0', priority = '0'] = line.trim().split(/\s+/);
      return { path: unescapeField(path), type, sizeKiB: Number(size), usedKiB: Number(used), priority: Number(priority), visible: !invisible.has(path) };
    });
}

/** Parses the probe's output; pure, tested from captured output. */
export function parseSwapState(stdout: string): SwapState {
  const fields = parseFieldLines(stdout);
  const swaps = field(fields, 'swaps');
  const systemd = field(fields, 'systemd');
  if (swaps === undefined || systemd === undefined) throw new FactError('swap', `unexpected probe output: ${JSON.stringify(stdout.slice(0, 300))}`);
  const fstabResolved = new Map<string, string>();
  for (const line of fields.get('resolve') ?? []) {
    const [spec = '', resolved = ''] = line.split(' ');
    fstabResolved.set(fromBase64(spec), fromBase64(resolved).replace(/\n$/, ''));
  }
  const pairs = (name: string) =>
    (fields.get(name) ?? []).map((line) => {
      const space = line.indexOf(' ');
      return space < 0 ? ([line, ''] as const) : ([line.slice(0, space), line.slice(space + 1).trim()] as const);
    });
  const device = field(fields, 'device');
  const target = field(fields, 'target');
  return {
    active: parseProcSwaps(fromBase64(swaps), new Set((fields.get('invisible') ?? []).map(fromBase64))),
    fstabResolved,
    ...(device !== undefined ? { deviceResolved: fromBase64(device).replace(/\n$/, '') } : {}),
    systemd: systemd === 'yes',
    ...(systemd === 'yes' && target !== undefined ? { swapTarget: target } : {}),
    units: pairs('unit').map(([name, load]) => ({ name, load })),
    deviceUnits: pairs('devunit').map(([name, state]) => ({ name, state })),
  };
}

/** A fact for all swap, or for one device, with or without systemd's swap units; re-read after any change on the host. */
export function swapState(device?: string, units = true): Fact<SwapState> {
  return {
    key: `swap:${device ?? ''}:${units ? 'units' : 'no units'}`,
    script: swapStateScript(device, units),
    parse: (output) => {
      if (output.exitCode !== 0) throw new FactError('swap', `the probe failed (exit ${output.exitCode}): ${output.stderr.trim()}`);
      return parseSwapState(output.stdout);
    },
  };
}
