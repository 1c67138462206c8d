/**
 * SELinux as the running kernel has it: whether selinuxfs is mounted (SELinux enabled at boot), the
 * current mode, whether `setenforce` is installed, and which policies are installed beside the
 * configuration file. The configuration file itself is read with the file-state fact.
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';

export interface SelinuxState {
  /** selinuxfs is mounted: SELinux was enabled at boot. False on hosts without SELinux and when it is disabled. */
  enabled: boolean;
  /** The current mode when enabled. */
  mode?: 'enforcing' | 'permissive';
  /** `setenforce` (libselinux-utils / selinux-utils) is installed. */
  hasSetenforce: boolean;
  /** Policies installed: the directories beside the configuration file (/etc/selinux/targeted → `targeted`). */
  policies: string[];
}

/** The probe; `configDir` is the directory of the configuration file (/etc/selinux). */
export function selinuxStateScript(configDir: string): ReturnType<typeof sh> {
  return sh`if [ -f /sys/fs/selinux/enforce ]; then printf 'enforce=%s\\n' "$(cat /sys/fs/selinux/enforce)"; else echo enforce=none; fi
if command -v setenforce >/dev/null 2>&1; then echo setenforce=yes; else echo setenforce=no; fi
for d in ${configDir}/*/; do
  if [ -d "$d" ]; then printf 'policy=%s\\n' "$(basename -- "$d" | base64 -w0)"; fi
done
`;
}

/** Parses the probe's output; pure, tested from captured output. */
export function parseSelinuxState(stdout: string): SelinuxState {
  const fields = parseFieldLines(stdout);
  const enforce = field(fields, 'enforce')?.trim();
  if (enforce === undefined || !['0', '1', 'none'].includes(enforce)) {
    throw new FactError('selinux', `unexpected probe output: ${JSON.stringify(stdout.slice(0, 300))}`);
  }
  const state: SelinuxState = {
    enabled: enforce !== 'none',
    hasSetenforce: field(fields, 'setenforce') === 'yes',
    policies: (fields.get('policy') ?? []).map((value) => fromBase64(value).replace(/\n$/, '')),
  };
  if (state.enabled) state.mode = enforce === '1' ? 'enforcing' : 'permissive';
  return state;
}

export function selinuxState(configDir: string): Fact<SelinuxState> {
  return {
    key: `selinux:${configDir}`,
    script: selinuxStateScript(configDir),
    parse: (output) => {
      if (output.exitCode !== 0) throw new FactError('selinux', `the probe failed (exit ${output.exitCode}): ${output.stderr.trim()}`);
      return parseSelinuxState(output.stdout);
    },
  };
}
