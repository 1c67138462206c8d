/**
 * Escaping for reports whose every string (host names, task names, output, diffs) may be hostile. One
 * place decides how text becomes HTML or Markdown, as commands are quoted in one place.
 */

/**
 * Control characters and bidirectional overrides made visible: a terminal escape or a right-to-left
 * override in a host's output must not make a diff read differently from what it is ("Trojan Source").
 */
export function visible(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, (char) => {
    const code = char.codePointAt(0)!;
    return code < 0x20 ? String.fromCodePoint(0x2400 + code) : code === 0x7f ? '\u2421' : `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
  });
}

/** Text for HTML element content and quoted attribute values. */
export function html(text: string): string {
  return visible(text).replace(/[&<>"']/g, (char) => `&#${char.codePointAt(0)};`);
}

/**
 * Text for a line of Markdown outside code: HTML is neutralised (GitHub renders inline HTML) and every
 * character Markdown gives a meaning is backslash-escaped, so a host name cannot become a link, an image,
 * a heading or a table cell break. Newlines become spaces: one value, one line. The renderer never puts
 * a value at the start of a line (where `-`, `1.` or `---` would mean something), so those stay readable.
 */
export function markdown(text: string): string {
  return visible(text.replace(/\r?\n/g, ' '))
    .replace(/[\\`*_{}[\]()#+!|~]/g, (char) => `\\${char}`)
    .replace(/[&<>]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[char]!);
}

/**
 * A fenced code block for any content: the fence is longer than the longest run of backticks inside, so
 * the content cannot close it (CommonMark). Control characters are made visible.
 */
export function fencedBlock(content: string, language = ''): string {
  const longest = Math.max(0, ...[...content.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${visible(content)}\n${fence}`;
}
