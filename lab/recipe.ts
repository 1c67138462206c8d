/**
 * The recipe of the lab's root filesystem, as data. The cache key is a hash of this value, so changing a
 * package or a customization step rebuilds the root filesystem, and nothing else does.
 *
 * What goes in and why:
 * - systemd as PID 1 (modules manage units), dbus (systemctl/hostnamectl talk to it), openssh-server.
 * - sudo and a user `ops` whose sudo asks for a password: for become tests.
 * - iproute2, iptables, kmod, procps, util-linux: what node preparation drives (sysctl, modprobe, swapon…).
 * - e2fsprogs, xfsprogs: filesystems on loop images in /srv/lab-data.
 * - python3 + python3-apt: so Ansible can run against the same hosts for the benchmarks.
 * - dnf + rpm: Debian 12 packages them, so the yum/dnf module runs against a real dnf.
 * - no apt sources but the lab's own repository: hosts have no internet.
 */
import { createHash } from 'node:crypto';

export const LAB_REPO_MOUNT = '/srv/drover-repo';
export const LAB_RPM_MOUNT = '/srv/drover-rpm';
export const LAB_DATA_MOUNT = '/srv/lab-data';
export const OPS_USER = 'ops';
/** Not a secret: a well-known password of a throwaway lab user, used to test become with a password. */
export const OPS_PASSWORD = 'drover-lab-ops';

/** A step applied to the freshly built root filesystem (paths are inside it). */
export type CustomizeStep =
  | { kind: 'write'; path: string; content: string; mode: number }
  | { kind: 'remove'; paths: string[] }
  | { kind: 'mkdir'; path: string; mode: number }
  /** A program run inside the root filesystem with chroot (no daemons, no network). */
  | { kind: 'chroot'; argv: string[]; input?: string };

export interface RootfsRecipe {
  suite: string;
  variant: string;
  packages: string[];
  customize: CustomizeStep[];
}

const SSHD_CONFIG = `# drover lab: key-only logins, root by key (the lab's key), one host key generated per host before boot.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
# A controller opens one connection per host, but benchmarks and fault tests open many at once.
MaxStartups 200:30:400
`;

const APT_SOURCES = `# drover lab: the hosts have no internet; this is the lab's local repository (see lab/apt-repo.ts).
deb [trusted=yes] file:${LAB_REPO_MOUNT} ./
`;

const YUM_REPO = `# drover lab: local RPM repository (see lab/rpm-repo.ts).
[drover-lab]
name=drover lab
baseurl=file://${LAB_RPM_MOUNT}
enabled=1
gpgcheck=0
repo_gpgcheck=0
metadata_expire=0
`;

/**
 * Units that only cost boot time and memory in a lab host (timers that would try the internet, a
 * getty nobody logs into). Masked, not removed, so modules still see ordinary unit files.
 */
const MASKED_UNITS = [
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'fstrim.timer',
  'systemd-timesyncd.service',
  'console-getty.service',
  'getty@.service',
  'systemd-networkd-wait-online.service',
];

export const ROOTFS_RECIPE: RootfsRecipe = {
  suite: 'bookworm',
  variant: 'apt',
  packages: [
    'systemd',
    'systemd-sysv',
    'dbus',
    'openssh-server',
    'sudo',
    'iproute2',
    'iptables',
    'kmod',
    'procps',
    'util-linux',
    'ca-certificates',
    'iputils-ping',
    // mkfs and xfs_info for loop-image tests (swap, overlay2-on-XFS ftype checks).
    'e2fsprogs',
    'xfsprogs',
    'python3',
    'python3-apt',
    'dnf',
    'rpm',
  ],
  customize: [
    // Host keys are generated per host before boot (lab/host-files.ts), so every host has its own.
    {
      kind: 'remove',
      paths: [
        '/etc/ssh/ssh_host_rsa_key',
        '/etc/ssh/ssh_host_rsa_key.pub',
        '/etc/ssh/ssh_host_ecdsa_key',
        '/etc/ssh/ssh_host_ecdsa_key.pub',
        '/etc/ssh/ssh_host_ed25519_key',
        '/etc/ssh/ssh_host_ed25519_key.pub',
      ],
    },
    { kind: 'write', path: '/etc/ssh/sshd_config.d/drover-lab.conf', content: SSHD_CONFIG, mode: 0o644 },
    { kind: 'chroot', argv: ['useradd', '--create-home', '--shell', '/bin/bash', OPS_USER] },
    { kind: 'chroot', argv: ['chpasswd'], input: `${OPS_USER}:${OPS_PASSWORD}\n` },
    { kind: 'write', path: `/etc/sudoers.d/${OPS_USER}`, content: `${OPS_USER} ALL=(ALL:ALL) ALL\n`, mode: 0o440 },
    { kind: 'remove', paths: ['/etc/apt/sources.list', '/etc/apt/sources.list.d'] },
    { kind: 'mkdir', path: '/etc/apt/sources.list.d', mode: 0o755 },
    { kind: 'write', path: '/etc/apt/sources.list.d/drover-lab.list', content: APT_SOURCES, mode: 0o644 },
    { kind: 'mkdir', path: '/etc/yum.repos.d', mode: 0o755 },
    // dnf finds no release package on Debian and warns on every run unless $releasever is set.
    { kind: 'mkdir', path: '/etc/dnf/vars', mode: 0o755 },
    { kind: 'write', path: '/etc/dnf/vars/releasever', content: '12\n', mode: 0o644 },
    { kind: 'write', path: '/etc/yum.repos.d/drover-lab.repo', content: YUM_REPO, mode: 0o644 },
    { kind: 'mkdir', path: LAB_REPO_MOUNT, mode: 0o755 },
    { kind: 'mkdir', path: LAB_RPM_MOUNT, mode: 0o755 },
    { kind: 'mkdir', path: LAB_DATA_MOUNT, mode: 0o755 },
    // A persistent journal lives in the host's overlay on disk: readable from the controller when a host
    // fails to boot, and not held in RAM as /run/log/journal would be (100 hosts).
    { kind: 'mkdir', path: '/var/log/journal', mode: 0o2755 },
    { kind: 'chroot', argv: ['systemctl', 'mask', ...MASKED_UNITS] },
    // mmdebstrap copies the controller's resolver, which the hosts cannot reach anyway.
    { kind: 'write', path: '/etc/resolv.conf', content: '# drover lab: no DNS, the hosts have no internet.\n', mode: 0o644 },
    // Each host gets its own machine id at creation; an empty file makes a copied one impossible.
    { kind: 'write', path: '/etc/machine-id', content: '', mode: 0o444 },
  ],
};

/** Mirrors the machine's configured Debian sources; a different mirror serves the same packages. */
export function mirrorSources(suite: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const debian = env.DROVER_LAB_MIRROR || 'http://deb.debian.org/debian';
  const security = env.DROVER_LAB_SECURITY_MIRROR || 'http://deb.debian.org/debian-security';
  return [`deb ${debian} ${suite} main`, `deb ${debian} ${suite}-updates main`, `deb ${security} ${suite}-security main`];
}

/** A short stable hash of any JSON value: the cache key of a recipe. */
export function recipeKey(recipe: unknown): string {
  return createHash('sha256').update(stableJson(recipe)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted, so two equal recipes written in a different key order hash the same. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
