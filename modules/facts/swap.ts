/**
 * Swap in short: its total and the active swap areas (/proc/swaps). The swapoff module needs more
 * (fstab resolution, systemd units): that is swapState in swap-state.ts. /proc/swaps is not per
 * container: inside one it lists the whole machine's swap (see ActiveSwap.visible).
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';
import { parseProcSwaps, type ActiveSwap } from './swap-state.ts';

export interface SwapFacts {
  /** Sum of the active areas' sizes, KiB; 0 when swap is off (kubelet's precondition). */
  totalKiB: number;
  usedKiB: number;
  areas: ActiveSwap[];
}

const SCRIPT = sh`printf 'swaps=%s\\n' "$(base64 -w0 < /proc/swaps)"
tail -n +2 /proc/swaps | while read -r spec rest; do
  [ -e "$(printf '%b' "$(printf '%s' "$spec" | sed 's/\\\\\\([0-7][0-7][0-7]\\)/\\\\0\\1/g')")" ] || printf 'invisible=%s\\n' "$(printf '%s' "$spec" | base64 -w0)"
done
`;

/** Parses the probe's output; pure. */
export function parseSwapFacts(stdout: string): SwapFacts {
  const fields = parseFieldLines(stdout);
  const swaps = field(fields, 'swaps');
  if (swaps === undefined) throw new FactError('swap', `unexpected probe output: ${JSON.stringify(stdout.slice(0, 200))}`);
  const areas = parseProcSwaps(fromBase64(swaps), new Set((fields.get('invisible') ?? []).map(fromBase64)));
  return {
    totalKiB: areas.reduce((sum, area) => sum + area.sizeKiB, 0),
    usedKiB: areas.reduce((sum, area) => sum + area.usedKiB, 0),
    areas,
  };
}

/** Re-read after any change on the host. */
export const swapFacts: Fact<SwapFacts> = {
  key: 'swap-summary',
  script: SCRIPT,
  parse: (output) => {
    if (output.exitCode !== 0) throw new FactError('swap', `cannot read /proc/swaps (exit ${output.exitCode}): ${output.stderr.trim()}`);
    return parseSwapFacts(output.stdout);
  },
};
