/**
 * Ansible's host patterns, as inventory/manager.py evaluates them:
 *
 *   all, *              every host
 *   web                 a group (its hosts and its children's hosts), or a host
 *   node*, web-?, db[12] a glob (fnmatch) over group names and host names
 *   ~web\d+             a regular expression, anchored at the start only (Python's re.match)
 *   web[0], web[1:]     a subscript: the first host of web, or the second onward (0-based, end inclusive)
 *   a:b or a,b          union
 *   a:&b                intersection
 *   a:!b                exclusion
 *
 * Terms are applied unions first, then intersections, then exclusions, whatever their order in the
 * pattern; a pattern of only `&`/`!` terms starts from `all`. Commas split first; without a comma, `:`
 * splits except inside [...] and in an IPv6 address.
 *
 * Differences from Ansible, on purpose: the result is in inventory order (Ansible keeps the order terms
 * matched in), and a term that matches no host and no group is an error rather than a warning — a typo in
 * `all:!databases` must not silently run on the databases.
 */
import { NO_INVENTORY } from './load.ts';
import { isIPv6 } from 'node:net';
import { HostPatternError, type HostPatternProblem } from './errors.ts';
import { LOCALHOST_NAMES, type Inventory } from './inventory.ts';

/** Splits a pattern into its terms, `&`/`!` prefixes kept. */
export function splitPattern(pattern: string): string[] {
  const trimmed = pattern.trim();
  if (trimmed.includes(','))
    return trimmed
      .split(',')
      .map((term) => term.trim())
      .filter((term) => term !== '');
  if (isIPv6(trimmed)) return [trimmed];
  const terms = trimmed.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
  // Ansible drops what this split cannot place (an unclosed `[`); drover keeps the pattern whole instead, so
  // the term fails loudly rather than matching something else.
  const leftover = terms.reduce((rest, term) => rest.replace(term, ''), trimmed);
  return /^[\s:]*$/.test(leftover) ? terms : [trimmed];
}

export interface SelectOptions {
  /**
   * Return [] instead of throwing when the pattern selects no hosts (a play whose group is empty is
   * skipped). A term naming no host and no group is an error all the same: that is a typo, not an empty group.
   */
  allowEmpty?: boolean;
}

/** The hosts a pattern selects, in inventory order, each once. Throws HostPatternError when it selects none. */
export function selectHosts(inventory: Inventory, pattern: string, options: SelectOptions = {}): string[] {
  const terms = splitPattern(pattern);
  if (terms.length === 0) throw patternError(inventory, pattern, pattern, `host pattern '${pattern}' is empty`, undefined, 'invalid');
  // A pattern that cannot be read is said before any of its terms is matched (`a:&`: the empty term, not `a`).
  for (const term of terms)
    if (term.replace(/^[&!]/, '') === '') throw patternError(inventory, pattern, term, `host pattern '${pattern}' has an empty term`, undefined, 'invalid');
  const unions = terms.filter((term) => !term.startsWith('&') && !term.startsWith('!'));
  const ordered = [...(unions.length > 0 ? unions : ['all']), ...terms.filter((term) => term.startsWith('&')), ...terms.filter((term) => term.startsWith('!'))];
  let selected = new Set<string>();
  for (const term of ordered) {
    const operator = term.startsWith('&') || term.startsWith('!') ? term.charAt(0) : '';
    const matched = new Set(matchTerm(inventory, pattern, term.slice(operator.length)));
    if (operator === '&') selected = new Set([...selected].filter((host) => matched.has(host)));
    else if (operator === '!') selected = new Set([...selected].filter((host) => !matched.has(host)));
    else for (const host of matched) selected.add(host);
  }
  const listed = new Set(inventory.hosts);
  // Implicit localhost is in no group and not in the inventory's order: it comes last.
  const result = [...inventory.hosts.filter((host) => selected.has(host)), ...[...selected].filter((host) => !listed.has(host))];
  if (result.length === 0 && !options.allowEmpty) {
    throw patternError(inventory, pattern, pattern, `host pattern '${pattern}' selects no hosts`);
  }
  return result;
}

/** `--limit`: the hosts of `selected` that `limit` also selects (an intersection), in the same order. */
export function limitHosts(inventory: Inventory, selected: readonly string[], limit: string, options: SelectOptions = {}): string[] {
  if (limit.trim().startsWith('@')) {
    throw patternError(
      inventory,
      limit,
      limit,
      `--limit '${limit}' names a file, which drover does not read`,
      'List the hosts or groups separated by commas instead.',
      'invalid',
    );
  }
  const allowed = new Set(selectHosts(inventory, limit, options));
  const result = selected.filter((host) => allowed.has(host));
  if (result.length === 0 && !options.allowEmpty) {
    throw patternError(inventory, limit, limit, `--limit '${limit}' leaves none of the ${selected.length} selected host(s) (${selected.join(', ')})`);
  }
  return result;
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)[:-]([0-9]*))\]$/;

/** The hosts one term (without its & or !) matches, in inventory order. */
function matchTerm(inventory: Inventory, pattern: string, term: string): string[] {
  if (term === '') throw patternError(inventory, pattern, term, `host pattern '${pattern}' has an empty term`, undefined, 'invalid');
  // A host's exact name is that host, unless a group has the name too: then, as in Ansible, the group's
  // hosts (a host called `all` or `web` must not narrow `all` or `web` to itself; buildInventory warns).
  if (inventory.hosts.includes(term) && !inventory.groups.has(term)) return [term];
  const subscript = term.startsWith('~') ? null : SUBSCRIPT.exec(term);
  const expression = subscript?.[1] ?? term;
  const regex = toRegExp(inventory, pattern, expression);
  const groups = [...inventory.groups.keys()].filter((name) => regex.test(name));
  const matched = new Set<string>();
  for (const group of groups) for (const host of inventory.hostsIn(group)) matched.add(host);
  // As Ansible: host names are tried when no group matched, or when the term is a glob or regex.
  if (groups.length === 0 || /^~|[.?*[]/.test(expression)) {
    for (const host of inventory.hosts) if (regex.test(host)) matched.add(host);
  }
  let hosts = inventory.hosts.filter((host) => matched.has(host));
  if (hosts.length === 0 && groups.length === 0) {
    if (LOCALHOST_NAMES.includes(expression)) return [expression];
    throw patternError(
      inventory,
      pattern,
      term,
      `'${term}' in host pattern '${pattern}' matches no host and no group`,
      subscript
        ? `As in Ansible, the trailing [${term.slice(expression.length + 1, -1)}] is read as a subscript of '${expression}' (which matches nothing); for a character class use ~regex (e.g. ~${expression}[12]) or a glob with letters or ! in the brackets.`
        : undefined,
    );
  }
  if (subscript) hosts = applySubscript(inventory, pattern, term, hosts, subscript);
  return hosts;
}

function applySubscript(inventory: Inventory, pattern: string, term: string, hosts: string[], match: RegExpExecArray): string[] {
  const [, , index, start, end] = match;
  if (index !== undefined) {
    const position = Number(index);
    const host = hosts.at(position);
    if (host === undefined) {
      throw patternError(inventory, pattern, term, `'${term}': index ${position} is beyond the ${hosts.length} matching host(s)`);
    }
    return [host];
  }
  const first = Number(start);
  const last = end === undefined || end === '' ? hosts.length - 1 : Number(end);
  if (first >= hosts.length) {
    throw patternError(inventory, pattern, term, `'${term}': start ${first} is beyond the ${hosts.length} matching host(s)`);
  }
  return hosts.slice(first, last + 1);
}

function toRegExp(inventory: Inventory, pattern: string, expression: string): RegExp {
  const source = expression.startsWith('~') ? `^(?:${expression.slice(1)})` : `^(?:${globToRegExpSource(expression)})$`;
  try {
    const regex = new RegExp(source, 's');
    // V8 compiles lazily: a too-large expression (a 40,000-character pattern) fails on its first use.
    regex.test('');
    return regex;
  } catch (error) {
    throw patternError(
      inventory,
      pattern,
      expression,
      `'${expression}' in host pattern '${pattern}' is not a valid regular expression (${error instanceof Error ? error.message : String(error)})`,
      'Fix the expression after ~, or drop the ~ to use a glob.',
      'invalid',
    );
  }
}

/** Python's fnmatch.translate: *, ?, [abc], [!abc]; everything else literal; case-sensitive. */
export function globToRegExpSource(glob: string): string {
  let out = '';
  let i = 0;
  while (i < glob.length) {
    const char = glob.charAt(i++);
    if (char === '*') {
      if (!out.endsWith('.*')) out += '.*';
    } else if (char === '?') {
      out += '.';
    } else if (char === '[') {
      let j = i;
      if (glob.charAt(j) === '!') j++;
      if (glob.charAt(j) === ']') j++;
      while (j < glob.length && glob.charAt(j) !== ']') j++;
      if (j >= glob.length) {
        out += '\\[';
      } else {
        let set = glob.slice(i, j).replaceAll('\\', '\\\\');
        i = j + 1;
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        else if (set.startsWith('^')) set = `\\${set}`;
        out += `[${set}]`;
      }
    } else {
      out += char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return out;
}

function patternError(
  inventory: Inventory,
  pattern: string,
  term: string,
  problem: string,
  hint?: string,
  kind: HostPatternProblem = 'no-match',
): HostPatternError {
  const groups = [...inventory.groups.keys()];
  if (inventory.file === NO_INVENTORY) {
    return new HostPatternError(
      pattern,
      term,
      `${problem}. No inventory was given: pass -i INVENTORY (without one only the implicit localhost exists).`,
      groups,
      kind,
    );
  }
  const advice = hint ?? 'Use a host name, a group, a glob (node*), ~regex, a:b, a:&b or a:!b.';
  return new HostPatternError(pattern, term, `${problem}. ${advice} Groups in ${inventory.file}: ${groups.join(', ')}.`, groups, kind);
}
