/**
 * Whether a saved plan is fresh enough to apply (`run apply --max-plan-age`): no older than the limit, and
 * not dated after now. A plan dated in the future has no age to check: the clock of the machine that made
 * it, or this one, is wrong, or the file was edited, and `now - createdAt` (negative) would pass any limit.
 */

/**
 * How far ahead of this controller's clock a plan may be dated and still count as made now: 5 minutes.
 * The plan is often made on one machine (a laptop, a CI runner) and applied on another, whose clocks agree
 * to well under a second with NTP, but a virtual machine resumed from suspend or a host whose time sync
 * lags can be off by a minute or two. Five minutes is the tolerance Kerberos uses by default for the same
 * question; it is small against any --max-plan-age worth setting (30m and up), so it lets nothing stale
 * through, and a plan dated further ahead points at a clock to fix, not at a plan to trust.
 */
export const PLAN_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Why the plan at `path`, made at `createdAt` (ISO 8601), may not be applied at `now` (ms since the epoch)
 * under --max-plan-age `maxAgeText` (`maxAgeMs`); undefined when it may. The time is passed in, not read.
 */
export function planAgeProblem(path: string, createdAt: string, now: number, maxAgeMs: number, maxAgeText: string): string | undefined {
  const ageMs = now - Date.parse(createdAt);
  if (ageMs < -PLAN_CLOCK_SKEW_MS) {
    return `the plan ${path} is dated ${createdAt}, ${describeAge(-ageMs)} after this controller's clock (${new Date(now).toISOString()}): a plan cannot have been made in the future, so the clock of the machine that made it or of this one is wrong, or the file was edited, and its age cannot be checked; nothing was run. Check both clocks (\`timedatectl\`), then review a fresh plan (--check --save-plan)`;
  }
  if (ageMs > maxAgeMs) {
    return `the plan ${path} was made at ${createdAt}, ${describeAge(ageMs)} ago, longer than --max-plan-age ${maxAgeText} allows: nothing was run; review a fresh plan (--check --save-plan), or raise --max-plan-age`;
  }
  return undefined;
}

/** `12 min`, `5 h`, `3 days`: an age in the unit a person reads it in. */
function describeAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
}
