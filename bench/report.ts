/**
 * The benchmark's figures: median and spread over repetitions, the Markdown table, and the ratios the
 * issue's targets are stated in (drover against Ansible on re-runs and dry runs, against the floor on a
 * first apply). Pure: the samples in, text out.
 */
import { PHASE_TITLES, PHASES, TOOLS, type Phase, type Tool } from './tools.ts';

export interface Sample {
  hosts: number;
  tool: Tool;
  phase: Phase;
  rep: number;
  exitCode: number;
  wallMs: number;
  cpuMs: number;
  peakRssBytes: number;
  peakProcesses: number;
  changes: number;
}

export interface Summary {
  hosts: number;
  tool: Tool;
  phase: Phase;
  runs: number;
  wall: Spread;
  cpu: Spread;
  rss: Spread;
  /** Changes reported in each run (should be 0 on a second apply and a dry run). */
  changes: number[];
  /** Runs that exited non-zero. */
  failures: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export function summarize(samples: readonly Sample[]): Summary[] {
  const summaries: Summary[] = [];
  const sizes = [...new Set(samples.map((sample) => sample.hosts))].sort((a, b) => a - b);
  for (const hosts of sizes) {
    for (const tool of TOOLS) {
      for (const phase of PHASES) {
        const runs = samples.filter((sample) => sample.hosts === hosts && sample.tool === tool && sample.phase === phase);
        if (runs.length === 0) continue;
        summaries.push({
          hosts,
          tool,
          phase,
          runs: runs.length,
          wall: spread(runs.map((run) => run.wallMs)),
          cpu: spread(runs.map((run) => run.cpuMs)),
          rss: spread(runs.map((run) => run.peakRssBytes)),
          changes: runs.map((run) => run.changes),
          failures: runs.filter((run) => run.exitCode !== 0).length,
        });
      }
    }
  }
  return summaries;
}

/** What is wrong with a summary: a failed run, a first apply that changed nothing, a re-run that changed something. */
export function problems(summary: Summary): string[] {
  const found: string[] = [];
  const what = `${summary.tool} ${PHASE_TITLES[summary.phase]} at N=${summary.hosts}`;
  if (summary.failures > 0) found.push(`${what}: ${summary.failures} of ${summary.runs} run(s) failed`);
  if (summary.phase === 'first' && summary.changes.some((count) => count === 0)) found.push(`${what}: changed nothing on fresh hosts`);
  if (summary.phase !== 'first' && summary.changes.some((count) => count !== 0))
    found.push(`${what}: reported changes (${summary.changes.join(', ')}) on prepared hosts`);
  return found;
}

const seconds = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const megabytes = (bytes: number) => (bytes / 1_000_000).toFixed(0);

function cell(value: Spread, format: (n: number) => string): string {
  // The range only where it shows at this precision.
  return format(value.min) === format(value.max) ? format(value.median) : `${format(value.median)} (${format(value.min)}–${format(value.max)})`;
}

export function markdownTable(summaries: readonly Summary[]): string {
  const lines = [
    '| N | tool | run | wall s, median (min–max) | controller CPU s | controller peak MB | changes | reps |',
    '|---:|---|---|---|---|---|---|---:|',
  ];
  for (const s of summaries) {
    const mark = problems(s).length > 0 ? ' ⚠' : '';
    lines.push(
      `| ${s.hosts} | ${s.tool} | ${PHASE_TITLES[s.phase]} | ${cell(s.wall, seconds)} | ${cell(s.cpu, seconds)} | ${cell(s.rss, megabytes)} | ${[...new Set(s.changes)].join('/')}${mark} | ${s.runs} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function find(summaries: readonly Summary[], hosts: number, tool: Tool, phase: Phase): Summary | undefined {
  return summaries.find((s) => s.hosts === hosts && s.tool === tool && s.phase === phase);
}

/**
 * A regression guard for CI (`--max-ratio`): drover's first apply, when its median wall time is more
 * than `maxRatio` times the floor's at the same N. Only the first apply: its work outweighs drover's
 * start-up (about 1 s), so its ratio holds at about 2× at N = 5, loaded machine or not, while a second
 * apply's (0.4 s of floor against that start-up) swings from 3× to 5× with the load alone.
 */
export function slowerThanFloor(summaries: readonly Summary[], maxRatio: number): string[] {
  const found: string[] = [];
  for (const drover of summaries.filter((s) => s.tool === 'drover' && s.phase === 'first')) {
    const floor = find(summaries, drover.hosts, 'floor', drover.phase);
    // A failed run is a problem of its own (problems()); its time compares nothing.
    if (!floor || drover.failures + floor.failures > 0) continue;
    const ratio = drover.wall.median / floor.wall.median;
    if (ratio > maxRatio)
      found.push(`drover ${PHASE_TITLES[drover.phase]} at N=${drover.hosts}: ${ratio.toFixed(2)}× the floor's time, above --max-ratio ${maxRatio}`);
  }
  return found;
}

/** Which of two summaries had failed runs, for a ratio that would compare a failed run's time. */
function failedRuns(...summaries: Summary[]): string {
  return summaries
    .filter((s) => s.failures > 0)
    .map((s) => `${s.tool}: ${s.failures} of ${s.runs} run(s) failed`)
    .join('; ');
}

/** The targets as ratios of median wall times, one line each, with whether they are met. */
export function ratioLines(summaries: readonly Summary[]): string[] {
  const lines: string[] = [];
  const sizes = [...new Set(summaries.map((s) => s.hosts))].sort((a, b) => a - b);
  for (const hosts of sizes) {
    for (const phase of ['second', 'check'] as const) {
      const drover = find(summaries, hosts, 'drover', phase);
      const ansible = find(summaries, hosts, 'ansible', phase);
      if (drover && ansible) {
        if (drover.failures + ansible.failures > 0) {
          lines.push(`N=${hosts} ${PHASE_TITLES[phase]}: drover against Ansible not comparable (${failedRuns(drover, ansible)})`);
          continue;
        }
        const ratio = ansible.wall.median / drover.wall.median;
        const target = hosts >= 20 ? (ratio >= 20 ? ' (target ≥ 20×: met)' : ' (target ≥ 20×: NOT met)') : '';
        lines.push(`N=${hosts} ${PHASE_TITLES[phase]}: drover ${ratio.toFixed(1)}× faster than Ansible${target}`);
      }
    }
    for (const phase of PHASES) {
      const drover = find(summaries, hosts, 'drover', phase);
      const floor = find(summaries, hosts, 'floor', phase);
      if (drover && floor) {
        if (drover.failures + floor.failures > 0) {
          lines.push(`N=${hosts} ${PHASE_TITLES[phase]}: drover against the floor not comparable (${failedRuns(drover, floor)})`);
          continue;
        }
        const ratio = drover.wall.median / floor.wall.median;
        const target = phase === 'first' ? (ratio <= 1.5 ? ' (target ≤ 1.5×: met)' : ' (target ≤ 1.5×: NOT met)') : '';
        lines.push(`N=${hosts} ${PHASE_TITLES[phase]}: drover ${ratio.toFixed(2)}× the floor's time${target}`);
      }
    }
  }
  return lines;
}
