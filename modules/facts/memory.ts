/**
 * Memory from /proc/meminfo, in KiB. In a container without lxcfs, /proc/meminfo is the whole machine's.
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';

export interface MemoryFacts {
  totalKiB: number;
  /** MemAvailable: what can be allocated without swapping (kernel's estimate). */
  availableKiB: number;
  swapTotalKiB: number;
  swapFreeKiB: number;
}

const SCRIPT = sh`cat /proc/meminfo`;

/** /proc/meminfo text → every `Name: N kB` line as name → N. Pure. */
export function parseMeminfo(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9_()]+):\s+(\d+)/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  return values;
}

/** Parses the probe's output; pure. */
export function parseMemoryFacts(stdout: string): MemoryFacts {
  const values = parseMeminfo(stdout);
  const total = values.get('MemTotal');
  if (total === undefined) throw new FactError('memory', `no MemTotal in /proc/meminfo: ${JSON.stringify(stdout.slice(0, 200))}`);
  return {
    totalKiB: total,
    // Kernels before 3.14 have no MemAvailable; MemFree is the closest they offer.
    availableKiB: values.get('MemAvailable') ?? values.get('MemFree') ?? 0,
    swapTotalKiB: values.get('SwapTotal') ?? 0,
    swapFreeKiB: values.get('SwapFree') ?? 0,
  };
}

/** Re-read after any change on the host (available memory moves all the time). */
export const memoryFacts: Fact<MemoryFacts> = {
  key: 'memory',
  script: SCRIPT,
  parse: (output) => {
    if (output.exitCode !== 0) throw new FactError('memory', `cannot read /proc/meminfo (exit ${output.exitCode}): ${output.stderr.trim()}`);
    return parseMemoryFacts(output.stdout);
  },
};
