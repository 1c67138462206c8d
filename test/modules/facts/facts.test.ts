import { expect } from 'chai';
import { cpuFacts, parseCpuFacts } from '../../../modules/facts/cpus.ts';
import { diskFacts, mountOf, parseDiskFacts, parseProcMounts } from '../../../modules/facts/disks.ts';
import { distributionFacts, parseDistributionFacts } from '../../../modules/facts/distribution.ts';
import { machineIdFacts, parseMachineId } from '../../../modules/facts/machine-id.ts';
import { memoryFacts, parseMemoryFacts } from '../../../modules/facts/memory.ts';
import { networkFacts, parseNetworkFacts } from '../../../modules/facts/network.ts';
import { parseSwapFacts, swapFacts } from '../../../modules/facts/swap.ts';
import { FactError } from '../../../runner/facts.ts';

// ── Pure parsing from recorded output: a Debian 12 lab host (nspawn), a two-NIC RHEL 9 VM, and the
// /proc fallbacks. The probe prints `name=base64` lines; `b64` rebuilds them from the recorded text. ──

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** `ip -j addr show` on a Debian 12 lab host. */
const LAB_ADDR = `[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"::1","prefixlen":128,"scope":"host","valid_life_time":4294967295,"preferred_life_time":4294967295}]},{"ifindex":2,"link_index":12,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"4a:c6:96:7f:6d:ff","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"addr_info":[{"family":"inet","local":"10.236.0.11","prefixlen":16,"scope":"global","label":"eth0","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::48c6:96ff:fe7f:6dff","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295}]}]`;

/** A RHEL 9 VM with two NICs: the inventory reaches it on eth0 (management), the default route is on eth1. */
const TWO_NIC_ADDR = `[{"ifindex":1,"ifname":"lo","mtu":65536,"operstate":"UNKNOWN","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"}]},{"ifindex":2,"ifname":"eth0","mtu":1500,"operstate":"UP","address":"52:54:00:AA:00:01","addr_info":[{"family":"inet","local":"192.168.122.10","prefixlen":24,"scope":"global"}]},{"ifindex":3,"ifname":"eth1","mtu":9000,"operstate":"UP","address":"52:54:00:bb:00:02","addr_info":[{"family":"inet","local":"10.20.0.10","prefixlen":24,"scope":"global"},{"family":"inet6","local":"fd00:20::10","prefixlen":64,"scope":"global"},{"family":"inet6","local":"fe80::5054:ff:febb:2","prefixlen":64,"scope":"link"}]},{"ifindex":4,"ifname":"eth2","mtu":1500,"operstate":"DOWN","address":"52:54:00:cc:00:03","addr_info":[]}]`;
const TWO_NIC_ROUTE4 = `[{"dst":"default","gateway":"192.168.122.1","dev":"eth0","protocol":"dhcp","metric":200,"flags":[]},{"dst":"default","gateway":"10.20.0.1","dev":"eth1","protocol":"static","metric":100,"flags":[]}]`;
const TWO_NIC_ROUTE6 = `[{"dst":"default","gateway":"fd00:20::1","dev":"eth1","protocol":"static","metric":1024,"pref":"medium","flags":[]}]`;

const PROC_NET_ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100EC0A\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0000EC0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
`;
const PROC_IPV6_ROUTE = `fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000020000000000000000000000001 00000400 00000001 00000000 00000003     eth0
`;
const IF_INET6 = `fe8000000000000048c696fffe7f6dff 02 40 20 80     eth0
fd000020000000000000000000000010 02 40 00 80     eth0
00000000000000000000000000000001 01 80 10 80       lo
`;

describe('facts: network', () => {
  it('lab host (ip -j): interfaces with MAC, MTU, state, addresses; default route; primary IPv4', () => {
    const facts = parseNetworkFacts(`source=ip\naddr=${b64(LAB_ADDR)}\nroute4=${b64('[{"dst":"default","gateway":"10.236.0.1","dev":"eth0","flags":[]}]\n')}\nroute6=${b64('[]\n')}\n`);
    expect(facts.source).to.equal('ip');
    expect(facts.interfaces.map((link) => link.name)).to.deep.equal(['lo', 'eth0']);
    expect(facts.interfaces[1]).to.deep.equal({
      name: 'eth0',
      mac: '4a:c6:96:7f:6d:ff',
      mtu: 1500,
      state: 'up',
      addresses: [
        { family: 'inet', address: '10.236.0.11', prefixLength: 16, scope: 'global' },
        { family: 'inet6', address: 'fe80::48c6:96ff:fe7f:6dff', prefixLength: 64, scope: 'link' },
      ],
    });
    expect(facts.defaultRoutes).to.deep.equal([{ family: 'inet', gateway: '10.236.0.1', interface: 'eth0', metric: 0 }]);
    expect(facts.primaryIpv4).to.deep.equal({ interface: 'eth0', address: '10.236.0.11' });
    expect(facts.primaryIpv6).to.equal(undefined);
  });

  it('two NICs: the primary address is on the lowest-metric default route, not the first interface', () => {
    const facts = parseNetworkFacts(`source=ip\naddr=${b64(TWO_NIC_ADDR)}\nroute4=${b64(TWO_NIC_ROUTE4)}\nroute6=${b64(TWO_NIC_ROUTE6)}\n`);
    expect(facts.defaultRoutes.map((route) => `${route.family} ${route.interface} ${route.metric}`)).to.deep.equal(['inet eth1 100', 'inet eth0 200', 'inet6 eth1 1024']);
    expect(facts.primaryIpv4).to.deep.equal({ interface: 'eth1', address: '10.20.0.10' });
    // The link-local address is never the primary one.
    expect(facts.primaryIpv6).to.deep.equal({ interface: 'eth1', address: 'fd00:20::10' });
    expect(facts.interfaces.find((link) => link.name === 'eth0')?.mac).to.equal('52:54:00:aa:00:01');
    expect(facts.interfaces.find((link) => link.name === 'eth2')).to.include({ state: 'down', mtu: 1500 });
  });

  it('a default route naming its source (src) wins over the interface’s first address', () => {
    const route = `[{"dst":"default","gateway":"10.20.0.1","dev":"eth1","prefsrc":"10.20.0.99","flags":[]}]`;
    const facts = parseNetworkFacts(`source=ip\naddr=${b64(TWO_NIC_ADDR)}\nroute4=${b64(route)}\nroute6=\n`);
    expect(facts.primaryIpv4).to.deep.equal({ interface: 'eth1', address: '10.20.0.99' });
    expect(facts.defaultRoutes[0]?.source).to.equal('10.20.0.99');
  });

  it('procfs fallback: names, MAC/MTU/state, IPv6 addresses, IPv4 and IPv6 default routes (no IPv4 addresses)', () => {
    const out = ['source=procfs', `link=${b64('lo')} 00:00:00:00:00:00 65536 unknown`, `link=${b64('eth0')} 4A:C6:96:7F:6D:FF 1500 up`, `procroute=${b64(PROC_NET_ROUTE)}`, `ipv6route=${b64(PROC_IPV6_ROUTE)}`, `inet6=${b64(IF_INET6)}`].join(
      '\n',
    );
    const facts = parseNetworkFacts(out);
    expect(facts.source).to.equal('procfs');
    expect(facts.interfaces[1]).to.deep.equal({
      name: 'eth0',
      mac: '4a:c6:96:7f:6d:ff',
      mtu: 1500,
      state: 'up',
      addresses: [
        { family: 'inet6', address: 'fe80::48c6:96ff:fe7f:6dff', prefixLength: 64, scope: 'link' },
        { family: 'inet6', address: 'fd00:20::10', prefixLength: 64, scope: 'global' },
      ],
    });
    expect(facts.interfaces[0]?.addresses).to.deep.equal([{ family: 'inet6', address: '::1', prefixLength: 128, scope: 'host' }]);
    // The kernel's unreachable ::/0 on lo is not a default route.
    expect(facts.defaultRoutes).to.deep.equal([
      { family: 'inet', gateway: '10.236.0.1', interface: 'eth0', metric: 0 },
      { family: 'inet6', gateway: 'fd00:20::1', interface: 'eth0', metric: 1024 },
    ]);
    expect(facts.primaryIpv4).to.equal(undefined);
    expect(facts.primaryIpv6).to.deep.equal({ interface: 'eth0', address: 'fd00:20::10' });
  });

  it('garbage fails naming the fact; the fact is not stable', () => {
    expect(() => parseNetworkFacts('bash: ip: command not found\n')).to.throw(FactError, /fact network: unexpected probe output/);
    expect(() => parseNetworkFacts(`source=ip\naddr=${b64('Option "-j" is unknown')}\n`)).to.throw(FactError, /not the JSON list/);
    expect(networkFacts.stable).to.not.equal(true);
  });
});

describe('facts: cpus, memory, swap, machine id, distribution', () => {
  it('cpus: count and model (x86 model name; ARM Model)', () => {
    expect(parseCpuFacts(`count=2\nmodel=${b64('AMD EPYC\n')}\n`)).to.deep.equal({ count: 2, model: 'AMD EPYC' });
    expect(parseCpuFacts(`count=4\nmodel=${b64('Raspberry Pi 4 Model B Rev 1.4\n')}\n`).model).to.equal('Raspberry Pi 4 Model B Rev 1.4');
    expect(() => parseCpuFacts('nproc: command not found\n')).to.throw(FactError, /fact cpus/);
    expect(cpuFacts.stable).to.equal(true);
  });

  it('memory: MemTotal, MemAvailable (MemFree on old kernels), swap totals', () => {
    const meminfo = 'MemTotal:       16315508 kB\nMemFree:         1203344 kB\nMemAvailable:    9876543 kB\nBuffers:          123 kB\nSwapTotal:       2097148 kB\nSwapFree:        2097000 kB\nHugePages_Total:       0\n';
    expect(parseMemoryFacts(meminfo)).to.deep.equal({ totalKiB: 16315508, availableKiB: 9876543, swapTotalKiB: 2097148, swapFreeKiB: 2097000 });
    expect(parseMemoryFacts('MemTotal: 1000 kB\nMemFree: 400 kB\n').availableKiB).to.equal(400);
    expect(() => parseMemoryFacts('')).to.throw(FactError, /fact memory: no MemTotal/);
    expect(memoryFacts.stable).to.not.equal(true);
  });

  it('swap: active areas from /proc/swaps (escaped blanks decoded), totals, invisible areas', () => {
    const swaps = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/dm-1                               partition\t2097148\t\t1024\t\t-2\n/srv/swap\\040file                       file\t\t16380\t\t0\t\t-3\n';
    const facts = parseSwapFacts(`swaps=${b64(swaps)}\ninvisible=${b64('/srv/swap\\040file')}\n`);
    expect(facts.totalKiB).to.equal(2097148 + 16380);
    expect(facts.usedKiB).to.equal(1024);
    expect(facts.areas.map((area) => [area.path, area.type, area.visible])).to.deep.equal([
      ['/dev/dm-1', 'partition', true],
      ['/srv/swap file', 'file', false],
    ]);
    expect(parseSwapFacts(`swaps=${b64('Filename\tType\tSize\tUsed\tPriority\n')}\n`)).to.deep.equal({ totalKiB: 0, usedKiB: 0, areas: [] });
    expect(() => parseSwapFacts('cat: /proc/swaps: No such file\n')).to.throw(FactError, /fact swap/);
    expect(swapFacts.stable).to.not.equal(true);
  });

  it('machine id: 32 hex digits; empty or uninitialized gives ""', () => {
    expect(parseMachineId('id=c06f17063adcb662b89086ac667277d4\n')).to.deep.equal({ machineId: 'c06f17063adcb662b89086ac667277d4' });
    expect(parseMachineId('id=\n').machineId).to.equal('');
    expect(parseMachineId('id=aed\n').machineId).to.equal('');
    expect(machineIdFacts.stable).to.equal(true);
  });

  it('distribution: os-release fields (quoted), kernel and machine', () => {
    const release = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
    const facts = parseDistributionFacts(`release=${b64(release)}\nkernel=6.1.0-28-amd64\nmachine=x86_64\n`);
    expect(facts).to.deep.include({ id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-28-amd64', machine: 'x86_64' });
    expect(facts.osRelease.NAME).to.equal('Debian GNU/Linux');
    const rocky = parseDistributionFacts(`release=${b64('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n')}\nkernel=5.14.0-427.el9.x86_64\nmachine=aarch64\n`);
    expect(rocky).to.deep.include({ id: 'rocky', idLike: ['rhel', 'centos', 'fedora'], versionId: '9.4', prettyName: 'Rocky Linux', machine: 'aarch64' });
    expect(() => parseDistributionFacts('')).to.throw(FactError, /fact distribution/);
    expect(distributionFacts.stable).to.equal(true);
  });
});

describe('facts: disks and mounts', () => {
  const MOUNTS = 'overlay / overlay rw,relatime,lowerdir=/a,upperdir=/b 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n/dev/vda /srv/lab-data ext4 rw,relatime 0 0\n/dev/vdb1 /mnt/my\\040disk xfs ro,noatime 0 0\n';
  const LSBLK =
    '{\n   "blockdevices": [\n      {"name":"sda", "size":53687091200, "type":"disk", "fstype":null, "mountpoint":null,\n         "children": [\n            {"name":"sda1", "size":1073741824, "type":"part", "fstype":"xfs", "mountpoint":"/boot"},\n            {"name":"sda2", "size":"52612300800", "type":"part", "fstype":"LVM2_member", "mountpoint":null,\n               "children": [\n                  {"name":"rhel-root", "size":48318382080, "type":"lvm", "fstype":"xfs", "mountpoint":"/"},\n                  {"name":"rhel-swap", "size":4290772992, "type":"lvm", "fstype":"swap", "mountpoint":"[SWAP]"}\n               ]\n            }\n         ]\n      }\n   ]\n}\n';

  it('lsblk -J: the tree flattened with parents, sizes as numbers (old lsblk prints strings), null as ""', () => {
    const facts = parseDiskFacts(`lsblk=${b64(LSBLK)}\nmounts=${b64(MOUNTS)}\n`);
    expect(facts.source).to.equal('lsblk');
    expect(facts.devices.map((device) => [device.name, device.parent ?? '', device.sizeBytes, device.type, device.fstype, device.mountpoint])).to.deep.equal([
      ['sda', '', 53687091200, 'disk', '', ''],
      ['sda1', 'sda', 1073741824, 'part', 'xfs', '/boot'],
      ['sda2', 'sda', 52612300800, 'part', 'LVM2_member', ''],
      ['rhel-root', 'sda2', 48318382080, 'lvm', 'xfs', '/'],
      ['rhel-swap', 'sda2', 4290772992, 'lvm', 'swap', '[SWAP]'],
    ]);
  });

  it('/proc/partitions fallback: names and sizes (1 KiB blocks)', () => {
    const partitions = 'major minor  #blocks  name\n\n 252        0  268435456 vda\n   8        1    1048576 sda1\n';
    const facts = parseDiskFacts(`partitions=${b64(partitions)}\nmounts=${b64(MOUNTS)}\n`);
    expect(facts.source).to.equal('partitions');
    expect(facts.devices).to.deep.equal([
      { name: 'vda', sizeBytes: 268435456 * 1024, type: '', fstype: '', mountpoint: '' },
      { name: 'sda1', sizeBytes: 1048576 * 1024, type: '', fstype: '', mountpoint: '' },
    ]);
  });

  it('mounts: fs type and options, escaped blanks decoded; mountOf finds the mount holding a path', () => {
    const mounts = parseProcMounts(MOUNTS);
    expect(mounts[3]).to.deep.equal({ device: '/dev/vdb1', mountpoint: '/mnt/my disk', fstype: 'xfs', options: ['ro', 'noatime'] });
    expect(mountOf(mounts, '/srv/lab-data/x/y')?.device).to.equal('/dev/vda');
    expect(mountOf(mounts, '/srv/lab-datafoo')?.mountpoint).to.equal('/');
    expect(mountOf(mounts, '/mnt/my disk')?.fstype).to.equal('xfs');
    expect(() => parseDiskFacts('lsblk=e30=\n')).to.throw(FactError, /fact disks/);
    expect(diskFacts.stable).to.not.equal(true);
  });
});
