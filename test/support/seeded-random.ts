/**
 * Seeded random samples for the "check mode predicts exactly what the real run does" tests: the same
 * seed gives the same sample on every run, so a failing round can be replayed.
 *
 * Two samplers stand on one generator, and they are not interchangeable: for the same seed they pick
 * differently (a fraction scaled to a length vs. the raw value modulo n). Each test keeps the one it was
 * written with, so its seed still yields the sample it was checked against (e.g. one that reaches both
 * outcomes, changed and unchanged).
 *
 * Example:
 *   const { next, pick } = seededSampler(4242); // next() in [0, 1), pick(['a', 'b'])
 *   const random = seededBelow(2024);           // random(3) in 0..2
 */

/** mulberry32 (Tommy Ettinger's small public-domain generator): 32-bit unsigned values. */
function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Fractions in [0, 1), and a pick that scales the next one to the list's length. */
export function seededSampler(seed: number): { next: () => number; pick: <T>(items: readonly T[]) => T } {
  const value = mulberry32(seed);
  const next = (): number => value() / 4294967296;
  return { next, pick: (items) => items[Math.floor(next() * items.length)]! };
}

/** Whole numbers below `n`: the next 32-bit value modulo n. */
export function seededBelow(seed: number): (n: number) => number {
  const value = mulberry32(seed);
  return (n) => value() % n;
}

/** A pick over `seededBelow`: the item at the next index below the list's length. */
export function pickBelow(random: (n: number) => number): <T>(items: readonly T[]) => T {
  return (items) => items[random(items.length)]!;
}
