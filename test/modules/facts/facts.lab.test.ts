import { expect } from 'chai';
import { command } from '../../../modules/command.ts';
import { cpuFacts } from '../../../modules/facts/cpus.ts';
import { diskFacts, mountOf } from '../../../modules/facts/disks.ts';
import { distributionFacts } from '../../../modules/facts/distribution.ts';
import { machineIdFacts } from '../../../modules/facts/machine-id.ts';
import { memoryFacts } from '../../../modules/facts/memory.ts';
import { networkFacts, parseNetworkFacts, type NetworkFacts } from '../../../modules/facts/network.ts';
import { osFacts } from '../../../modules/facts/os.ts';
import { swapFacts } from '../../../modules/facts/swap.ts';
import { HostSession } from '../../../runner/engine/host-session.ts';
import { runPlaybook } from '../../../runner/engine/run-playbook.ts';
import { RunState } from '../../../runner/engine/run-state.ts';
import { SessionPool } from '../../../runner/engine/session-pool.ts';
import { EventBus } from '../../../runner/events.ts';
import type { Fact } from '../../../runner/facts.ts';
import { definePlaybook } from '../../../runner/playbook.ts';
import { Redactor } from '../../../runner/secret.ts';
import { connect } from '../../../runner/transport/connect.ts';
import { labTargets, onHost, type LabTarget } from '../../support/targets.ts';

// ── Integration: lab host index 0. Each fact is read through drover's runner over real SSH and checked
// against the host's own commands run with the plain OpenSSH client. The two-NIC test adds a veth link
// with its own address and moves the default route onto it (the controller reaches the host on the
// directly connected lab subnet, which no default route carries), and restores the route afterwards. ──

const VETH = 'drv-f11a';
const PEER = 'drv-f11b';

describe('facts on a lab host', function () {
  let target: LabTarget;
  let session: HostSession;
  const redactor = new Redactor();

  const sh = async (script: string): Promise<string> => {
    const out = await onHost(target, script);
    expect(out.exitCode, `${script}: ${out.stderr}`).to.equal(0);
    return out.stdout;
  };
  /** Reads a fact afresh (the tests change the host behind the runner's back). */
  const read = <T>(fact: Fact<T>): Promise<T> => {
    session.invalidateFacts();
    return session.context(undefined).fact(fact);
  };

  before(async function () {
    target = (await labTargets(this, 1))[0]!;
    session = new HostSession(target.host, connect, redactor, { defaultTimeoutMs: 300_000 });
  });
  after(async () => {
    await session?.close();
  });

  it('network: every IPv4 address (ip -o -4 addr), MAC and MTU (ip -o link), default route and the source the kernel picks (ip route get)', async () => {
    const facts = await read(networkFacts);
    expect(facts.source).to.equal('ip');
    const v4 = (await sh('ip -o -4 addr show'))
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/))
      .map((cols) => `${cols[1]} ${cols[3]}`)
      .sort();
    const mine = facts.interfaces.flatMap((link) => link.addresses.filter((address) => address.family === 'inet').map((address) => `${link.name} ${address.address}/${address.prefixLength}`)).sort();
    expect(mine).to.deep.equal(v4);
    for (const line of (await sh('ip -o link show')).trim().split('\n')) {
      const name = /^\d+: ([^:@]+)/.exec(line)![1]!;
      const link = facts.interfaces.find((candidate) => candidate.name === name);
      expect(link, `interface ${name}`).to.not.equal(undefined);
      expect(line).to.include(` mtu ${link!.mtu} `);
      expect(line).to.include(`link/${name === 'lo' ? 'loopback' : 'ether'} ${link!.mac} `);
    }
    const route = await sh('ip route show default');
    expect(route).to.match(new RegExp(`^default via ${facts.defaultRoutes[0]!.gateway!.replace(/\./g, '\\.')} dev ${facts.defaultRoutes[0]!.interface} `));
    const chosen = /dev (\S+) src (\S+)/.exec(await sh('ip -o route get 1.1.1.1'))!;
    expect(facts.primaryIpv4).to.deep.equal({ interface: chosen[1], address: chosen[2] });
    expect(facts.primaryIpv4?.address).to.equal(target.address);
  });

  it('network without `ip -j` (procfs fallback) agrees with ip on names, IPv6 addresses and default routes', async () => {
    const viaIp = await read(networkFacts);
    // A shell function named ip that fails makes the probe take its fallback, as on a host without iproute2's JSON.
    const out = await onHost(target, `ip() { return 1; }\n${networkFacts.script.text}`);
    expect(out.exitCode, out.stderr).to.equal(0);
    const viaProc = parseNetworkFacts(out.stdout);
    expect(viaProc.source).to.equal('procfs');
    const v6 = (facts: NetworkFacts) =>
      facts.interfaces
        .map(
          (link) =>
            `${link.name} ${link.addresses
              .filter((address) => address.family === 'inet6')
              .map((address) => `${address.address}/${address.prefixLength} ${address.scope}`)
              .sort()
              .join(',')}`,
        )
        .sort();
    expect(v6(viaProc)).to.deep.equal(v6(viaIp));
    expect(viaProc.defaultRoutes.filter((route) => route.family === 'inet')).to.deep.equal(viaIp.defaultRoutes.filter((route) => route.family === 'inet').map(({ source: _source, ...route }) => route));
  });

  describe('two NICs: the default route on another interface than the one drover connects to', () => {
    let gateway = '';
    before(async () => {
      gateway = /via (\S+)/.exec(await sh('ip route show default dev eth0'))![1]!;
      await sh(`set -e
ip link add ${VETH} type veth peer name ${PEER}
ip link set ${PEER} up; ip link set ${VETH} up
ip addr add 10.99.0.5/24 dev ${VETH}
ip route replace default via ${gateway} dev eth0 metric 100
ip route del default via ${gateway} dev eth0 metric 0
ip route add default via 10.99.0.1 dev ${VETH} metric 10`);
    });
    after(async () => {
      await onHost(target, `ip route replace default via ${gateway} dev eth0 metric 0; ip route del default via ${gateway} dev eth0 metric 100; ip link del ${VETH}; true`);
      expect((await sh('ip route show default')).trim()).to.match(new RegExp(`^default via ${gateway.replace(/\./g, '\\.')} dev eth0$`));
    });

    it('the primary IPv4 is the address on the default route’s interface, as the kernel picks it; both routes are listed', async () => {
      const facts = await read(networkFacts);
      expect(facts.defaultRoutes.filter((route) => route.family === 'inet').map((route) => `${route.interface} ${route.metric}`)).to.deep.equal([`${VETH} 10`, 'eth0 100']);
      expect(facts.primaryIpv4).to.deep.equal({ interface: VETH, address: '10.99.0.5' });
      const chosen = /dev (\S+) src (\S+)/.exec(await sh('ip -o route get 1.1.1.1'))!;
      expect([chosen[1], chosen[2]]).to.deep.equal([VETH, '10.99.0.5']);
      expect(facts.interfaces.find((link) => link.name === VETH)?.state).to.equal('up');
    });
  });

  it('cpus: nproc and the model of /proc/cpuinfo', async () => {
    const facts = await read(cpuFacts);
    expect(facts.count).to.equal(Number(await sh('nproc')));
    const model = (await sh(`awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo`)).trim();
    if (model) expect(facts.model).to.equal(model);
  });

  it('memory and swap: /proc/meminfo totals (free -k), /proc/swaps areas (swapon)', async () => {
    const memory = await read(memoryFacts);
    const free = (await sh('free -k'))
      .split('\n')
      .find((line) => line.startsWith('Mem:'))!
      .split(/\s+/);
    expect(memory.totalKiB).to.equal(Number(free[1]));
    expect(memory.availableKiB).to.be.greaterThan(0).and.at.most(memory.totalKiB);
    const swap = await read(swapFacts);
    const areas = (await sh('swapon --show=NAME,SIZE --bytes --noheadings || true')).trim().split('\n').filter(Boolean);
    expect(swap.areas.length).to.equal(areas.length);
    expect(swap.totalKiB).to.equal(memory.swapTotalKiB);
  });

  it('disks and mounts: every mount point of findmnt, / with its fs type, lsblk devices', async () => {
    const facts = await read(diskFacts);
    const targets = (await sh('findmnt -rn -o TARGET'))
      .trim()
      .split('\n')
      .map((path) => path.replace(/\\x20/g, ' '));
    expect(facts.mounts.map((mount) => mount.mountpoint).sort()).to.deep.equal([...targets].sort());
    expect(mountOf(facts.mounts, '/etc/hostname')?.fstype).to.equal((await sh('findmnt -n -o FSTYPE -T /etc/hostname')).trim());
    expect(mountOf(facts.mounts, '/')?.fstype).to.equal((await sh('findmnt -n -o FSTYPE -T /')).trim());
    expect(facts.source).to.equal('lsblk');
    expect(facts.devices.map((device) => device.name).sort()).to.deep.equal((await sh('lsblk -rn -o NAME')).trim().split('\n').sort());
  });

  it('distribution, kernel and machine id: /etc/os-release, uname -r/-m, /etc/machine-id', async () => {
    const facts = await read(distributionFacts);
    expect(facts.id).to.equal((await sh('. /etc/os-release; echo "$ID"')).trim());
    expect(facts.versionId).to.equal((await sh('. /etc/os-release; echo "${VERSION_ID:-}"')).trim());
    expect(facts.prettyName).to.equal((await sh('. /etc/os-release; echo "$PRETTY_NAME"')).trim());
    expect(`${facts.kernel} ${facts.machine}`).to.equal((await sh('uname -rm')).trim());
    const id = await read(machineIdFacts);
    expect(id.machineId).to.equal((await sh('cat /etc/machine-id')).trim());
  });

  it('a play reads facts with host.fact: one probe each while nothing changes; after a change only non-stable facts are probed again', async () => {
    const probes: string[] = [];
    const trace = (_host: string, _level: number, message: string) => {
      if (message.startsWith('probe')) probes.push(message);
    };
    const book = definePlaybook({ name: 'facts lab' });
    const seen: Array<{ ip?: string; machineId: string; memory: number }> = [];
    const play = book.play({
      name: 'facts',
      hosts: 'all',
      tasks: async (t, host) => {
        for (let round = 0; round < 2; round++) {
          const network = await host.fact(networkFacts);
          const id = await host.fact(machineIdFacts);
          const memory = await host.fact(memoryFacts);
          seen.push({ ip: network.primaryIpv4?.address, machineId: id.machineId, memory: memory.totalKiB });
        }
        await t.run(command, 'a change', { argv: ['true'] });
        await host.fact(networkFacts);
        await host.fact(machineIdFacts);
      },
    });
    const sessions = new SessionPool((host) => new HostSession(host, connect, redactor, { defaultTimeoutMs: 300_000, trace }));
    const state = new RunState();
    await runPlaybook(book.playbook([play]), new Map([[target.name, {}]]), {
      check: false,
      keepGoing: false,
      forks: 1,
      tags: { only: [], skip: [] },
      selectHosts: () => [target.host],
      inventoryHosts: () => [target.host],
      sessions,
      bus: new EventBus('facts-lab', []),
      state,
      redactor,
      clock: () => Date.now(),
      modules: {},
      osFact: osFacts,
    });
    await sessions.closeAll();
    expect(state.exitCode()).to.equal(0);
    expect(seen).to.have.length(2);
    expect(seen[0]).to.deep.equal(seen[1]);
    expect(seen[0]!.ip).to.equal(target.address);
    expect(seen[0]!.machineId).to.equal((await sh('cat /etc/machine-id')).trim());
    const count = (needle: string) => probes.filter((message) => message.includes(needle)).length;
    expect(count('/etc/machine-id'), probes.join('\n')).to.equal(1);
    expect(count('/proc/meminfo'), probes.join('\n')).to.equal(1);
    expect(count('ip -j addr'), probes.join('\n')).to.equal(2);
  });
});
