/**
 * POSIX shell-like word splitting for INI host lines, as Ansible does it with Python's
 * `shlex.split(line, comments=True)`: whitespace separates words, quotes group (and are removed), a
 * backslash escapes outside single quotes, and an unquoted `#` starts a comment — even in the middle of a
 * word, which is why a password containing `#` must be quoted.
 */

/** Unbalanced quotes or a trailing backslash; the message never repeats the line (it may hold a password). */
export class ShlexError extends Error {
  override name = 'ShlexError';
}

export function shlexSplit(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const finishWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  while (i < line.length) {
    const char = line.charAt(i);
    if (char === ' ' || char === '\t' || char === '\r' || char === '\n') {
      finishWord();
      i++;
    } else if (char === '#') {
      break;
    } else if (char === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShlexError('no closing single quote');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (char === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= line.length) throw new ShlexError('no closing double quote');
        const inner = line.charAt(i);
        if (inner === '"') break;
        // Inside double quotes a backslash escapes only `"` and `\`; before anything else it stays.
        if (inner === '\\' && i + 1 < line.length && (line.charAt(i + 1) === '"' || line.charAt(i + 1) === '\\')) {
          word += line.charAt(i + 1);
          i += 2;
        } else {
          word += inner;
          i++;
        }
      }
      i++;
    } else if (char === '\\') {
      if (i + 1 >= line.length) throw new ShlexError('a backslash at the end of the line escapes nothing');
      word += line.charAt(i + 1);
      inWord = true;
      i += 2;
    } else {
      word += char;
      inWord = true;
      i++;
    }
  }
  finishWord();
  return words;
}
