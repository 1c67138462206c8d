/**
 * The running hostname (the kernel's, as `uname -n` prints it) and the tools available to change it:
 * hostnamectl (only useful while systemd runs as PID 1, since it talks to systemd-hostnamed) or `hostname`.
 * The name kept for the next boot, /etc/hostname, is read with the file-state probe.
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';

export interface HostnameState {
  /** The kernel's hostname now. */
  current: string;
  /** systemd is PID 1 and hostnamectl is installed: changes go through systemd-hostnamed. */
  hostnamectl: boolean;
  /** The `hostname` program is installed. */
  hostnameTool: boolean;
}

export const HOSTNAME_SCRIPT = sh`printf 'current=%s\\n' "$(base64 -w0 < /proc/sys/kernel/hostname)"
if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; then echo hostnamectl=yes; else echo hostnamectl=no; fi
if command -v hostname >/dev/null 2>&1; then echo hostname=yes; else echo hostname=no; fi
`;

/** Parses the probe's output; pure, tested from captured output. */
export function parseHostnameState(stdout: string): HostnameState {
  const fields = parseFieldLines(stdout);
  const current = field(fields, 'current');
  if (current === undefined || field(fields, 'hostnamectl') === undefined) {
    throw new FactError('hostname', `unexpected probe output: ${JSON.stringify(stdout.slice(0, 300))}`);
  }
  return {
    current: fromBase64(current).replace(/\n$/, ''),
    hostnamectl: field(fields, 'hostnamectl') === 'yes',
    hostnameTool: field(fields, 'hostname') === 'yes',
  };
}

/** Not stable: a task may rename the host. */
export const hostnameState: Fact<HostnameState> = {
  key: 'hostname',
  script: HOSTNAME_SCRIPT,
  parse: (output) => {
    if (output.exitCode !== 0) throw new FactError('hostname', `the probe failed (exit ${output.exitCode}): ${output.stderr.trim()}`);
    return parseHostnameState(output.stdout);
  },
};
