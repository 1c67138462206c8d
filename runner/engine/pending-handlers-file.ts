/**
 * The state file that remembers, on a host, the handlers a stopped run notified but did not run there, so
 * the next run of the same playbook runs them even though nothing changes any more (the configuration was
 * written; only the restart is missing). Ansible loses these; drover keeps them on the host they belong to.
 *
 * Where: `/var/lib/drover/pending-handlers/<key>.json` when the login user is root, else
 * `$HOME/.local/state/drover/pending-handlers/<key>.json`; always as the login user (no become), so every
 * run reads it where the last one wrote it whatever the plays' become. `<key>` is derived from the playbook's
 * name (not its path, which differs between controllers). Content:
 * `{"playbook":"web","plays":{"configure":["restart nginx"]}}`.
 *
 * Like every change, it is a module's plan (probe, compare, commands) that the runner executes: it is
 * written atomically (a temporary file renamed over it), and in check mode nothing is written.
 */
import { createHash } from 'node:crypto';
import { sh, type Script } from '../command.ts';
import { FactError, type Fact } from '../facts.ts';
import { defineModule, noChange } from '../module.ts';
import { s } from '../schema.ts';

/** Handlers pending per play name, in the order they were notified. */
export type PendingPlays = Record<string, string[]>;

/** The file's key for a playbook: 16 hex digits of the name's sha256 (any name is a safe file name). */
export function pendingHandlersKey(playbook: string): string {
  return createHash('sha256').update(playbook).digest('hex').slice(0, 16);
}

/** Chooses the directory by the login user, in the shell, so reading and writing agree. */
const DIRECTORY = sh`if [ "$(id -u)" = 0 ]; then d=/var/lib/drover/pending-handlers; else d="\${HOME:-/tmp}/.local/state/drover/pending-handlers"; fi`;

/** What the probe found: no file, a readable file, or one that is not ours to trust (reported, then replaced). */
export type PendingFileState =
  | { kind: 'absent' }
  | { kind: 'present'; text: string; plays: PendingPlays }
  | { kind: 'unreadable'; text: string; problem: string };

/** The state file of a playbook on a host, read in one probe. */
export function pendingHandlersFact(key: string): Fact<PendingFileState> {
  return {
    key: `pending-handlers:${key}`,
    script: readScript(key),
    parse: (output) => {
      if (output.exitCode !== 0)
        throw new FactError(`pending-handlers:${key}`, `reading the state file exited with ${output.exitCode}: ${output.stderr.trim()}`);
      const [marker, ...rest] = output.stdout.split('\n');
      if (marker === 'absent') return { kind: 'absent' };
      if (marker !== 'present') throw new FactError(`pending-handlers:${key}`, `unexpected probe output: ${output.stdout.slice(0, 200)}`);
      return parsePendingFile(rest.join('\n'));
    },
  };
}

function readScript(key: string): Script {
  return sh`${DIRECTORY}
f="$d/"${`${key}.json`}
if [ -f "$f" ]; then echo present; cat -- "$f"; else echo absent; fi`;
}

/** Parses the file's text; anything but the expected shape is "unreadable" with the reason (never a throw). */
export function parsePendingFile(text: string): PendingFileState {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { kind: 'unreadable', text, problem: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const plays = (data as { plays?: unknown } | null)?.plays;
  if (typeof plays !== 'object' || plays === null || Array.isArray(plays)) return { kind: 'unreadable', text, problem: 'no "plays" object' };
  const out: PendingPlays = {};
  for (const [play, names] of Object.entries(plays)) {
    if (!Array.isArray(names) || !names.every((name) => typeof name === 'string'))
      return { kind: 'unreadable', text, problem: `play ${JSON.stringify(play)}: not a list of handler names` };
    if (names.length > 0) out[play] = names;
  }
  return { kind: 'present', text, plays: out };
}

/** The file's exact text for a set of pending handlers (one line: it is compared byte for byte). */
export function renderPendingFile(playbook: string, plays: PendingPlays): string {
  return `${JSON.stringify({ playbook, plays })}\n`;
}

/**
 * Writes the state file (`content`) or removes it (`content` absent). Used by the engine, not by playbooks:
 * it is not in the module registry.
 */
export const pendingHandlersState = defineModule({
  name: 'pending-handlers',
  summary: 'remember (or forget) handlers a stopped run did not run on this host',
  params: s.object({ key: s.string({ pattern: /^[0-9a-f]{16}$/, what: 'a pending-handlers key' }), content: s.string().optional() }),
  async plan(params, host) {
    const current = await host.fact(pendingHandlersFact(params.key));
    const file = `${params.key}.json`;
    if (params.content === undefined) {
      if (current.kind === 'absent') return noChange('no pending handlers remembered');
      return {
        changes: [
          {
            summary: 'forget the pending handlers (they ran)',
            commands: [{ run: sh`${DIRECTORY}\nrm -f -- "$d/"${file}`, description: `remove pending-handlers/${file}` }],
          },
        ],
      };
    }
    if (current.kind !== 'absent' && current.text === params.content) return noChange('pending handlers already remembered');
    return {
      changes: [
        {
          summary: `remember pending handlers in pending-handlers/${file}`,
          // Written beside the file and renamed over it: a run killed half-way leaves the old file or the new one.
          commands: [
            {
              run: sh`${DIRECTORY}
mkdir -p -- "$d"
t="$d/."${file}".tmp.$$"
printf '%s' ${params.content} > "$t"
chmod 600 "$t"
mv -f -- "$t" "$d/"${file}`,
              description: `write pending-handlers/${file}`,
            },
          ],
        },
      ],
    };
  },
});
