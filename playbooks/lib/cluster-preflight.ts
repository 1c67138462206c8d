/**
 * The cluster playbook's preflight, as pure functions: what one host's readings say is wrong, and what
 * only the whole set of hosts can say (duplicate names, product_uuid or MAC addresses). The playbook reads
 * the hosts (playbooks/cluster.ts, play "preflight: read every host") and decides with these, so that every
 * problem on every host is listed at once before any host is changed; tests feed them readings directly.
 */
import { isIPv4 } from 'node:net';

/** What the preflight read on one host. */
export interface HostReading {
  host: string;
  /** The name the node registers under (the inventory name, or the host's own when drover does not set it). */
  nodeName: string;
  controlPlane: boolean;
  os: { id: string; idLike: string[]; versionId: string; prettyName: string };
  cpus: number;
  memoryKiB: number;
  /** /sys/class/dmi/id/product_uuid; '' where the host has none to read (a container). */
  productUuid: string;
  /** Interfaces with a real MAC (loopback and all-zero MACs left out). */
  interfaces: Array<{ name: string; mac: string; addresses: Array<{ address: string; prefixLength: number }> }>;
  /** The address the node uses on the cluster network (node_ip, else the address drover connects to). */
  clusterAddress: string;
  overlayInKernel: boolean;
  /** The container runtime's directory (or its nearest existing parent), its filesystem type and, on XFS, ftype. */
  runtimeDir: string;
  runtimeFs: string;
  xfsFtype?: string;
  /** TCP ports something listens on. */
  listening: number[];
  /** /etc/kubernetes/kubelet.conf exists: the host is already a node, its ports are its own. */
  member: boolean;
  /**
   * Kernel modules the node needs (kernel_modules, and IPVS's with kube_proxy_mode ipvs) that the kernel
   * cannot provide: not loaded, not built in, shown by nothing they provide, and not found by modprobe.
   */
  missingModules?: { names: string[]; kernel: string; ipvs: boolean };
}

export interface Thresholds {
  minCpus: number;
  minMemoryMiB: number;
}

/** kubeadm's ports (https://kubernetes.io/docs/reference/networking/ports-and-protocols/). */
export const CONTROL_PLANE_PORTS = [6443, 2379, 2380, 10250, 10257, 10259];
export const WORKER_PORTS = [10250];

/** Distributions the playbook supports, by os-release ID and the major versions it knows. */
const SUPPORTED: Record<string, string[]> = {
  debian: ['11', '12'],
  ubuntu: ['20', '22', '24'],
  centos: ['7'],
  rocky: ['8', '9'],
  almalinux: ['8', '9'],
  rhel: ['8', '9'],
};

export function supportedOs(os: HostReading['os']): boolean {
  const major = os.versionId.split('.')[0] ?? '';
  return SUPPORTED[os.id]?.includes(major) ?? false;
}

interface Cidr {
  text: string;
  start: bigint;
  end: bigint;
}

/** An IPv4 CIDR as a range, or undefined when the text is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text);
  if (!match || !isIPv4(match[1]!) || Number(match[2]) > 32) return undefined;
  const bits = Number(match[2]);
  const value = match[1]!.split('.').reduce((sum, octet) => (sum << 8n) + BigInt(octet), 0n);
  const size = 1n << BigInt(32 - bits);
  const start = value - (value % size);
  return { text, start, end: start + size - 1n };
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** One host's own problems: each a sentence naming the host and what to do. */
export function hostProblems(reading: HostReading, subnets: { pod: string; service: string }, thresholds: Thresholds): string[] {
  const problems: string[] = [];
  const { host } = reading;
  if (!supportedOs(reading.os))
    problems.push(
      `${host}: ${reading.os.prettyName || reading.os.id || 'an unknown OS'} is not supported (Debian 11/12, Ubuntu 20.04–24.04, CentOS 7, Rocky/Alma/RHEL 8 and 9)`,
    );
  if (reading.controlPlane && reading.cpus < thresholds.minCpus)
    problems.push(`${host}: ${reading.cpus} CPU(s), a control-plane host needs at least ${thresholds.minCpus} (preflight_min_cpus)`);
  const memoryMiB = Math.floor(reading.memoryKiB / 1024);
  if (reading.controlPlane && memoryMiB < thresholds.minMemoryMiB)
    problems.push(`${host}: ${memoryMiB} MiB of memory, a control-plane host needs at least ${thresholds.minMemoryMiB} MiB (preflight_min_memory_mib)`);
  const onInterface = reading.interfaces.some((nic) => nic.addresses.some((address) => address.address === reading.clusterAddress));
  if (!onInterface)
    problems.push(
      `${host}: its cluster address ${reading.clusterAddress} is on none of its interfaces (${reading.interfaces.map((nic) => `${nic.name} ${nic.addresses.map((a) => a.address).join(' ') || '-'}`).join('; ')}); set node_ip to its address on the cluster network`,
    );
  const pod = parseCidr(subnets.pod);
  const service = parseCidr(subnets.service);
  if (!pod) problems.push(`${host}: pod_subnet ${JSON.stringify(subnets.pod)} is not an IPv4 CIDR such as 10.244.0.0/16`);
  if (!service) problems.push(`${host}: service_subnet ${JSON.stringify(subnets.service)} is not an IPv4 CIDR such as 10.96.0.0/12`);
  if (pod && service && overlaps(pod, service))
    problems.push(`${host}: pod_subnet ${pod.text} and service_subnet ${service.text} overlap; choose disjoint ranges`);
  for (const nic of reading.interfaces) {
    for (const address of nic.addresses) {
      if (!isIPv4(address.address) || address.address.startsWith('127.')) continue;
      const network = parseCidr(`${address.address}/${address.prefixLength}`);
      if (!network) continue;
      for (const [name, subnet] of [
        ['pod_subnet', pod],
        ['service_subnet', service],
      ] as const) {
        if (subnet && overlaps(subnet, network))
          problems.push(
            `${host}: ${name} ${subnet.text} overlaps the host network ${address.address}/${address.prefixLength} on ${nic.name}; choose a range no host uses`,
          );
      }
    }
  }
  if (!reading.overlayInKernel)
    problems.push(`${host}: the kernel has no overlay filesystem (/proc/filesystems): containerd's overlayfs snapshotter cannot work; load the overlay module`);
  if (reading.runtimeFs === 'xfs' && reading.xfsFtype !== 'ftype=1')
    problems.push(
      `${host}: ${reading.runtimeDir} is on XFS with ${reading.xfsFtype ?? 'an unknown ftype'}; overlayfs needs ftype=1 (mkfs.xfs -n ftype=1) or another filesystem for /var/lib/containerd`,
    );
  if (reading.missingModules && reading.missingModules.names.length > 0) {
    const { names, kernel, ipvs } = reading.missingModules;
    problems.push(
      `${host}: kernel ${kernel} cannot provide ${names.join(', ')} (not loaded, not built in, and modprobe finds no module)${
        ipvs
          ? "; kube_proxy_mode ipvs needs them: install the kernel's modules package, or use kube_proxy_mode: iptables"
          : "; install the kernel's modules package, or remove them from kernel_modules"
      }`,
    );
  }
  if (!reading.member) {
    const busy = (reading.controlPlane ? CONTROL_PLANE_PORTS : WORKER_PORTS).filter((port) => reading.listening.includes(port));
    if (busy.length > 0) problems.push(`${host}: port(s) ${busy.join(', ')} already in use, kubeadm needs them free; stop what listens there (ss -ltnp)`);
  }
  return problems;
}

/** Problems only the set of hosts shows: two hosts with one node name, product_uuid or MAC. */
export function crossHostProblems(readings: HostReading[]): string[] {
  const problems: string[] = [];
  const duplicates = (what: string, key: (reading: HostReading) => string[], hint: string) => {
    const owners = new Map<string, string[]>();
    for (const reading of readings)
      for (const value of new Set(key(reading))) if (value !== '') owners.set(value, [...(owners.get(value) ?? []), reading.host]);
    for (const [value, hosts] of owners) if (hosts.length > 1) problems.push(`${hosts.join(', ')}: the same ${what} ${value}; ${hint}`);
  };
  duplicates('node name', (reading) => [reading.nodeName.toLowerCase()], 'each node needs its own name (inventory name, or set manage_hostname)');
  duplicates('product_uuid', (reading) => [reading.productUuid.toLowerCase()], 'cloned VMs need a new one (kubeadm requires it unique)');
  duplicates('MAC address', (reading) => reading.interfaces.map((nic) => nic.mac), 'cloned VMs need new MAC addresses (kubeadm requires them unique)');
  return problems;
}
