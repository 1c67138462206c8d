/**
 * shell: run a script on the host, under `set -eu` (and `pipefail` where the shell has it), so the first
 * failing line stops it. Everything else — creates/removes guards, changedWhen/failedWhen, chdir, env,
 * stdin, timeout, readOnly, results — is as in `command` (modules/command.ts), whose planner it uses.
 *
 * The script is shell text by definition: values from variables should go through `env` (quoted, and
 * secrets never on the command line), not be pasted into `cmd`.
 *
 * @example
 *   await t.shell('load images', { cmd: 'for f in /srv/images/*.tar; do ctr -n k8s.io images import "$f"; done', creates: '/srv/images/.loaded' });
 *   await t.shell('swap is off', { cmd: 'test -z "$(swapon --noheadings)"', readOnly: true, failedWhen: (r) => r.rc !== 0 });
 *   await t.shell('write token', { cmd: 'printf %s "$TOKEN" > /etc/k8s-token', env: { TOKEN: secret(token) } });
 */
import { Script, sh } from '../runner/command.ts';
import { defineModule } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { planRun, runParams } from './command.ts';
import { hostPath } from './lib/host-path.ts';

const params = s.object({
  /** The script. It runs under `set -eu` with /bin/sh, or with `executable` if given. */
  // Blanks alone are no script: the task would "run" and change nothing, reported as done.
  cmd: s.string({ nonEmpty: true, pattern: /\S/, what: 'a shell script' }),
  /** A different shell to run the script with, e.g. `/bin/bash` for bash syntax; it gets `-eu` too. */
  executable: hostPath({ what: 'an absolute path to a shell, e.g. /bin/bash', root: false, noControl: true }).optional(),
  ...runParams,
});

export type ShellParams = InputOf<typeof params>;

export const shell = defineModule({
  name: 'shell',
  summary: 'Run a shell script (set -eu); creates/removes guards, changedWhen/failedWhen',
  params,
  async plan(p, host) {
    // With /bin/sh the script is the command's body, after the runner's strict prelude. With another
    // shell, the script is one quoted argument to it, so nothing in it is seen by /bin/sh.
    const body = p.executable !== undefined ? sh`exec ${p.executable} -eu -c ${p.cmd} drover-shell` : new Script(p.cmd);
    return planRun({ ...p, body, label: scriptLabel(p.cmd) }, host);
  },
});

/** The script's first non-empty line, shortened, for summaries. */
function scriptLabel(cmd: string): string {
  const lines = cmd
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const first = lines[0] ?? '';
  const label = first.length > 100 ? `${first.slice(0, 97)}...` : first;
  return lines.length > 1 ? `${label} (+${lines.length - 1} more lines)` : label;
}
