/**
 * The output format of drover's own probe scripts: one `name=value` per line, a name possibly repeated
 * (one line per swap device, per key). Values that may hold arbitrary bytes (file names, kernel text)
 * are sent base64-encoded by the script, so no value can break the line structure.
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
