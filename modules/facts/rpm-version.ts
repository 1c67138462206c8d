/**
 * RPM version ordering (rpm's rpmvercmp, and epoch:version-release on top of it): alphanumeric segments
 * compared one by one, digit segments as numbers and newer than letter segments, `~` sorting before
 * everything (pre-releases) and `^` after the end of the string (snapshots). The yum module needs it to
 * tell an upgrade from a downgrade and to pick the newest available build without another round trip.
 * Checked against rpm's own `rpm.vercmp` in test/modules/yum.test.ts.
 */

/** An RPM package version as rpm stores it. */
export interface Evr {
  epoch: number;
  version: string;
  release: string;
}

const isDigit = (char: string | undefined): boolean => char !== undefined && char >= '0' && char <= '9';
const isAlpha = (char: string | undefined): boolean => char !== undefined && /[A-Za-z]/.test(char);
const isAlnum = (char: string | undefined): boolean => isDigit(char) || isAlpha(char);

/** -1, 0 or 1, as rpmvercmp: compares one version (or release) string. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const same = numeric ? isDigit : isAlpha;
    let endA = i;
    let endB = j;
    while (endA < a.length && same(a[endA])) endA++;
    while (endB < b.length && same(b[endB])) endB++;
    // A digit segment is newer than a letter segment.
    if (endB === j) return numeric ? 1 : -1;
    let segmentA = a.slice(i, endA);
    let segmentB = b.slice(j, endB);
    if (numeric) {
      segmentA = segmentA.replace(/^0+/, '');
      segmentB = segmentB.replace(/^0+/, '');
      if (segmentA.length !== segmentB.length) return segmentA.length > segmentB.length ? 1 : -1;
    }
    if (segmentA !== segmentB) return segmentA < segmentB ? -1 : 1;
    i = endA;
    j = endB;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** -1, 0 or 1: epoch first, then version, then release. */
export function compareEvr(a: Evr, b: Evr): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
}

/** `1.29.3-150500.1.1`, with `2:` in front when the epoch is not 0: how dnf and people write it. */
export function formatEvr(evr: Evr): string {
  return `${evr.epoch ? `${evr.epoch}:` : ''}${evr.version}-${evr.release}`;
}
