/**
 * swapoff: turn swap off now and keep it off after a reboot — what kubelet requires.
 *
 * Turns off every active swap area (or the one `device`), one `swapoff` per area so that the plan says
 * exactly which ones; comments out the matching swap entries of /etc/fstab (the line is kept behind
 * `# `, so undoing it is one edit; a commented line is never touched again); and, with
 * `maskSwapUnits`, masks swap.target and systemd's swap units, as kubespray does, so that no generator
 * (GPT auto-discovery, a unit file) turns swap back on at boot.
 *
 * @example
 *   await t.swapoff('no swap for kubelet', { maskSwapUnits: true });
 *   await t.swapoff('drop the old swap file', { device: '/swapfile' });
 */
import { sh } from '../runner/command.ts';
import { combinePlans, defineModule, noChange, type Change, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { planFileContent } from './lib/file-content.ts';
import { hostPath } from './lib/host-path.ts';
import { decodeHostText, encodeHostText } from '../runner/host-text.ts';
import { readFactAndFileState } from './facts/file-state.ts';
import { parseFstab, unescapeField, type FstabEntry } from './facts/fstab.ts';
import { swapState, type ActiveSwap, type SwapState } from './facts/swap-state.ts';

const FSTAB = '/etc/fstab';

const params = s.object({
  /**
   * One swap area to turn off: a device or file path (`/swapfile`, `/dev/vdb2`) or `UUID=…`/`LABEL=…`.
   * Default: all swap.
   */
  // A path is normalised as every host path is (`/dev//vdb2` is the device /proc/swaps names /dev/vdb2).
  device: s
    .union<string, string>(
      hostPath({ what: 'an absolute path', root: false, noControl: true }),
      s.string({ pattern: /^(UUID|LABEL|PARTUUID|PARTLABEL)=[^\s]+$/, what: 'UUID=…, LABEL=…, PARTUUID=… or PARTLABEL=…' }),
    )
    .optional(),
  /** Comment out the matching swap entries of /etc/fstab so swap stays off after a reboot. */
  fstab: s.boolean().default(true),
  /** Also mask systemd swap units (and swap.target when turning off all swap), so nothing starts swap at boot. */
  maskSwapUnits: s.boolean().default(false),
});

export type SwapoffParams = InputOf<typeof params>;
type Resolved = OutputOf<typeof params>;

export const swapoff = defineModule({
  name: 'swapoff',
  summary: 'turn swap off now and at boot (comment out fstab entries, optionally mask swap units)',
  params,
  async plan(p, host) {
    // The swap areas and fstab in one probe: one round trip.
    const [state, fstab] = p.fstab
      ? await readFactAndFileState(host, swapState(p.device, p.maskSwapUnits), FSTAB, { content: 'always', follow: true })
      : [await host.fact(swapState(p.device, p.maskSwapUnits)), undefined];
    const matching = activeTargets(p, state);
    const targets = matching.filter((area) => area.visible);
    const elsewhere = matching.filter((area) => !area.visible).map((area) => area.path);
    const plans: Plan[] = [{ changes: targets.map(swapoffChange) }];
    if (fstab && fstab.kind === 'file') {
      const before = decodeHostText(fstab.content ?? Buffer.alloc(0));
      const edit = commentOutSwapEntries(before, (entry) => fstabEntryMatches(entry, p.device, state));
      if (edit.text !== before) {
        const write = await planFileContent({ path: fstab.path, content: encodeHostText(edit.text), follow: true }, host, fstab);
        const what = `comment out swap ${edit.commented.length === 1 ? 'entry' : 'entries'} ${edit.commented.join(', ')} in ${fstab.path}`;
        plans.push({ ...write, changes: write.changes.map((change) => ({ ...change, summary: `${what} (${change.summary})` })) });
      }
    }
    if (p.maskSwapUnits && state.systemd) plans.push({ changes: unitsToMask(p, state).map(maskChange) });
    const plan = combinePlans(...plans);
    const note = elsewhere.length ? describeElsewhere(elsewhere) : '';
    if (plan.changes.length > 0) {
      if (note) plan.changes[0]!.summary += ` (${note})`;
      return plan;
    }
    return noChange(describeSettled(p, state, elsewhere.length > 0) + (note ? `; ${note}` : ''));
  },
});

function describeSettled(p: Resolved, state: SwapState, elsewhere: boolean): string {
  const what = p.device ? `swap ${p.device} is off` : elsewhere ? 'no swap this host can reach is active' : 'no swap is active';
  const fstab = p.fstab ? (p.device ? `, not enabled in ${FSTAB}` : `, no swap entries enabled in ${FSTAB}`) : '';
  const units = p.maskSwapUnits ? (state.systemd ? ', swap units masked' : ', no systemd (nothing to mask)') : '';
  return `${what}${fstab}${units}`;
}

/**
 * In a container /proc/swaps lists the machine's swap too; swapoff cannot reach an area whose path does
 * not exist here (it fails with "No such file or directory"), so such areas are reported, not planned.
 */
function describeElsewhere(paths: string[]): string {
  return `swap active on the machine but not visible from this host (a container?), to be turned off where it lives: ${paths.join(', ')}`;
}

/** The active areas asked for: all of them, or those that are the asked device (by path or resolved path). */
export function activeTargets(p: { device?: string }, state: SwapState): ActiveSwap[] {
  if (p.device === undefined) return state.active;
  const names = new Set([p.device, state.deviceResolved].filter((name): name is string => Boolean(name)));
  return state.active.filter((area) => names.has(area.path));
}

function swapoffChange(area: ActiveSwap): Change {
  return {
    // Not how much of it is in use: the kernel changes that at any moment, so no prediction could match it.
    summary: `turn off swap ${area.path} (${area.type}, ${area.sizeKiB} KiB)`,
    diff: { kind: 'value', name: `swap ${area.path}`, before: 'on', after: 'off' },
    commands: [
      {
        run: sh`swapoff -- ${area.path}`,
        description: `swapoff ${area.path}`,
        // Turning off swap moves its pages into RAM; a host short of memory refuses.
        diagnose: sh`free -k 2>/dev/null || cat /proc/meminfo`,
      },
    ],
    // Active swap is read only by this module's own probe, which plans the same turn-off again.
    effects: [],
  };
}

/** Whether an fstab entry is a swap entry to disable: every swap entry, or the asked device's. */
export function fstabEntryMatches(entry: FstabEntry, device: string | undefined, state: Pick<SwapState, 'fstabResolved' | 'deviceResolved'>): boolean {
  if (entry.fstype !== 'swap') return false;
  if (device === undefined) return true;
  if (entry.src === device) return true;
  // The probe resolved each src as fstab spells it (octal escapes and all).
  const resolved = [...state.fstabResolved].find(([spec]) => unescapeField(spec) === entry.src)?.[1];
  return Boolean(resolved) && (resolved === device || resolved === state.deviceResolved);
}

/**
 * Pure: fstab's text with the matching entries commented out (`# ` prefixed, the line otherwise kept
 * byte for byte), and which mount sources were commented. Other lines are untouched.
 */
export function commentOutSwapEntries(text: string, matches: (entry: FstabEntry) => boolean): { text: string; commented: string[] } {
  const commented: string[] = [];
  const lines = parseFstab(text).map((line) => {
    if (!line.entry || !matches(line.entry)) return line.text;
    commented.push(line.entry.src);
    return `# ${line.text}`;
  });
  return { text: lines.join('\n'), commented };
}

/** Units to mask: the device's own units, or swap.target and every swap unit systemd knows. */
export function unitsToMask(p: { device?: string }, state: SwapState): Array<{ name: string; before: string }> {
  const wanted: Array<{ name: string; before: string }> = [];
  if (p.device !== undefined) {
    for (const unit of state.deviceUnits) if (unit.state !== 'masked') wanted.push({ name: unit.name, before: unit.state || 'not masked' });
  } else {
    if (state.swapTarget !== 'masked') wanted.push({ name: 'swap.target', before: state.swapTarget || 'not masked' });
    for (const unit of state.units) if (unit.load !== 'masked') wanted.push({ name: unit.name, before: unit.load });
  }
  const seen = new Set<string>();
  return wanted.filter(({ name }) => !seen.has(name) && seen.add(name));
}

function maskChange(unit: { name: string; before: string }): Change {
  return {
    summary: `mask ${unit.name}`,
    diff: { kind: 'value', name: unit.name, before: unit.before, after: 'masked' },
    commands: [{ run: sh`systemctl mask -- ${unit.name}`, description: `systemctl mask ${unit.name}` }],
    effects: [{ kind: 'unit', name: unit.name, state: { enablement: 'masked', loadState: 'masked' } }],
  };
}
