/**
 * /etc/fstab as data: a parser, and pure editors that set or remove the entry for one mount point while
 * keeping every other line (comments, blank lines, odd spacing, entries for other mount points) byte for
 * byte. The mount module edits fstab through these; the swap step of node preparation can read it the
 * same way.
 *
 * Fields are separated by blanks; a blank, tab, newline, backslash or `#` inside a field is written as an
 * octal escape (`\040`…), which mount(8) and systemd-fstab-generator decode (fstab(5)).
 */

export interface FstabEntry {
  /** What is mounted: a device, `UUID=…`, a directory (bind), an image file, `tmpfs`, `host:/export`. */
  src: string;
  /** The mount point (decoded). */
  path: string;
  fstype: string;
  opts: string;
  dump: number;
  passno: number;
}

/** One line of the file: its exact text, and the entry when it is one. */
export interface FstabLine {
  text: string;
  entry?: FstabEntry;
}

/** Splits fstab text into lines (the last one empty when the text ends with a newline). Pure. */
export function parseFstab(text: string): FstabLine[] {
  return text.split('\n').map((line) => {
    const entry = parseEntry(line);
    return entry ? { text: line, entry } : { text: line };
  });
}

function parseEntry(line: string): FstabEntry | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const fields = trimmed.split(/[ \t]+/);
  // Fewer than four fields is not an entry mount(8) would use; such a line is kept, never matched.
  if (fields.length < 4) return undefined;
  const [src, path, fstype, opts, dump, passno] = fields as [string, string, string, string, string | undefined, string | undefined];
  return {
    src: unescapeField(src),
    path: unescapeField(path),
    fstype: unescapeField(fstype),
    opts: unescapeField(opts),
    dump: toNumber(dump),
    passno: toNumber(passno),
  };
}

function toNumber(field: string | undefined): number {
  return field !== undefined && /^\d+$/.test(field) ? Number(field) : 0;
}

/** Decodes `\ooo` octal escapes, as libmount's unmangle does. */
export function unescapeField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Encodes the characters that would split or end a field. */
export function escapeField(field: string): string {
  return field.replace(/[ \t\n\\#]/g, (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** One entry as a line, fields separated by single blanks (as Ansible's mount module writes them). */
export function formatFstabEntry(entry: FstabEntry): string {
  return [entry.src, entry.path, entry.fstype, entry.opts].map(escapeField).join(' ') + ` ${entry.dump} ${entry.passno}`;
}

/** Mount points compare without a trailing slash (`/mnt/data/` is `/mnt/data`). */
function samePath(a: string, b: string): boolean {
  const strip = (path: string) => (path.length > 1 ? path.replace(/\/+$/, '') : path);
  return strip(a) === strip(b);
}

function sameEntry(a: FstabEntry, b: FstabEntry): boolean {
  return a.src === b.src && samePath(a.path, b.path) && a.fstype === b.fstype && a.opts === b.opts && a.dump === b.dump && a.passno === b.passno;
}

/** The entry for a mount point; with several, the first (the one this module keeps). */
export function findFstabEntry(text: string, path: string): FstabEntry | undefined {
  return parseFstab(text).find((line) => line.entry && samePath(line.entry.path, path))?.entry;
}

/**
 * Makes the fstab text hold `entry` for its mount point: the first line for that mount point is kept as
 * it is when it already says the same (spacing included), or replaced in place; later lines for the same
 * mount point are removed (two entries for one mount point conflict at boot); with none, the entry is
 * appended. Every other line is kept exactly. Pure.
 */
export function setFstabEntry(text: string, entry: FstabEntry): string {
  const lines = parseFstab(text);
  const out: string[] = [];
  let placed = false;
  for (const line of lines) {
    if (!line.entry || !samePath(line.entry.path, entry.path)) {
      out.push(line.text);
      continue;
    }
    if (placed) continue;
    out.push(sameEntry(line.entry, entry) ? line.text : formatFstabEntry(entry));
    placed = true;
  }
  if (placed) return out.join('\n');
  const body = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return `${body}${formatFstabEntry(entry)}\n`;
}

/** Removes every line for the mount point, keeping all others exactly. Pure. */
export function removeFstabEntry(text: string, path: string): string {
  return parseFstab(text)
    .filter((line) => !line.entry || !samePath(line.entry.path, path))
    .map((line) => line.text)
    .join('\n');
}
