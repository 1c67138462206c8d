/**
 * The cluster playbook: takes bare hosts towards a kubeadm Kubernetes cluster. This first part is node
 * preparation (tag `prep`), run on every node of the cluster group, in the order kubeadm's own
 * prerequisites ask for (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/
 * and .../container-runtimes/): the host name and every node in /etc/hosts, the host firewall off
 * (firewalld/ufw), SELinux permissive (or disabled), swap off now and at boot, the overlay and br_netfilter modules and the
 * bridge/forwarding sysctls, base packages, and containerd with the systemd cgroup driver. Control-plane
 * init, joining workers and verification come next as further plays of this file; the lab's Kubernetes
 * stand-in (lab/k8s-standin/README.md) is what they are tested against.
 *
 *   npx tsx run playbooks/cluster.ts -i inventory.yaml --check --diff   # what would change, with diffs
 *   npx tsx run playbooks/cluster.ts -i inventory.yaml                  # apply
 *
 * Every site-specific value is an inventory variable with a documented default (the `vars` schema below).
 */
import { isIP } from 'node:net';
import { definePlaybook, s } from '../runner/playbook.ts';

/** The inventory group holding every node of the cluster; its children are control_plane and workers. */
const CLUSTER_GROUP = 'k8s';

const vars = s.object({
  /**
   * The node's address on the cluster network, for /etc/hosts. With two NICs, set it to the cluster
   * NIC's address; default: the address drover connects to (ansible_host).
   */
  node_ip: s.string().optional(),
  /** Set the host name to the inventory name (off for a controller that is only audited with --check). */
  manage_hostname: s.boolean().default(true),
  /** Kernel modules to load now and at boot (/etc/modules-load.d/k8s.conf). Add the ip_vs set for IPVS. */
  kernel_modules: s.array(s.string()).default(['overlay', 'br_netfilter']),
  /** Kernel parameters persisted in /etc/sysctl.d/k8s.conf and applied live. */
  sysctl_settings: s.record(s.string()).default({
    'net.bridge.bridge-nf-call-iptables': '1',
    'net.bridge.bridge-nf-call-ip6tables': '1',
    'net.ipv4.ip_forward': '1',
  }),
  /** SELinux mode at boot and now (RHEL family; hosts without SELinux report "not present"). */
  selinux_state: s.enum(['permissive', 'disabled'] as const).default('permissive'),
  /** Packages every node needs, for Debian/Ubuntu hosts. */
  base_packages_debian: s.array(s.string()).default(['ipvsadm', 'ipset', 'conntrack', 'socat', 'curl']),
  /** Packages every node needs, for RHEL-family hosts. */
  base_packages_redhat: s.array(s.string()).default(['ipvsadm', 'ipset', 'conntrack-tools', 'socat', 'curl']),
  /** Install and configure containerd as the container runtime (systemd cgroup driver). */
  install_containerd: s.boolean().default(true),
  /** containerd's package: `containerd` on Debian/Ubuntu; `containerd.io` from Docker's repository on RHEL. */
  containerd_package: s.string({ nonEmpty: true }).default('containerd'),
});

const book = definePlaybook({ name: 'kubeadm cluster', vars });

/**
 * containerd's configuration: the systemd cgroup driver, which must match the kubelet's. Kept minimal
 * on purpose: containerd fills in its defaults for everything not named here.
 */
const CONTAINERD_CONFIG = `# Managed by drover (playbooks/cluster.ts). The kubelet's cgroup driver must match.
version = 2

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
`;

const prep = book.play({
  name: 'prepare nodes',
  hosts: CLUSTER_GROUP,
  become: true,
  tags: ['prep'],
  handlers: {
    'restart containerd': (t) => t.systemd('restart containerd', { name: 'containerd', state: 'restarted' }),
  },
  tasks: async (t, host, ctx) => {
    const os = await host.os();

    if (host.vars.manage_hostname) await t.hostname('hostname', { name: host.name });
    const nodes = ctx.hosts(CLUSTER_GROUP).map((node) => {
      const address = typeof node.vars.node_ip === 'string' ? node.vars.node_ip : node.address;
      if (!isIP(address)) throw new Error(`${node.name}: its address ${JSON.stringify(address)} is not an IP address; set node_ip for it in the inventory`);
      return { address, names: [node.name] };
    });
    await t.hosts('cluster nodes in /etc/hosts', { entries: nodes, marker: 'drover kubernetes nodes' });

    // The distribution's firewall goes off: kube-proxy manages its own iptables rules.
    if (os.initSystem !== 'systemd') {
      // kubeadm needs systemd; a host without it (a container, a controller audited with --check) is
      // only checked for what does not need it.
    } else if (os.family === 'redhat') {
      await t.systemd('firewalld off', { name: 'firewalld', state: 'stopped', enabled: false });
    } else {
      await t.systemd('ufw off', { name: 'ufw', state: 'stopped', enabled: false });
    }
    await t.selinux('SELinux', { state: host.vars.selinux_state });
    await t.swapoff('swap off, now and at boot', { maskSwapUnits: true });

    for (const name of host.vars.kernel_modules) {
      await t.modprobe(`kernel module ${name}`, { name, persistFile: 'k8s.conf' });
    }
    await t.sysctl('kubernetes sysctl', { settings: host.vars.sysctl_settings, sysctlFile: 'k8s.conf' });

    // One package transaction for the base packages and the runtime: faster, and a dry run can predict it
    // (a second transaction would depend on the first one's refreshed package lists).
    const runtime = host.vars.install_containerd ? [host.vars.containerd_package] : [];
    if (os.family === 'redhat') {
      await t.yum('base packages and runtime', { name: [...host.vars.base_packages_redhat, ...runtime] });
    } else {
      await t.apt('base packages and runtime', { name: [...host.vars.base_packages_debian, ...runtime], updateCache: true, cacheValidTime: 3600 });
    }

    if (host.vars.install_containerd && os.initSystem === 'systemd') {
      await t.copy(
        'containerd config',
        { dest: '/etc/containerd/config.toml', content: CONTAINERD_CONFIG, mode: '0644', createParents: true },
        { notify: 'restart containerd' },
      );
      await t.systemd('containerd running', { name: 'containerd', state: 'started', enabled: true });
    }
  },
});

export default book.playbook([prep]);
