/**
 * Event values as plain data, for every consumer that serialises them (the JSON reporter, the audit log):
 * one definition here rather than one consumer borrowing another's.
 */

/** JSON round trip: Secrets become the mask through their toJSON, class instances plain objects. */
export function toPlain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
