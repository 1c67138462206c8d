/**
 * The host's operating system: family, package manager, init system, SELinux. Gathered lazily, once
 * per host per run, in one round trip, by the first module that needs it.
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';

export interface OsFacts {
  /** `debian` (Debian, Ubuntu…), `redhat` (RHEL, CentOS, Rocky, Alma, Fedora…) or `unknown`. */
  family: 'debian' | 'redhat' | 'unknown';
  /** os-release ID, e.g. `debian`, `ubuntu`, `centos`, `rocky`. */
  id: string;
  /** os-release VERSION_ID, e.g. `12`, `7`, `9.3`; empty when absent. */
  versionId: string;
  /** The package manager to use: dnf is preferred over yum where both exist. */
  packageManager: 'apt' | 'dnf' | 'yum' | 'none';
  /** `systemd` when systemd is PID 1 (/run/systemd/system exists). */
  initSystem: 'systemd' | 'other';
  /** Whether the kernel has SELinux (selinuxfs mounted). */
  selinux: boolean;
  /** The kernel release (`uname -r`). */
  kernel: string;
}

const SCRIPT = sh`
echo "os-release<<"; cat /etc/os-release 2>/dev/null || true; echo ">>"
for tool in dnf yum apt-get; do command -v "$tool" >/dev/null 2>&1 && echo "tool=$tool" || true; done
[ -d /run/systemd/system ] && echo "init=systemd" || echo "init=other"
[ -d /sys/fs/selinux ] && echo "selinux=yes" || echo "selinux=no"
echo "kernel=$(uname -r)"
`;

/** Parses the probe's output; exported for tests from captured output. */
export function parseOsFacts(stdout: string): OsFacts {
  const start = stdout.indexOf('os-release<<\n');
  const end = stdout.indexOf('>>\n', start);
  if (start < 0 || end < 0) throw new FactError('os', `unexpected probe output: ${stdout.slice(0, 200)}`);
  const release = parseOsRelease(stdout.slice(start + 'os-release<<\n'.length, end));
  const rest = stdout.slice(end + 3).split('\n');
  const tools = new Set(rest.filter((line) => line.startsWith('tool=')).map((line) => line.slice(5)));
  const id = release.get('ID') ?? '';
  const like = `${id} ${release.get('ID_LIKE') ?? ''}`.split(/\s+/);
  const family = like.some((name) => ['debian', 'ubuntu'].includes(name))
    ? 'debian'
    : like.some((name) => ['rhel', 'fedora', 'centos'].includes(name))
      ? 'redhat'
      : 'unknown';
  const packageManager =
    tools.has('dnf') && family !== 'debian'
      ? 'dnf'
      : tools.has('yum') && family !== 'debian'
        ? 'yum'
        : tools.has('apt-get')
          ? 'apt'
          : tools.has('dnf')
            ? 'dnf'
            : tools.has('yum')
              ? 'yum'
              : 'none';
  return {
    family,
    id,
    versionId: release.get('VERSION_ID') ?? '',
    packageManager,
    initSystem: rest.includes('init=systemd') ? 'systemd' : 'other',
    selinux: rest.includes('selinux=yes'),
    kernel: rest.find((line) => line.startsWith('kernel='))?.slice(7) ?? '',
  };
}

/** os-release is KEY=value lines with optional shell-style quotes. */
export function parseOsRelease(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    values.set(match[1]!, match[2]!.replace(/^(["'])(.*)\1$/, '$2'));
  }
  return values;
}

export const osFacts: Fact<OsFacts> = {
  key: 'os',
  script: SCRIPT,
  stable: true,
  parse: (output) => parseOsFacts(output.stdout),
};
