/** How file content appears in a diff: the text itself when it can be shown, else its size and hash. */
import { createHash } from 'node:crypto';
import { DIFF_CONTENT_LIMIT } from '../facts/file-state.ts';

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
/** Text for a diff: the content itself when it is small UTF-8 text, else a line naming size and hash. */
export function showable(bytes: Buffer): string {
  if (bytes.length > DIFF_CONTENT_LIMIT) return `(${bytes.length} bytes, sha256 ${sha256Hex(bytes)}; too large to show)`;
  if (bytes.includes(0)) return `(binary content, ${bytes.length} bytes, sha256 ${sha256Hex(bytes)})`;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return `(binary content, ${bytes.length} bytes, sha256 ${sha256Hex(bytes)})`;
  }
}
