/**
 * Host files as text without losing a byte. Modules that edit a few lines of a shared file (hosts,
 * sysctl, mount and swapoff on fstab, modprobe, selinux, yum-repository) decode the file, change the lines
 * they manage and write the text back; `Buffer.toString('utf8')` turned every byte that is not UTF-8
 * (`caf\xe9` in a latin-1 comment, a `LABEL=café` written by an old tool) into U+FFFD, and the write
 * then changed lines the module never managed.
 *
 * Decoding here keeps valid UTF-8 as characters and maps each byte that is not part of a valid sequence
 * to a lone low surrogate U+DC80–U+DCFF (Python's "surrogateescape"). Valid UTF-8 never decodes to a lone
 * surrogate, so encoding maps them back to the exact bytes: `encodeHostText(decodeHostText(b))` equals `b`
 * for every `b`. Line splitting, regular expressions and comparisons work on the text as before.
 * Parameters cannot smuggle such surrogates in: the schema refuses strings with lone surrogates.
 */
import { isUtf8 } from 'node:buffer';

const ESCAPE_BASE = 0xdc00;

/** The length of the UTF-8 sequence a lead byte starts, or 0 when it cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** A file's bytes as text; bytes that are not valid UTF-8 become U+DC80–U+DCFF (see the file comment). */
export function decodeHostText(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let text = '';
  let runStart = 0;
  let at = 0;
  while (at < bytes.length) {
    const length = sequenceLength(bytes[at]!);
    if (length > 0 && at + length <= bytes.length && isUtf8(bytes.subarray(at, at + length))) {
      at += length;
      continue;
    }
    text += bytes.subarray(runStart, at).toString('utf8') + String.fromCharCode(ESCAPE_BASE + bytes[at]!);
    at += 1;
    runStart = at;
  }
  return text + bytes.subarray(runStart).toString('utf8');
}

/** Text back to bytes: UTF-8, with each escaped byte (U+DC80–U+DCFF) restored. */
export function encodeHostText(text: string): Buffer {
  if (!/[\udc80-\udcff]/.test(text)) return Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  let run = '';
  for (const char of text) {
    // Iterating by code point keeps a surrogate pair (an astral character) whole; only a lone one is an escape.
    const code = char.charCodeAt(0);
    if (char.length === 1 && code >= 0xdc80 && code <= 0xdcff) {
      if (run) chunks.push(Buffer.from(run, 'utf8'));
      run = '';
      chunks.push(Buffer.of(code - ESCAPE_BASE));
    } else {
      run += char;
    }
  }
  if (run) chunks.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(chunks);
}
