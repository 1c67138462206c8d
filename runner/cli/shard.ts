/**
 * `--shard I/N`: one of N parts of the selected hosts, so N controllers (a Kubernetes Indexed Job, a CI
 * matrix) can run one playbook over a fleet too big for one. I runs from 1 to N.
 *
 * A host's shard is chosen by rendezvous (highest-random-weight) hashing: for each shard index i in 1..N
 * the weight is sha256(name + '\0' + i), and the host goes to the shard of the highest weight. So:
 * - the N shards partition the hosts exactly (each host has exactly one highest weight);
 * - a host's shard depends only on its name and N, not on which other hosts are selected, so every
 *   controller computes the same split with no coordination, whatever order the inventory lists hosts in,
 *   and a play's own pattern narrows the same split as the run's whole selection;
 * - adding or removing a host moves no other host (`index mod N` over a sorted list would move most of
 *   them); changing N moves only about 1/N of the hosts, those whose new highest weight is the new shard.
 */
import { createHash } from 'node:crypto';
import { MAX_SHARDS, type ShardInfo } from '../events.ts';

export interface Shard {
  /** 1-based: 1 ≤ index ≤ count. */
  index: number;
  count: number;
}

/** What a shard's run-start record says about the whole run's selection, so a merge can check the parts belong together. */
export type ShardRecord = ShardInfo;

/**
 * Parses `I/N` (1 ≤ I ≤ N), exactly: like every number-valued option (--forks, --timeout) no space around
 * it (a stray space usually means a shell variable went wrong). Anything else is a problem naming the
 * value and the form (options.ts makes it a UsageError).
 */
export function parseShard(text: string): Shard | { problem: string } {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const hint = 'for a 0-based index such as a Kubernetes JOB_COMPLETION_INDEX, pass --shard $((JOB_COMPLETION_INDEX + 1))/N';
  if (!match) return { problem: `--shard takes I/N (this controller's part I of N, 1 ≤ I ≤ N), got ${JSON.stringify(text)}; ${hint}` };
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || count > MAX_SHARDS) return { problem: `--shard ${text}: the number of shards N must be from 1 to ${MAX_SHARDS}` };
  if (index < 1 || index > count) {
    return { problem: `--shard ${text}: the shard I must be from 1 to ${count} (shards are numbered from 1)${index === 0 ? `; ${hint}` : ''}` };
  }
  return { index, count };
}

/** The shard (1..count) a host belongs to: the index of the highest sha256(name + '\0' + index). */
export function shardOf(name: string, count: number): number {
  let best = 1;
  let bestWeight = '';
  for (let index = 1; index <= count; index++) {
    // Hex digests of equal length compare as the numbers they spell.
    const weight = createHash('sha256').update(`${name}\0${index}`).digest('hex');
    if (weight > bestWeight) {
      best = index;
      bestWeight = weight;
    }
  }
  return best;
}

/** The hosts of one shard, in the order given. */
export function shardHosts<T extends { name: string }>(hosts: readonly T[], shard: Shard): T[] {
  return hosts.filter((host) => shardOf(host.name, shard.count) === shard.index);
}

/** sha256 of the sorted, de-duplicated host names joined by newlines: the same for every shard of one run. */
export function selectionDigest(names: readonly string[]): string {
  return createHash('sha256')
    .update([...new Set(names)].sort().join('\n'))
    .digest('hex');
}

/**
 * A run's hosts under --shard (all of them without it), the shard's run-start fields, and the warning
 * for a shard left with no hosts: that part of the run has nothing to do and exits 0, so a Job's pod or
 * a matrix job for it succeeds, and its audit log still says which part it was for `audit merge`.
 */
export function applyShard<T extends { name: string }>(
  selected: readonly T[],
  shard: Shard | undefined,
): { hosts: T[]; record?: ShardRecord; warnings: string[] } {
  if (!shard) return { hosts: [...selected], warnings: [] };
  const hosts = shardHosts(selected, shard);
  const record: ShardRecord = {
    ...shard,
    selectedHosts: selected.length,
    selectedDigest: selectionDigest(selected.map((host) => host.name)),
    hosts: hosts.length,
  };
  const warnings =
    hosts.length === 0
      ? [`shard ${shard.index}/${shard.count} holds none of the ${selected.length} selected host(s): nothing to do here (exit 0); the other shards run them`]
      : [];
  return { hosts, record, warnings };
}
