/**
 * What the file-state probe (modules/facts/file-state.ts) prints, built from a file's text: recorded
 * answers for planners that read a file through that probe, alone or after a fact in the same probe.
 */
import { FILE_PART_SEPARATOR } from '../../modules/facts/file-state.ts';
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

interface PartAnswer {
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
}

/**
 * Answers a probe as the host's shell would run it: readFactAndFileState's probe (a fact's script, then
 * a file's) part by part, each part answered by `answer` as if it had been sent alone, the outputs joined
 * around the marker line the real separator prints; a failing first part ends the probe (set -e). Any
 * other script is answered whole. So recorded answers stay per fact and per file, whichever way a
 * planner groups its reads.
 */
export async function answerByParts<T extends PartAnswer>(script: string, answer: (part: string) => T | Promise<T>): Promise<T> {
  const separator = script.indexOf(FILE_PART_SEPARATOR.text);
  if (separator < 0) return answer(script);
  const fact = await answer(script.slice(0, separator));
  if ((fact.exitCode ?? 0) !== 0) return fact;
  const file = await answer(script.slice(separator + FILE_PART_SEPARATOR.text.length));
  return { ...file, stdout: `${fact.stdout ?? ''}\n@@file-state 0\n${file.stdout ?? ''}`, stderr: (fact.stderr ?? '') + (file.stderr ?? '') };
}
