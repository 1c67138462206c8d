/**
 * Text as it may be printed: a host or task name, a message, a command's output or a diff reaches
 * terminals, recaps and line-based logs, where a newline splits a line, CR overwrites it, ESC and C1
 * controls repaint the screen (or retitle the window: `\e]0;…\a`) and bidirectional overrides reorder what
 * is shown. The inventory refuses such host names; every printer escapes anyway, with `printable` for a
 * name (one line) and `printableText` for text of many lines, so that nothing from a host, a playbook or a
 * log can forge or hide output.
 */

/** C0 and C1 controls, DEL, line/paragraph separators and bidirectional formatting characters. */
export const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'g');

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

/** The text with each unprintable character written as an escape (`\n`, `\e`, `\x07`, `\u202e`); backslashes kept. */
export function printable(text: string): string {
  if (!UNPRINTABLE.test(text)) return text;
  return text.replace(UNPRINTABLE_ALL, (char) => {
    const code = char.charCodeAt(0);
    return SHORT[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** UNPRINTABLE but for tab, newline, and CR before a newline (a CRLF line end overwrites nothing). */
const UNPRINTABLE_IN_TEXT = /\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text of many lines (output, a message, a diff) with its line breaks (LF, CRLF) and tabs kept and every other
 * unprintable character escaped as `printable` does (`\e`, `\r`, `\x07`, `\u202e`).
 */
export function printableText(text: string): string {
  return text.replace(UNPRINTABLE_IN_TEXT, (char) => printable(char));
}

/** `U+001B`-style name of a character, for error messages. */
export function codePointName(char: string): string {
  return `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}
