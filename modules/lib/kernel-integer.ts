/**
 * Integers as the kernel reads them from /proc/sys, and as it prints them back.
 *
 * Every integer handler (proc_dointvec, proc_douintvec, proc_doulongvec_minmax and the bitmap one) reads
 * a number with proc_get_long, which calls strtoul_lenient(…, base 0): like C's strtoul(…, 0), a leading
 * `0` means octal and `0x`/`0X` hexadecimal, so `0600` is 384 and `08` is refused (EINVAL). A `-` is taken,
 * a `+` is not; a number of 21 characters or more, or above the 64-bit range, is refused too.
 * https://github.com/torvalds/linux/blob/v6.18/kernel/sysctl.c (proc_get_long) and, in the same tree,
 * lib/kstrtox.c (_parse_integer_fixup_radix). The kernel prints integers in decimal (proc_put_long).
 *
 * @example
 *   readKernelInteger('0600'); // { kind: 'integer', value: 384n }
 *   readKernelInteger('08');   // { kind: 'refused', why: '…a leading 0 as octal…', instead: '8 for the decimal number…' }
 *   readKernelInteger('cubic'); // { kind: 'not-a-number' }
 */

/** What the kernel makes of one whitespace-separated token written to an integer sysctl. */
export type KernelIntegerReading =
  | { kind: 'integer'; value: bigint }
  /** Written like a number, but the kernel answers EINVAL: why, and what to write instead. */
  | { kind: 'refused'; why: string; instead: string }
  /** Not written like a number (`cubic`, `8080,9148`): compared as text. */
  | { kind: 'not-a-number' };

/** Optional sign, then decimal digits or a 0x prefix: what a person writing a number writes. */
const NUMBER_LIKE = /^([+-]?)(\d+|0[xX][0-9A-Za-z]*)$/;
/** proc_get_long reads at most TMPBUFLEN - 1 = 21 characters and refuses a number that fills them. */
const MAX_CHARACTERS = 20;
/** strtoul_lenient refuses what does not fit an unsigned long (64-bit kernels). */
const ULONG_MAX = 2n ** 64n - 1n;

/** How the kernel reads `token` (one field of a value); pure. */
export function readKernelInteger(token: string): KernelIntegerReading {
  const match = NUMBER_LIKE.exec(token);
  if (!match) return { kind: 'not-a-number' };
  const sign = match[1]!;
  const body = match[2]!;
  const hex = /^0[xX]/.test(body);
  if (hex && !/^0[xX][0-9A-Fa-f]+$/.test(body)) {
    return {
      kind: 'refused',
      why: `${body.slice(0, 2)} starts a hexadecimal number, and hexadecimal digits (0-9, a-f) must follow it`,
      instead: 'a hexadecimal number such as 0x1f, or a decimal one',
    };
  }
  const negative = sign === '-' ? '-' : '';
  if (!hex && /^0\d*[89]/.test(body)) {
    return {
      kind: 'refused',
      why: 'the kernel reads a number with a leading 0 as octal, and 8 and 9 are not octal digits',
      instead: `${negative}${body.replace(/^0+(?=\d)/, '')} for the decimal number (without the leading 0)`,
    };
  }
  const magnitude = BigInt(hex || !body.startsWith('0') ? body : `0o${body}`);
  const value = sign === '-' ? -magnitude : magnitude;
  if (sign === '+') {
    return { kind: 'refused', why: 'the kernel takes a - sign but not a + sign', instead: `${token.slice(1)} (without the +)` };
  }
  if (magnitude > ULONG_MAX) {
    return { kind: 'refused', why: `the kernel reads no number above ${ULONG_MAX}`, instead: 'a number in range for the key' };
  }
  if (token.length > MAX_CHARACTERS) {
    return {
      kind: 'refused',
      why: `the kernel reads at most ${MAX_CHARACTERS} characters of a number`,
      instead: String(value).length <= MAX_CHARACTERS ? `${value} (the same number without leading zeros)` : 'a number in range for the key',
    };
  }
  return { kind: 'integer', value };
}

/**
 * Whether a token is one the kernel's integer handlers could have printed: canonical decimal. A live
 * value with any other token (`lab-3`, `(none)`, `0600`) belongs to a text sysctl (proc_dostring), which
 * stores whatever it is given.
 */
export function printedByIntegerHandler(token: string): boolean {
  return /^(0|-?[1-9]\d*)$/.test(token);
}
