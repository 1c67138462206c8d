/**
 * OpenSSH host patterns, shared by known_hosts and ~/.ssh/config: `*` matches any run of characters,
 * `?` exactly one, everything else itself, case-insensitively. A list is comma- or space-separated and a
 * pattern starting with `!` negates: a negated match wins over any positive one (OpenSSH's
 * match_pattern_list), so `*.lan,!db.lan` matches every `.lan` host except `db.lan`.
 */

/** Whether one pattern (without `!`) matches the whole of `value`, case-insensitively. */
export function matchPattern(pattern: string, value: string): boolean {
  return globMatch(pattern.toLowerCase(), 0, value.toLowerCase(), 0);
}

/** 'match': a positive pattern matched and no negated one did; 'negated': a negated pattern matched. */
export type PatternListResult = 'match' | 'negated' | 'none';

/** Matches `value` against a list of patterns, as OpenSSH does for Host lines and known_hosts names. */
export function matchPatternList(patterns: readonly string[], value: string): PatternListResult {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (pattern === '' || !matchPattern(pattern, value)) continue;
    if (negated) return 'negated';
    matched = true;
  }
  return matched ? 'match' : 'none';
}

function globMatch(pattern: string, p: number, value: string, v: number): boolean {
  // Iterative with one backtrack point per `*`: linear enough for host names, no regex to escape.
  let starP = -1;
  let starV = 0;
  while (v < value.length) {
    const c = pattern[p];
    if (c === '*') {
      starP = p++;
      starV = v;
    } else if (c !== undefined && (c === '?' || c === value[v])) {
      p++;
      v++;
    } else if (starP >= 0) {
      p = starP + 1;
      v = ++starV;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
