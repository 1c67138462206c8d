/**
 * What the apt and dnf rehearsals (apt-transaction.ts, rpm-transaction.ts) print and read alike: the
 * host's facts a package's paths depend on, and the text of the small files a later task may diff against.
 */
import { sh, type Script } from '../../runner/command.ts';

/** A file below /etc or a unit file up to this size comes with its text (a later task's diff shows it). */
export const CONTENT_LIMIT = 64 * 1024;

/** `#host`: whether systemd runs (a package's scripts start units only then), and the top-level links. */
export const HOST_SECTION: Script = sh`echo '#host'
if [ -d /run/systemd/system ]; then echo systemd; fi
for top in /*; do if [ -L "$top" ] && [ -d "$top" ]; then echo "link $top $(readlink -f "$top")"; fi; done`;

/** `#content BASE64 PATH` for each small /etc or unit file below `dir` (a package unpacked there). */
export function contentLines(dir: Script): Script {
  return sh`(cd ${dir} && find . -type f -size -${CONTENT_LIMIT / 1024 + 1}k \\( -path './etc/*' -o -path './lib/systemd/system/*' -o -path './usr/lib/systemd/system/*' \\) -printf '%P\\n') |
    while IFS= read -r path; do echo "#content $(base64 -w0 <${dir}/"$path") $path"; done`;
}

export interface HostFacts {
  systemdRunning: boolean;
  /** Top-level directories that are links on the host (`/lib` → `/usr/lib` after the usr merge). */
  hostLinks: Map<string, string>;
}

/** One line of the `#host` section, into `facts`. */
export function readHostLine(line: string, facts: HostFacts): void {
  if (line === 'systemd') facts.systemdRunning = true;
  const link = /^link (\S+) (\S+)$/.exec(line);
  if (link) facts.hostLinks.set(link[1]!, link[2]!);
}

/** A `#content` line: the text of the entry it names, set on that entry. */
export function readContentLine(line: string, byPath: ReadonlyMap<string, { content?: Buffer }>): void {
  const space = line.indexOf(' ', 9);
  const entry = byPath.get(`/${line.slice(space + 1)}`);
  if (entry) entry.content = Buffer.from(line.slice(9, space), 'base64');
}
