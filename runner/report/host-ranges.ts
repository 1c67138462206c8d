/**
 * Host names folded into compact ranges for reports, in the inventory's own range syntax, so that a group
 * of eighteen hosts reads as one word: `compactHosts(['node01', …, 'node18', 'db1'])` →
 * `['db1', 'node[01:18]']`; gaps become a list inside the brackets: `node[01:03,05]`.
 *
 * Only the last run of digits varies within a range; names differing elsewhere stay apart. Zero padding is
 * kept exact (node01 and node1 are different hosts), so every range expands back to exactly its hosts.
 */

interface NumberedName {
  prefix: string;
  digits: string;
  suffix: string;
}

const NUMBERED = /^(.*?)(\d+)(\D*)$/;

export function compactHosts(names: Iterable<string>): string[] {
  const plain: string[] = [];
  // prefix, suffix and width (for zero-padded numbers; 'n' for unpadded) → the numbers.
  const families = new Map<string, { prefix: string; suffix: string; width: number | undefined; numbers: Set<number>; digits: Map<number, string> }>();
  for (const name of new Set(names)) {
    const parts = split(name);
    if (!parts) {
      plain.push(name);
      continue;
    }
    const padded = parts.digits.length > 1 && parts.digits.startsWith('0');
    // Numbers too long to be exact as a JavaScript number are not ranged.
    if (parts.digits.length > 15) {
      plain.push(name);
      continue;
    }
    const width = padded ? parts.digits.length : undefined;
    const key = JSON.stringify([parts.prefix, parts.suffix, width ?? 'n']);
    let family = families.get(key);
    if (!family) {
      family = { prefix: parts.prefix, suffix: parts.suffix, width, numbers: new Set(), digits: new Map() };
      families.set(key, family);
    }
    const value = Number(parts.digits);
    family.numbers.add(value);
    family.digits.set(value, parts.digits);
  }
  // An unpadded number as wide as a padded family (node10 beside node01…node09) belongs to that family.
  for (const family of [...families.values()]) {
    if (family.width !== undefined) continue;
    for (const value of [...family.numbers]) {
      const digits = family.digits.get(value)!;
      const padded = families.get(JSON.stringify([family.prefix, family.suffix, digits.length]));
      if (padded && padded !== family) {
        padded.numbers.add(value);
        padded.digits.set(value, digits);
        family.numbers.delete(value);
      }
    }
  }
  const out: Array<{ sort: string; text: string }> = plain.map((name) => ({ sort: name, text: name }));
  for (const family of families.values()) {
    const numbers = [...family.numbers].sort((a, b) => a - b);
    if (numbers.length === 0) continue;
    const show = (value: number) => family.digits.get(value)!;
    if (numbers.length === 1) {
      out.push({ sort: `${family.prefix}${show(numbers[0]!)}`, text: `${family.prefix}${show(numbers[0]!)}${family.suffix}` });
      continue;
    }
    const runs: string[] = [];
    for (let start = 0; start < numbers.length; ) {
      let end = start;
      while (end + 1 < numbers.length && numbers[end + 1] === numbers[end]! + 1) end++;
      runs.push(end === start ? show(numbers[start]!) : `${show(numbers[start]!)}:${show(numbers[end]!)}`);
      start = end + 1;
    }
    out.push({ sort: `${family.prefix}${show(numbers[0]!)}`, text: `${family.prefix}[${runs.join(',')}]${family.suffix}` });
  }
  return out.sort((a, b) => a.sort.localeCompare(b.sort, 'en', { numeric: true }) || (a.sort < b.sort ? -1 : 1)).map((entry) => entry.text);
}

function split(name: string): NumberedName | undefined {
  const match = NUMBERED.exec(name);
  if (!match) return undefined;
  return { prefix: match[1]!, digits: match[2]!, suffix: match[3]! };
}
