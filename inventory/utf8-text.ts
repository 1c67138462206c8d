/**
 * Variables files are text that drover writes onward to hosts (templates, config files): a byte that is
 * not UTF-8 (a latin-1 `é` saved by an old editor) would otherwise become U+FFFD on the way, silently, and
 * the hosts would get the replacement character. So such a file is refused, naming the line and column of
 * the first bad byte, as a command-line argument that is not UTF-8 is refused.
 */
import { InventoryError } from './errors.ts';

/** Where the first byte that is not part of a valid UTF-8 sequence is, or undefined when all are. */
export function firstInvalidUtf8(bytes: Uint8Array): { line: number; column: number; byte: number } | undefined {
  let line = 1;
  let lineStart = 0;
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index]!;
    if (lead === 0x0a) {
      line++;
      lineStart = index + 1;
    }
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    let valid = length > 0 && index + length <= bytes.length;
    for (let k = 1; valid && k < length; k++) valid = (bytes[index + k]! & 0xc0) === 0x80;
    if (valid && length === 3) {
      const second = bytes[index + 1]!;
      // No overlong forms (E0 80..9F) and no UTF-16 surrogates (ED A0..BF).
      valid = !(lead === 0xe0 && second < 0xa0) && !(lead === 0xed && second > 0x9f);
    }
    if (valid && length === 4) {
      const second = bytes[index + 1]!;
      valid = !(lead === 0xf0 && second < 0x90) && !(lead === 0xf4 && second > 0x8f);
    }
    if (!valid) return { line, column: index - lineStart + 1, byte: lead };
    index += length;
  }
  return undefined;
}

/** The text of a file's bytes, or the reason it is not UTF-8 (for the caller's own error). */
export function decodeUtf8(bytes: Buffer): { text: string } | { problem: string; line: number } {
  const bad = firstInvalidUtf8(bytes);
  if (!bad) return { text: bytes.toString('utf8') };
  return {
    line: bad.line,
    problem: `the file is not UTF-8: byte 0x${bad.byte.toString(16).padStart(2, '0')} at line ${bad.line}, column ${bad.column} is not part of a UTF-8 character`,
  };
}

/** What to do about it. */
export const UTF8_HINT = 'Save the file as UTF-8 (for a latin-1 file: iconv -f latin1 -t utf-8 FILE > FILE.utf8, then check and rename it).';

/** An inventory or vars file's text; one that is not UTF-8 is an InventoryError at its line. */
export function inventoryText(bytes: Buffer, file: string): string {
  const decoded = decodeUtf8(bytes);
  if ('problem' in decoded) throw new InventoryError({ file, line: decoded.line }, decoded.problem, UTF8_HINT);
  return decoded.text;
}
