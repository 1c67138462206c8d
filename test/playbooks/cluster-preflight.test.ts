import { expect } from 'chai';
import { crossHostProblems, hostProblems, overlaps, parseCidr, type HostReading } from '../../playbooks/lib/cluster-preflight.ts';

const SUBNETS = { pod: '10.244.0.0/16', service: '10.96.0.0/12' };
const THRESHOLDS = { minCpus: 2, minMemoryMiB: 2048 };

/** A host as the lab's hosts read (Debian 12, 2 CPUs, one NIC), changed by `over`. */
function reading(over: Partial<HostReading> = {}): HostReading {
  return {
    host: 'lab-1',
    nodeName: 'lab-1',
    controlPlane: true,
    os: { id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
    cpus: 2,
    memoryKiB: 24_683_772,
    productUuid: '',
    interfaces: [{ name: 'eth0', mac: '8e:26:42:06:83:c2', addresses: [{ address: '10.236.0.11', prefixLength: 16 }] }],
    clusterAddress: '10.236.0.11',
    overlayInKernel: true,
    runtimeDir: '/var/lib',
    runtimeFs: 'overlayfs',
    listening: [22],
    member: false,
    ...over,
  };
}

describe('cluster preflight (pure)', () => {
  it('parses CIDRs and tells overlaps', () => {
    expect(parseCidr('10.244.0.0/16')).to.include({ start: 0x0af40000n, end: 0x0af4ffffn });
    expect(parseCidr('10.244.1.7/16')!.start, 'host bits are masked').to.equal(0x0af40000n);
    for (const bad of ['10.244.0.0', '10.244.0.0/33', '300.1.1.1/8', 'fd00::/8', '']) expect(parseCidr(bad), bad).to.equal(undefined);
    expect(overlaps(parseCidr('192.168.0.0/16')!, parseCidr('192.168.122.0/24')!)).to.equal(true);
    expect(overlaps(parseCidr('10.96.0.0/12')!, parseCidr('10.244.0.0/16')!)).to.equal(false);
  });

  it('a host that fits has no problem', () => {
    expect(hostProblems(reading(), SUBNETS, THRESHOLDS)).to.deep.equal([]);
  });

  const cases: Array<[string, Partial<HostReading>, { pod: string; service: string } | undefined, RegExp]> = [
    ['an unsupported OS', { os: { id: 'debian', idLike: [], versionId: '10', prettyName: 'Debian 10' } }, undefined, /lab-1: Debian 10 is not supported/],
    ['too few CPUs on a control-plane host', { cpus: 1 }, undefined, /lab-1: 1 CPU\(s\), a control-plane host needs at least 2 \(preflight_min_cpus\)/],
    ['too little memory on a control-plane host', { memoryKiB: 1024 * 1024 }, undefined, /lab-1: 1024 MiB of memory, .* at least 2048 MiB/],
    ['the cluster address on no interface', { clusterAddress: '10.99.99.99' }, undefined, /its cluster address 10\.99\.99\.99 is on none of its interfaces \(eth0 10\.236\.0\.11\); set node_ip/],
    [
      'pod subnet over a host network (libvirt)',
      { interfaces: [{ name: 'virbr0', mac: '52:54:00:00:00:01', addresses: [{ address: '192.168.122.1', prefixLength: 24 }] }], clusterAddress: '192.168.122.1' },
      { pod: '192.168.0.0/16', service: '10.96.0.0/12' },
      /pod_subnet 192\.168\.0\.0\/16 overlaps the host network 192\.168\.122\.1\/24 on virbr0/,
    ],
    ['pod and service subnets overlapping', {}, { pod: '10.96.0.0/16', service: '10.96.0.0/12' }, /pod_subnet 10\.96\.0\.0\/16 and service_subnet 10\.96\.0\.0\/12 overlap/],
    ['a subnet that is no CIDR', {}, { pod: '10.244.0.0', service: '10.96.0.0/12' }, /pod_subnet "10\.244\.0\.0" is not an IPv4 CIDR/],
    ['no overlay in the kernel', { overlayInKernel: false }, undefined, /no overlay filesystem/],
    ['XFS without ftype=1', { runtimeFs: 'xfs', runtimeDir: '/var/lib/containerd', xfsFtype: 'ftype=0' }, undefined, /\/var\/lib\/containerd is on XFS with ftype=0; overlayfs needs ftype=1/],
    ['a kubeadm port in use', { listening: [22, 6443, 10250] }, undefined, /port\(s\) 6443, 10250 already in use/],
    [
      'IPVS modules the kernel cannot provide',
      { missingModules: { names: ['ip_vs', 'ip_vs_rr'], kernel: '6.1.0-28-amd64', ipvs: true } },
      undefined,
      /lab-1: kernel 6\.1\.0-28-amd64 cannot provide ip_vs, ip_vs_rr \(not loaded, not built in, and modprobe finds no module\); kube_proxy_mode ipvs needs them: .* or use kube_proxy_mode: iptables/,
    ],
    [
      'a listed kernel module the kernel cannot provide',
      { missingModules: { names: ['br_netfilter'], kernel: '6.1.0', ipvs: false } },
      undefined,
      /cannot provide br_netfilter .*; install the kernel's modules package, or remove them from kernel_modules/,
    ],
  ];
  for (const [title, over, subnets, message] of cases) {
    it(`finds ${title}`, () => {
      const problems = hostProblems(reading(over), subnets ?? SUBNETS, THRESHOLDS);
      expect(
        problems.some((problem) => message.test(problem)),
        problems.join('\n'),
      ).to.equal(true);
    });
  }

  it('does not hold workers to control-plane thresholds, nor a joined node to free ports', () => {
    expect(hostProblems(reading({ controlPlane: false, cpus: 1, memoryKiB: 1024 * 1024 }), SUBNETS, THRESHOLDS)).to.deep.equal([]);
    expect(hostProblems(reading({ listening: [6443, 10250], member: true }), SUBNETS, THRESHOLDS)).to.deep.equal([]);
    expect(hostProblems(reading({ controlPlane: false, listening: [6443] }), SUBNETS, THRESHOLDS), 'a worker needs only 10250').to.deep.equal([]);
  });

  it('lists every problem of a host, not only the first', () => {
    expect(hostProblems(reading({ cpus: 1, overlayInKernel: false, clusterAddress: '10.0.0.9' }), SUBNETS, THRESHOLDS)).to.have.length(3);
  });

  it('finds duplicate node names, product_uuids and MACs across hosts; ignores unknown ones', () => {
    const a = reading({ host: 'a', nodeName: 'node', productUuid: 'ABC' });
    const b = reading({ host: 'b', nodeName: 'Node', productUuid: 'abc', controlPlane: false });
    expect(crossHostProblems([a, b])).to.deep.equal([
      'a, b: the same node name node; each node needs its own name (inventory name, or set manage_hostname)',
      'a, b: the same product_uuid abc; cloned VMs need a new one (kubeadm requires it unique)',
      'a, b: the same MAC address 8e:26:42:06:83:c2; cloned VMs need new MAC addresses (kubeadm requires them unique)',
    ]);
    const c = reading({ host: 'c', nodeName: 'c', productUuid: '', interfaces: [{ name: 'eth0', mac: '', addresses: [] }] });
    const d = reading({ host: 'd', nodeName: 'd', productUuid: '', interfaces: [{ name: 'eth0', mac: '', addresses: [] }] });
    expect(crossHostProblems([c, d])).to.deep.equal([]);
  });
});
