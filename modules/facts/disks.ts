/**
 * Block devices and mount points, in one round trip. Devices come from `lsblk -J -b` (util-linux ≥ 2.27:
 * Debian 9+, RHEL 8+), else from /proc/partitions (names and sizes only); mounts from /proc/self/mounts,
 * which is this host's (this mount namespace's) view even inside a container. In a container lsblk
 * lists the machine's disks, since /sys is shared.
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';
import { unescapeField } from './fstab.ts';

export interface BlockDevice {
  /** Kernel name (`sda`, `sda1`, `nvme0n1p2`, `dm-0` or a mapper name as lsblk shows it). */
  name: string;
  /** The parent device's name for partitions, LVs…; absent for a whole disk. */
  parent?: string;
  sizeBytes: number;
  /** `disk`, `part`, `lvm`, `rom`, `loop`…; '' from /proc/partitions. */
  type: string;
  /** Filesystem signature (`ext4`, `xfs`, `swap`, `LVM2_member`); '' when none or unknown. */
  fstype: string;
  /** Where it is mounted ('' when not, `[SWAP]` for active swap). */
  mountpoint: string;
}

export interface Mount {
  device: string;
  mountpoint: string;
  fstype: string;
  options: string[];
}

export interface DiskFacts {
  devices: BlockDevice[];
  mounts: Mount[];
  /** `lsblk` or `partitions` (fallback: no types, filesystems or mount points on devices). */
  source: 'lsblk' | 'partitions';
}

const SCRIPT = sh`if command -v lsblk >/dev/null 2>&1 && out=$(lsblk -J -b -o NAME,SIZE,TYPE,FSTYPE,MOUNTPOINT 2>/dev/null); then
  printf 'lsblk=%s\\n' "$(printf '%s' "$out" | base64 -w0)"
else
  printf 'partitions=%s\\n' "$( (cat /proc/partitions 2>/dev/null || true) | base64 -w0)"
fi
printf 'mounts=%s\\n' "$(base64 -w0 < /proc/self/mounts)"
`;

interface LsblkNode {
  name?: string;
  size?: number | string | null;
  type?: string | null;
  fstype?: string | null;
  mountpoint?: string | null;
  children?: LsblkNode[];
}

/** `lsblk -J -b -o NAME,SIZE,TYPE,FSTYPE,MOUNTPOINT` → devices, children after their parent. Pure. */
export function parseLsblkJson(text: string): BlockDevice[] {
  let parsed: { blockdevices?: LsblkNode[] };
  try {
    parsed = JSON.parse(text) as { blockdevices?: LsblkNode[] };
  } catch (error) {
    throw new FactError('disks', `lsblk -J printed no JSON (${(error as Error).message}): ${text.slice(0, 200)}`);
  }
  const devices: BlockDevice[] = [];
  const walk = (nodes: LsblkNode[], parent?: string): void => {
    for (const node of nodes) {
      const name = node.name ?? '';
      devices.push({
        name,
        ...(parent ? { parent } : {}),
        // Older lsblk prints sizes as strings even with -b.
        sizeBytes: Number(node.size ?? 0),
        type: node.type ?? '',
        fstype: node.fstype ?? '',
        mountpoint: node.mountpoint ?? '',
      });
      walk(node.children ?? [], name);
    }
  };
  walk(parsed.blockdevices ?? []);
  return devices;
}

/** /proc/partitions (`major minor #blocks name`, 1 KiB blocks) → devices without type or mount. Pure. */
export function parseProcPartitions(text: string): BlockDevice[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length === 4 && /^\d+$/.test(cols[0]!) && /^\d+$/.test(cols[2]!))
    .map((cols) => ({ name: cols[3]!, sizeBytes: Number(cols[2]) * 1024, type: '', fstype: '', mountpoint: '' }));
}

/** /proc/self/mounts → mounts, octal escapes (`\040`) decoded. Pure. */
export function parseProcMounts(text: string): Mount[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [device = '', mountpoint = '', fstype = '', options = ''] = line.split(' ');
      return { device: unescapeField(device), mountpoint: unescapeField(mountpoint), fstype, options: options.split(',') };
    });
}

/** Parses the probe's output; pure. */
export function parseDiskFacts(stdout: string): DiskFacts {
  const fields = parseFieldLines(stdout);
  const mounts = field(fields, 'mounts');
  const lsblk = field(fields, 'lsblk');
  const partitions = field(fields, 'partitions');
  if (mounts === undefined || (lsblk === undefined && partitions === undefined))
    throw new FactError('disks', `unexpected probe output: ${JSON.stringify(stdout.slice(0, 200))}`);
  return {
    devices: lsblk !== undefined ? parseLsblkJson(fromBase64(lsblk)) : parseProcPartitions(fromBase64(partitions!)),
    mounts: parseProcMounts(fromBase64(mounts)),
    source: lsblk !== undefined ? 'lsblk' : 'partitions',
  };
}

/** The mount whose mount point holds `path` (longest prefix; the last such mount wins, as it hides earlier ones). */
export function mountOf(mounts: Mount[], path: string): Mount | undefined {
  let best: Mount | undefined;
  for (const mount of mounts) {
    const prefix = mount.mountpoint === '/' ? '/' : `${mount.mountpoint}/`;
    if (path !== mount.mountpoint && !path.startsWith(prefix)) continue;
    if (!best || mount.mountpoint.length >= best.mountpoint.length) best = mount;
  }
  return best;
}

/** Re-read after any change on the host (a task may mount, format or add swap). */
export const diskFacts: Fact<DiskFacts> = {
  key: 'disks',
  script: SCRIPT,
  parse: (output) => {
    if (output.exitCode !== 0) throw new FactError('disks', `the probe failed (exit ${output.exitCode}): ${output.stderr.trim()}`);
    return parseDiskFacts(output.stdout);
  },
};
