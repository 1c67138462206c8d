/**
 * Makes `modprobe` inside a host tell the truth about the controller's kernel, which all hosts share.
 *
 * A kernel with loadable modules has /lib/modules/<release> on the controller: it is bind-mounted
 * read-only into each host (loading a module there loads it into the shared kernel, as on any container).
 * A kernel built without module support (like the CI machine's: no /lib/modules, no /proc/modules) has
 * its drivers built in; kmod answers `modprobe overlay` with success only if modules.builtin lists the
 * module. So the host gets a /lib/modules/<release> whose modules.builtin lists what the running kernel
 * really has built in — from /proc/config.gz where the kernel exposes it, and /sys/module — and
 * `modprobe ip_vs` still fails on a kernel without IPVS, as it would on a real machine.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { run } from './exec.ts';

/** Kernel config symbols of modules that node preparation and container runtimes ask for, and their paths. */
const BUILTIN_CANDIDATES: ReadonlyArray<readonly [symbol: string, path: string]> = [
  ['OVERLAY_FS', 'kernel/fs/overlayfs/overlay.ko'],
  ['BRIDGE', 'kernel/net/bridge/bridge.ko'],
  ['BRIDGE_NETFILTER', 'kernel/net/bridge/br_netfilter.ko'],
  ['VETH', 'kernel/drivers/net/veth.ko'],
  ['VXLAN', 'kernel/drivers/net/vxlan/vxlan.ko'],
  ['DUMMY', 'kernel/drivers/net/dummy.ko'],
  ['TUN', 'kernel/drivers/net/tun.ko'],
  ['BLK_DEV_LOOP', 'kernel/drivers/block/loop.ko'],
  ['NF_CONNTRACK', 'kernel/net/netfilter/nf_conntrack.ko'],
  ['NF_NAT', 'kernel/net/netfilter/nf_nat.ko'],
  ['NF_TABLES', 'kernel/net/netfilter/nf_tables.ko'],
  ['IP_SET', 'kernel/net/netfilter/ipset/ip_set.ko'],
  ['IP_VS', 'kernel/net/netfilter/ipvs/ip_vs.ko'],
  ['IP_VS_RR', 'kernel/net/netfilter/ipvs/ip_vs_rr.ko'],
  ['IP_VS_WRR', 'kernel/net/netfilter/ipvs/ip_vs_wrr.ko'],
  ['IP_VS_SH', 'kernel/net/netfilter/ipvs/ip_vs_sh.ko'],
  ['IP_NF_IPTABLES', 'kernel/net/ipv4/netfilter/ip_tables.ko'],
  ['IP_NF_FILTER', 'kernel/net/ipv4/netfilter/iptable_filter.ko'],
  ['IP_NF_NAT', 'kernel/net/ipv4/netfilter/iptable_nat.ko'],
  ['NETFILTER_XT_MATCH_CONNTRACK', 'kernel/net/netfilter/xt_conntrack.ko'],
  ['EXT4_FS', 'kernel/fs/ext4/ext4.ko'],
  ['XFS_FS', 'kernel/fs/xfs/xfs.ko'],
  ['BTRFS_FS', 'kernel/fs/btrfs/btrfs.ko'],
];

/** The modules.builtin lines for a kernel, from its config text and the names under /sys/module. */
export function builtinModules(config: string | undefined, sysModules: readonly string[]): string[] {
  const lines = new Set<string>();
  if (config) {
    for (const [symbol, path] of BUILTIN_CANDIDATES) {
      if (new RegExp(`^CONFIG_${symbol}=y$`, 'm').test(config)) lines.add(path);
    }
  }
  const known = new Set([...lines].map(moduleName));
  for (const name of sysModules) if (!known.has(name)) lines.add(`kernel/builtin/${name}.ko`);
  return [...lines].sort();
}

function moduleName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).replace(/\.ko$/, '');
}

export interface KernelModulesSetup {
  /** Bind-mount this controller directory read-only at the same path in each host. */
  bindFromController?: string;
  /** Or write this modules.builtin into each host and index it with depmod. */
  builtin?: string[];
  release: string;
}

export function kernelModulesSetup(): KernelModulesSetup {
  const kernel = release();
  const controllerDir = `/lib/modules/${kernel}`;
  if (existsSync(controllerDir)) return { release: kernel, bindFromController: controllerDir };
  let config: string | undefined;
  try {
    config = gunzipSync(readFileSync('/proc/config.gz')).toString();
  } catch {
    config = undefined; // Kernel built without IKCONFIG_PROC: /sys/module alone.
  }
  return { release: kernel, builtin: builtinModules(config, existsSync('/sys/module') ? readdirSync('/sys/module') : []) };
}

/** Writes and indexes modules.builtin inside a host's root (before boot). */
export async function installBuiltinModules(root: string, setup: KernelModulesSetup): Promise<void> {
  if (!setup.builtin) return;
  const dir = join(root, 'lib/modules', setup.release);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'modules.builtin'), setup.builtin.join('\n') + '\n');
  await run(['chroot', root, 'depmod', setup.release], { hint: `depmod failed inside ${root}: is kmod in the root filesystem recipe?` });
}
