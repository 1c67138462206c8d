/**
 * What the file-state probe (modules/facts/file-state.ts) prints, built from a file's text: recorded
 * answers for planners that read a file through that probe.
 */
import type { RecordedAnswer } from './recorded-host.ts';

/**
 * The probe's output for a regular file holding `text` (or for no file, when `text` is null). `stat` is
 * "mode uid gid owner group"; the size and content are those of `text` (a file whose bytes are fetched
 * is hashed by the controller, so the probe prints no sha256 for it).
 */
export function fileProbe(text: string | null, stat = '644 0 0 root root'): string {
  if (text === null) return 'parent=yes\nkind=absent\n';
  const [mode, uid, gid, owner, group] = stat.split(' ');
  const bytes = Buffer.from(text);
  return `parent=yes\nkind=file\nstat=${mode} ${uid} ${gid} ${bytes.length} ${owner} ${group}\ncontent=${bytes.toString('base64')}\n`;
}

/**
 * A RecordedHost answer giving `fileProbe(text)` to the file-state probe. `match` picks the probe: the
 * default matches any file-state script; `p=<path>\n` matches the one for that path.
 */
export function fileProbeAnswer(text: string | null, match = 'sha256sum'): RecordedAnswer {
  return { match, output: { stdout: fileProbe(text) } };
}
