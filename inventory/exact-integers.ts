/**
 * YAML integers that are exact or refused. A YAML integer becomes a JavaScript number, a double, which holds
 * whole numbers exactly only from -(2^53 - 1) to 2^53 - 1: past that, `id: 9007199254740993` would be read
 * as 9007199254740992 without a word (PyYAML, for Ansible, keeps it exact). The INI inventory's Python
 * literals refuse such a number already (python-literal-tokens.ts); this does the same for YAML inventories,
 * group_vars/host_vars files and `-e @FILE` (exactIntegers), and for `-e '{"json": …}'` (inexactJsonInteger).
 */
import type { ScalarTag, Tags } from 'yaml';

const INT = 'tag:yaml.org,2002:int';

/** The message the parser reports (as a TAG_RESOLVE_FAILED error at the value): callers recognise it by this start. */
export const INEXACT_INTEGER = 'an integer that a number cannot hold exactly';

/** The fix, for the callers' hints. */
export const INEXACT_INTEGER_HINT = 'Quote it to keep it as text (an identifier made of digits), or give a number from -9007199254740991 to 9007199254740991.';

/** `customTags` for the yaml package: its own int tags, each resolved exactly (as a bigint) and refused when a number would round it. */
export function exactIntegers(tags: Tags): Tags {
  return tags.map((tag) => (typeof tag !== 'string' && tag.tag === INT && 'test' in tag ? exact(tag as ScalarTag) : tag));
}

function exact(tag: ScalarTag): ScalarTag {
  const resolve = tag.resolve;
  return {
    ...tag,
    resolve(text, onError, options) {
      const value = resolve.call(tag, text, onError, { ...options, intAsBigInt: true });
      if (typeof value !== 'bigint') return value;
      const number = Number(value);
      if (!Number.isSafeInteger(number)) {
        onError(`${INEXACT_INTEGER}: ${text} would be read as ${BigInt(number)}`);
        return text;
      }
      return number;
    },
  };
}

/**
 * The first integer literal in valid JSON text that a number cannot hold exactly (JSON.parse would round
 * it), or undefined. Strings are blanked first, so digits inside them are not numbers.
 */
export function inexactJsonInteger(text: string): string | undefined {
  const outsideStrings = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const [literal] of outsideStrings.matchAll(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g)) {
    if (/^-?\d+$/.test(literal) && !Number.isSafeInteger(Number(literal))) return literal;
  }
  return undefined;
}
