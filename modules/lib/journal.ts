/**
 * A unit's recent journal, for a failed command's diagnosis (`Command.diagnose`).
 *
 * journald receives a service's stdout and stderr through a stream socket and writes them on its own
 * schedule, so right after `systemctl start` returns for a unit that failed, its last lines may not be
 * in the journal yet: reading at once raced the daemon and sometimes showed everything but the error.
 * `journalctl --sync` (systemd 228 and later) makes journald process everything already queued before it
 * answers (the sync is handled after pending stream data), and the process that failed has exited, so
 * its output is queued. Where there is no --sync (systemd 219, EL7), the script reads until two reads a
 * moment apart agree (at most ~3 s, spent only when a command has already failed).
 *
 * The lines that explain an exec failure ("Failed to locate executable /usr/bin/x") come from systemd's
 * forked child, which exits at once. journald tags a line with _SYSTEMD_UNIT by reading the sender's
 * cgroup when the line arrives; on a loaded host the child is already gone and the line has no
 * _SYSTEMD_UNIT, so `journalctl --unit` (which takes UNIT= only from PID 1) never shows it. The child
 * does write UNIT=, so the script matches UNIT= from any sender.
 */
import { sh, type Script } from '../../runner/command.ts';

export interface JournalOptions {
  /** Lines to show (default 20). */
  lines?: number;
  /** What to show when the journal cannot be read (no journald, no permission); default nothing. */
  fallback?: Script;
}

export function unitJournalScript(unit: string, options: JournalOptions = {}): Script {
  const lines = options.lines ?? 20;
  const fallback = options.fallback ?? sh`true`;
  // --unit's own matches, except that UNIT= is taken from any sender, not only PID 1 (see above).
  return sh`read_journal() { journalctl -n ${lines} --no-pager _SYSTEMD_UNIT=${unit} + UNIT=${unit} + COREDUMP_UNIT=${unit} _UID=0 + OBJECT_SYSTEMD_UNIT=${unit} _UID=0 2>/dev/null; }
if journalctl --sync 2>/dev/null; then
  if current=$(read_journal); then printf '%s\\n' "$current"; exit 0; fi
else
  previous=
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    current=$(read_journal) || break
    if [ "$attempt" -gt 1 ] && [ "$current" = "$previous" ]; then printf '%s\\n' "$current"; exit 0; fi
    previous=$current
    sleep 0.3
  done
  if [ -n "$previous" ]; then printf '%s\\n' "$previous"; exit 0; fi
fi
${fallback}`;
}
