/**
 * The run-wide cap on command output held in memory (`--max-output`). Each stream's CappedOutput takes
 * bytes from this one budget as it keeps them and gives them back when its command's outcome has been
 * built, so what the controller holds at once is bounded for the whole run — not per stream per host,
 * which grows with hosts × bytes (10 hosts printing 300 MB each held 1.4 GB before this existed).
 *
 * Every stream may still keep its first `floorBytes` whatever the budget says: a probe's few lines are
 * never starved by a neighbour that prints gigabytes, and the floor is small enough that hosts × channels
 * × floor stays modest.
 */

/**
 * Default for `--max-output` (16 MiB): far more than a report shows, and small beside a controller's
 * memory even counting the copies reporters make while they print it.
 */
export const DEFAULT_RUN_OUTPUT_BYTES = 16 * 1024 * 1024;

/** What each stream may keep even when the run's budget is spent. */
export const OUTPUT_FLOOR_BYTES = 64 * 1024;

export class OutputBudget {
  #used = 0;
  /** True once some stream had to drop bytes because the budget was spent. */
  exhausted = false;

  constructor(
    readonly totalBytes: number = DEFAULT_RUN_OUTPUT_BYTES,
    readonly floorBytes: number = OUTPUT_FLOOR_BYTES,
  ) {}

  /** Grants up to `wanted` bytes to a stream that already keeps `kept`; the caller keeps exactly what is granted. */
  take(wanted: number, kept: number): number {
    const fromBudget = Math.max(0, this.totalBytes - this.#used);
    const fromFloor = Math.max(0, this.floorBytes - kept);
    const granted = Math.min(wanted, Math.max(fromBudget, fromFloor));
    if (granted < wanted) this.exhausted = true;
    this.#used += granted;
    return granted;
  }

  /** A finished command's bytes go back to the run. */
  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }

  /** Bytes held now (for tests and diagnostics). */
  get used(): number {
    return this.#used;
  }
}
