/**
 * Debian version ordering, as dpkg defines it (deb-version(7)): `[epoch:]upstream[-revision]`, where `~`
 * sorts before everything, even the end of the string (so `1.0~rc1` < `1.0`), letters sort before
 * other characters, and digit runs compare as numbers. The apt module needs it to tell an upgrade from a
 * downgrade and to pick the highest version matching `kubelet=1.29.3-*` without asking the host again.
 * Checked against `dpkg --compare-versions` in test/modules/apt.test.ts.
 */

interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

function split(version: string): DebianVersion {
  const colon = version.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(version.slice(0, colon)) ? Number(version.slice(0, colon)) : 0;
  const rest = colon > 0 ? version.slice(colon + 1) : version;
  const dash = rest.lastIndexOf('-');
  return dash > 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

/** The weight dpkg gives one non-digit character; `undefined` is the end of the string. */
function order(char: string | undefined): number {
  if (char === undefined) return 0;
  if (char === '~') return -1;
  if (/[0-9]/.test(char)) return 0;
  if (/[A-Za-z]/.test(char)) return char.charCodeAt(0);
  return char.charCodeAt(0) + 256;
}

const isDigit = (char: string | undefined): boolean => char !== undefined && char >= '0' && char <= '9';

/** dpkg's verrevcmp: alternating non-digit and digit runs. */
function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const difference = order(a[i]) - order(b[j]);
      if (difference !== 0) return Math.sign(difference);
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDifference = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDifference === 0) firstDifference = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDifference !== 0) return Math.sign(firstDifference);
  }
  return 0;
}

/** -1, 0 or 1 as `a` sorts before, equal to or after `b` in dpkg's order. */
export function compareDebianVersions(a: string, b: string): number {
  const left = split(a);
  const right = split(b);
  if (left.epoch !== right.epoch) return left.epoch < right.epoch ? -1 : 1;
  return comparePart(left.upstream, right.upstream) || comparePart(left.revision, right.revision);
}
