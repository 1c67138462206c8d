/**
 * Can this machine host a lab? Answered before anything is created, with what is missing and how to get
 * it, so `up` fails in one message and the tests can skip (outside CI) with the same reason.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Programs the lab runs on the controller, and the Debian package that brings each. */
export const REQUIRED_PROGRAMS: ReadonlyArray<readonly [program: string, debianPackage: string]> = [
  ['systemd-nspawn', 'systemd-container'],
  ['mmdebstrap', 'mmdebstrap'],
  ['ip', 'iproute2'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['mount', 'mount'],
  ['journalctl', 'systemd'],
  ['iptables', 'iptables'],
];

export interface PreflightInput {
  uid: number;
  /** Whether a program is found on PATH. */
  has: (program: string) => boolean;
}

/** Every reason the lab cannot run here (empty when it can). */
export function labProblems(input: PreflightInput): string[] {
  const problems: string[] = [];
  if (input.uid !== 0) problems.push('the lab needs root (network namespaces, mounts, systemd-nspawn): run as root');
  const missing = REQUIRED_PROGRAMS.filter(([program]) => !input.has(program));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    problems.push(`missing ${missing.map(([program]) => program).join(', ')}: run \`bash .ci/lab-prereqs.sh\` (apt-get install ${packages})`);
  }
  return problems;
}

export function onPath(program: string, path = process.env.PATH ?? ''): boolean {
  const dirs = [...path.split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((dir) => dir !== '' && existsSync(join(dir, program)));
}

export function machineProblems(): string[] {
  return labProblems({ uid: process.getuid?.() ?? -1, has: (program) => onPath(program) });
}
