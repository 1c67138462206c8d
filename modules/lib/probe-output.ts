/**
 * The output format of drover's own probe scripts: one `name=value` per line, a name possibly repeated
 * (one line per swap device, per key). Values that may hold arbitrary bytes (file names, kernel text)
 * are sent base64-encoded by the script, so no value can break the line structure.
 *
 * A probe that asks several things in one round trip (a unit and its files, findmnt and two stats, an
 * iptables rehearsal) prints a marker line `@@name` or `@@name N` before each part; `probeSections`
 * splits the output at those lines.
 */

/** name → every value printed under it, in order. Lines without `=` are ignored. */
export function parseFieldLines(stdout: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const name = line.slice(0, at);
    const values = fields.get(name) ?? [];
    values.push(line.slice(at + 1));
    fields.set(name, values);
  }
  return fields;
}

/** The first value printed under `name`, or undefined. */
export function field(fields: Map<string, string[]>, name: string): string | undefined {
  return fields.get(name)?.[0];
}

/** Decodes a base64 value as UTF-8 text. */
export function fromBase64(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

/**
 * Splits probe output at marker lines `@@name` or `@@name N` into named sections ("name" or "name N"),
 * each the text between its marker and the next, lines joined by newlines. Lines before the first marker
 * belong to no section; a repeated marker starts its section afresh. Only a whole line is a marker, so a
 * section's own lines must never start with `@@` (name=value lines and base64 values cannot).
 *
 * @example
 *   probeSections('@@unit\nId=a.service\n@@file 0\nkind=absent\n') // Map { 'unit' => 'Id=a.service', 'file 0' => 'kind=absent\n' }
 */
export function probeSections(stdout: string): Map<string, string> {
  const found = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const match = /^@@([a-z-]+)(?: (\d+))?$/.exec(line);
    if (match) {
      current = [];
      found.set(match[2] === undefined ? match[1]! : `${match[1]} ${match[2]}`, current);
    } else current?.push(line);
  }
  return new Map([...found].map(([key, lines]) => [key, lines.join('\n')]));
}
