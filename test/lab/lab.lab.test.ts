/**
 * The lab itself, on real hosts: reachable with host-key checking on, distinct, isolated from the
 * controller, idempotent to bring up, and served by its own package repositories.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { parse } from 'yaml';
import { BRIDGE, hostSlot } from '../../lab/addressing.ts';
import { withLabLock } from '../../lab/lock.ts';
import { findLabProcesses, isAlive } from '../../lab/machine.ts';
import { labLinks, labNamespaces } from '../../lab/network.ts';
import { labPaths } from '../../lab/paths.ts';
import { OPS_PASSWORD } from '../../lab/recipe.ts';
import { status } from '../../lab/status.ts';
import { up } from '../../lab/up.ts';
import { describeWithLab, labSsh, type LabHost } from '../support/lab.ts';

const HOSTS = 3;

describeWithLab('lab hosts', HOSTS, (lab) => {
  const ssh = (host: LabHost, command: string, options?: { user?: string; input?: string }) => labSsh(lab(), host, command, options);
  const ok = async (host: LabHost, command: string, options?: { user?: string; input?: string }) => {
    const result = await ssh(host, command, options);
    expect(result.code, `${host.name}: ${command}\n${result.stderr}`).to.equal(0);
    return result.stdout;
  };

  it('answers SSH as root with strict host-key checking, each with its own hostname', async () => {
    const names = await Promise.all(lab().hosts.map((host) => ok(host, 'hostname')));
    expect(names.map((name) => name.trim())).to.deep.equal(lab().hosts.map((host) => host.name));
  });

  it('refuses a host whose key is not the one recorded for its address', async () => {
    const [first, second] = lab().hosts as [LabHost, LabHost];
    // Connect to the first host while OpenSSH checks its key against the second host's entry.
    const result = await labSsh(lab(), first, 'true', { hostKeyAlias: second.address });
    expect(result.code).to.equal(255);
    expect(result.stderr).to.match(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('gives every host distinct host keys and machine ids', async () => {
    const lines = readFileSync(lab().knownHostsPath, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    expect(lines.map(([address]) => address)).to.include.members(lab().hosts.map((host) => host.address));
    const keys = lines.map((fields) => fields.slice(1).join(' '));
    expect(new Set(keys).size).to.equal(keys.length);
    const ids = await Promise.all(lab().hosts.map((host) => ok(host, 'cat /etc/machine-id')));
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('runs systemd as PID 1 with nothing failed, on every host', async () => {
    for (const host of lab().hosts) {
      expect((await ok(host, 'ps -o comm= -p 1')).trim()).to.equal('systemd');
      const state = await ok(host, 'systemctl is-system-running --wait || true; systemctl --failed --no-legend --plain');
      expect(state.trim(), `${host.name}: failed units`).to.equal('running');
    }
  });

  it('gives every host its own cgroups: no two hosts’ systemd share one (units of one name raced there)', async () => {
    const nspawnHost = new Map((await findLabProcesses(labPaths().hostsDir, new Map())).filter((proc) => proc.kind === 'nspawn').map((proc) => [proc.pid, proc.host!] as const));
    const cgroupsOf = new Map<string, string[]>();
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const [, comm, ppid] = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat) ?? [];
        const host = nspawnHost.get(Number(ppid));
        if (comm !== 'systemd' || host === undefined) continue;
        const lines = readFileSync(`/proc/${entry}/cgroup`, 'utf8').trim().split('\n');
        cgroupsOf.set(
          host,
          lines.filter((line) => /^\d+:(name=systemd)?:/.test(line)).map((line) => line.replace(/^\d+:/, '')),
        );
      } catch {
        // Gone meanwhile.
      }
    }
    // Every host of this test's lab; a larger lab left up by an earlier suite has more.
    expect([...cgroupsOf.keys()]).to.include.members(lab().hosts.map((host) => host.name));
    const all = [...cgroupsOf.values()].flat();
    expect(all.length).to.be.greaterThan(0);
    expect(new Set(all).size, all.join('\n')).to.equal(all.length);
    for (const [host, cgroups] of cgroupsOf) {
      for (const cgroup of cgroups) expect(cgroup, host).to.match(new RegExp(`:/drover-lab/[^/]*${host}/payload/`));
    }
  });

  it('changes net.ipv4.ip_forward inside a host without touching the controller', async () => {
    const [host] = lab().hosts as [LabHost];
    const controllerBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const flipped = controllerBefore === '1' ? '0' : '1';
    const before = (await ok(host, 'sysctl -n net.ipv4.ip_forward')).trim();
    try {
      await ok(host, `sysctl -w net.ipv4.ip_forward=${flipped}`);
      expect((await ok(host, 'cat /proc/sys/net/ipv4/ip_forward')).trim()).to.equal(flipped);
      expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).to.equal(controllerBefore);
    } finally {
      await ok(host, `sysctl -w net.ipv4.ip_forward=${before}`);
    }
  });

  it('applies iptables rules inside a host only', async () => {
    const [host, other] = lab().hosts as [LabHost, LabHost];
    const chain = 'DROVER-LAB-TEST';
    try {
      await ok(host, `iptables -N ${chain} && iptables -A ${chain} -p tcp --dport 9 -j REJECT`);
      expect(await ok(host, `iptables -S ${chain}`)).to.include(`-A ${chain} -p tcp -m tcp --dport 9 -j REJECT`);
      expect((await ssh(other, `iptables -S ${chain}`)).code).to.not.equal(0);
    } finally {
      await ssh(host, `iptables -F ${chain}; iptables -X ${chain}`);
    }
  });

  it('mounts, and gives /srv/lab-data a real disk filesystem for swap files', async () => {
    const [host] = lab().hosts as [LabHost];
    expect((await ok(host, 'stat -f -c %T /')).trim()).to.equal('overlayfs');
    expect((await ok(host, 'stat -f -c %T /srv/lab-data')).trim()).to.not.match(/overlay|tmpfs/);
    await ok(host, 'mkdir -p /mnt/drover-test && mount -t tmpfs none /mnt/drover-test && findmnt -n /mnt/drover-test && umount /mnt/drover-test');
  });

  it('lets ops become root with its password, and not without', async () => {
    const [host] = lab().hosts as [LabHost];
    expect((await ok(host, "sudo -k; sudo -S -p '' id -u", { user: 'ops', input: `${OPS_PASSWORD}\n` })).trim()).to.equal('0');
    const refused = await ssh(host, 'sudo -k; sudo -n true', { user: 'ops' });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/password is required/);
  });

  it('answers modprobe for modules the shared kernel has', async () => {
    const [host] = lab().hosts as [LabHost];
    await ok(host, 'modprobe overlay && modprobe br_netfilter');
    expect((await ok(host, 'sysctl -n net.bridge.bridge-nf-call-iptables')).trim()).to.match(/^[01]$/);
  });

  it('installs packages from the lab apt repository, with versions to choose from', async () => {
    // The last host: module tests running at the same time against this lab mostly use the first ones.
    const host = lab().hosts[lab().hosts.length - 1]!;
    const apt = 'DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=120';
    await ok(host, `${apt} update`);
    await ok(host, `${apt} install -y hello drover-test-a=1.0 >/dev/null`);
    expect((await ok(host, 'hello')).trim()).to.equal('Hello, world!');
    expect((await ok(host, 'cat /usr/share/drover-test-a/VERSION')).trim()).to.equal('drover-test-a 1.0');
    await ok(host, `${apt} install -y drover-test-a >/dev/null`);
    expect((await ok(host, 'cat /usr/share/drover-test-a/VERSION')).trim()).to.equal('drover-test-a 1.1');
    expect(await ok(host, 'apt-cache policy containerd runc conntrack ipset ipvsadm socat curl')).to.not.match(/Candidate: \(none\)/);
    await ok(host, `${apt} purge -y hello drover-test-a >/dev/null`);
  });

  it('installs RPMs with a real dnf from the lab RPM repository', async () => {
    const host = lab().hosts[lab().hosts.length - 1]!;
    await ok(host, 'dnf -q -y install drover-test-a-1.0');
    expect((await ok(host, 'cat /usr/share/drover-test-a/VERSION')).trim()).to.equal('drover-test-a 1.0');
    await ok(host, 'dnf -q -y upgrade drover-test-a');
    expect((await ok(host, 'rpm -q drover-test-a')).trim()).to.equal('drover-test-a-1.1-1.noarch');
    await ok(host, 'dnf -q -y remove drover-test-a');
  });

  it('writes an inventory with control_plane and workers under k8s', () => {
    const inventory = parse(readFileSync(lab().inventoryPath, 'utf8'));
    const groups = inventory.all.children.k8s.children;
    expect(Object.keys(groups.control_plane.hosts)).to.deep.equal(['lab-1']);
    expect(Object.keys(groups.workers.hosts)).to.include.members(
      lab()
        .hosts.slice(1)
        .map((host) => host.name),
    );
    expect(inventory.all.vars.drover_known_hosts_file).to.equal(lab().knownHostsPath);
  });

  it('does not duplicate anything when brought up again', async () => {
    const paths = labPaths();
    const snapshot = async () => ({
      namespaces: (await labNamespaces()).sort(),
      links: (await labLinks()).sort(),
      nspawn: (await findLabProcesses(paths.hostsDir, new Map()))
        .filter((proc) => proc.kind === 'nspawn')
        .map((proc) => `${proc.host}:${proc.pid}`)
        .sort(),
      supervisors: (await findLabProcesses(paths.hostsDir, new Map()))
        .filter((proc) => proc.kind === 'supervisor')
        .map((proc) => `${proc.host}:${proc.pid}`)
        .sort(),
      mounts: readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((line) => line.includes(paths.hostsDir)).length,
      hostDirs: (await readdir(paths.hostsDir)).sort(),
    });
    // The lock is held across the whole comparison: other test processes may share this lab.
    await withLabLock(paths.lockFile, async () => {
      const count = (await status(paths)).length;
      const before = await snapshot();
      await up(paths, { count, log: () => undefined });
      expect(await snapshot()).to.deep.equal(before);
      expect(before.namespaces).to.have.length(count);
      expect(before.nspawn).to.have.length(count);
      // Each host's nspawn runs under the supervisor that starts it again after a reboot (lab/machine.ts).
      expect(before.supervisors).to.have.length(count);
      expect(before.links.filter((link) => link === BRIDGE)).to.have.length(1);
    });
  });

  it('rebuilds a crashed host on the next up, and removes hosts above the wanted number', async function () {
    this.timeout(180_000);
    const paths = labPaths();
    // Held throughout: the lab grows by one host and shrinks back, which other test processes must not see half done.
    await withLabLock(paths.lockFile, async () => {
      const count = (await status(paths)).length;
      const extra = hostSlot(count + 1);
      await up(paths, { count: count + 1, log: () => undefined });
      try {
        // Crash: the host's nspawn dies without any clean-up.
        const [nspawn] = (await findLabProcesses(paths.hostsDir, new Map())).filter((proc) => proc.host === extra.name && proc.kind === 'nspawn');
        process.kill(nspawn!.pid, 'SIGKILL');
        // Until it has really died (a fixed pause was a guess on a loaded machine).
        for (const deadline = Date.now() + 30_000; isAlive(nspawn!.pid); ) {
          if (Date.now() > deadline) throw new Error(`nspawn ${nspawn!.pid} still alive 30 s after SIGKILL`);
          await new Promise((resolveWait) => setTimeout(resolveWait, 50));
        }
        // A crash is not a reboot (exit 133): the supervisor does not start the host again.
        await new Promise((resolveWait) => setTimeout(resolveWait, 3_000));
        expect((await findLabProcesses(paths.hostsDir, new Map())).filter((proc) => proc.host === extra.name)).to.deep.equal([]);
        const state = await up(paths, { count: count + 1, log: () => undefined });
        const rebuilt = state.hosts.find((host) => host.name === extra.name)!;
        expect(rebuilt.pid).to.not.equal(nspawn!.pid);
        expect((await labSsh(lab(), extra, 'hostname')).stdout.trim()).to.equal(extra.name);
      } finally {
        await up(paths, { count, log: () => undefined });
      }
      expect(await labNamespaces()).to.not.include(extra.netns);
      expect((await status(paths)).map((host) => host.name)).to.not.include(extra.name);
    });
  });
});
