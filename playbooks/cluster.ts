/**
 * The cluster playbook: bare hosts to a joined kubeadm Kubernetes cluster in one command, in the order
 * kubeadm's own documentation asks for (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/).
 *
 *   1. preflight (tag `always`: runs with any --tags, and in --check): reads every host, then lists every
 *      problem on every host at once and stops the run before any host is changed;
 *   2. node preparation (tags `prep`, `runtime`): host name and /etc/hosts, firewall off, SELinux permissive,
 *      swap off, kernel modules and sysctls, base packages, containerd, the Kubernetes package repository
 *      and kubelet/kubeadm/kubectl pinned to one version and held, kubelet enabled;
 *   3. control plane (tag `control-plane`, the first host of `control_plane`): kubeadm config from
 *      templates/kubeadm-init.yaml.hbs, images pulled, `kubeadm init` once (guarded by admin.conf), the
 *      admin kubeconfig installed, the CNI applied;
 *   4. workers (tag `join`): a fresh bootstrap token from the control plane, only when a worker needs one
 *      (made by the control plane's play, or on its behalf by the worker when --limit left it out),
 *      handed to each worker in a 0600 JoinConfiguration file (never in argv), `kubeadm join` once (guarded
 *      by kubelet.conf);
 *   5. verify (tag `verify`): a bounded wait until every node is Ready, then the nodes printed.
 *
 * playbooks/reset.ts undoes it. In the lab, kubeadm, the kubelet and kubectl are the lab's Kubernetes
 * STAND-IN (lab/k8s-standin/README.md), not Kubernetes: what that exercises for real is in the README.
 *
 *   npx tsx run playbooks/cluster.ts -i inventory.yaml --check --diff   # what would change, with diffs
 *   npx tsx run playbooks/cluster.ts -i inventory.yaml                  # apply
 *   npx tsx run playbooks/cluster.ts -i inventory.yaml --limit new-worker   # add a worker
 *
 * A worker added with --limit has its token made on the control plane by delegation (delegateTo is not
 * narrowed by --limit); no other host runs a task. Every site-specific value is an inventory variable with a documented default
 * (the `vars` schema below; inventory.example.yaml shows them all).
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import { definePlaybook, s, secret, type HostInfo, type Secret, type Shared, type Tasks } from '../runner/playbook.ts';
import { cpuFacts, distributionFacts, kernelModule, memoryFacts, networkFacts } from '../modules/facts/index.ts';
import { crossHostProblems, hostProblems, type HostReading } from './lib/cluster-preflight.ts';

/** The inventory group holding every node of the cluster; its children are control_plane and workers. */
const CLUSTER_GROUP = 'k8s';
const CONTROL_PLANE_GROUP = 'control_plane';
const WORKERS_GROUP = 'workers';
const TEMPLATES = join(import.meta.dirname, '../templates');

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
  /**
   * Debian/Ubuntu: install the packages' recommended packages too. Off by default: a node needs none of
   * them (containerd's recommend, criu, pulls in Python and SGML tooling), and without them every package
   * the transaction brings has only debhelper's standard scripts, so a dry run predicts the install exactly.
   */
  install_recommends: s.boolean().default(false),
  /** Packages every node needs, for RHEL-family hosts. */
  base_packages_redhat: s.array(s.string()).default(['ipvsadm', 'ipset', 'conntrack-tools', 'socat', 'curl']),
  /** Install and configure containerd as the container runtime (systemd cgroup driver). */
  install_containerd: s.boolean().default(true),
  /** containerd's package: `containerd` on Debian/Ubuntu; `containerd.io` from Docker's repository on RHEL. */
  containerd_package: s.string({ nonEmpty: true }).default('containerd'),
  /** The pause image containerd runs each pod's sandbox from (a reachable mirror's copy); default: containerd's own. */
  containerd_sandbox_image: s.string({ pattern: /^[a-z0-9][a-z0-9._/:@-]*$/, what: 'an image reference such as registry.k8s.io/pause:3.9' }).optional(),
  /**
   * Registry mirrors for containerd, per registry: `{ docker.io: [https://mirror.example.com] }`. Written as
   * /etc/containerd/certs.d/REGISTRY/hosts.toml (containerd's hosts format); the registry itself stays the fallback.
   */
  containerd_registry_mirrors: s
    .record(s.array(s.string({ pattern: /^https?:\/\/[^\s"]+$/, what: 'a mirror URL such as https://mirror.example.com' })))
    .default({}),

  /** Kubernetes version of kubelet/kubeadm/kubectl and of the cluster, without the `v` (`1.30.13`). */
  kubernetes_version: s.string({ pattern: /^\d+\.\d+\.\d+$/, what: 'a version such as 1.30.13' }).default('1.30.13'),
  /**
   * The Kubernetes package mirror, laid out as pkgs.k8s.io (`core:/stable:/v1.30/deb/`, `…/rpm/`). Sites
   * that cannot reach pkgs.k8s.io point it at their mirror; the lab uses file:///srv/drover-k8s-repo.
   */
  kubernetes_mirror: s.string({ pattern: /^(https?|file):\/\/\S+[^/]$/, what: 'a URL without a trailing slash' }).default('https://pkgs.k8s.io'),
  /** Where kubeadm pulls the control-plane images from (a reachable mirror where registry.k8s.io is not). */
  image_repository: s.string({ nonEmpty: true }).default('registry.k8s.io'),
  /** The container runtime's CRI socket, as kubeadm takes it. */
  cri_socket: s.string({ pattern: /^unix:\/\/\//, what: 'a unix:// socket URL' }).default('unix:///var/run/containerd/containerd.sock'),
  /** The pods' network; the CNI's pool is set to it. Must overlap no host network and not service_subnet. */
  pod_subnet: s.string({ nonEmpty: true }).default('10.244.0.0/16'),
  /** The services' network (kubeadm's default). */
  service_subnet: s.string({ nonEmpty: true }).default('10.96.0.0/12'),
  /**
   * kube-proxy's mode. `ipvs` adds the IPVS modules (ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack) to
   * kernel_modules and IPVS's keepalive sysctls to sysctl_settings (values given there win).
   */
  kube_proxy_mode: s.enum(['iptables', 'ipvs'] as const).default('iptables'),
  /**
   * The CNI manifest: a Handlebars template on the controller given podSubnet and cniInterface. The default
   * is a REDUCED Calico manifest (the calico-node DaemonSet only, enough for the lab's stand-in); a real
   * cluster points this at Calico's full manifest made a template (templates/calico.yaml.hbs says how).
   */
  cni_manifest: s.string({ nonEmpty: true }).default(join(TEMPLATES, 'calico.yaml.hbs')),
  /** The interface the CNI uses (Calico's IP_AUTODETECTION_METHOD); default: the one holding the node's cluster address. */
  cni_interface: s.string({ pattern: /^[A-Za-z0-9_.@-]+$/, what: 'an interface name' }).optional(),
  /** The user whose ~/.kube/config gets the admin kubeconfig on the control plane. */
  kubeconfig_user: s.string({ pattern: /^[a-z_][a-z0-9_-]*$/, what: 'a user name' }).default('root'),
  /** How long a worker's bootstrap token lives (kubeadm's duration); it is used at once, so keep it short. */
  join_token_ttl: s.string({ pattern: /^\d+[hms]$/, what: 'a duration such as 1h or 30m' }).default('1h'),
  /** How long the verify play waits for every node to be Ready, in seconds. */
  node_ready_timeout: s.int({ min: 10 }).default(600),
  /** Preflight: the least CPUs a control-plane host may have (kubeadm's own check wants 2). */
  preflight_min_cpus: s.int({ min: 1 }).default(2),
  /** Preflight: the least memory of a control-plane host, MiB (2 GiB; kubeadm's own check wants 1700 MB). */
  preflight_min_memory_mib: s.int({ min: 1 }).default(2048),
});

/** The modules kube-proxy's IPVS mode needs (its round-robin, weighted and source-hash schedulers). */
const IPVS_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'nf_conntrack'];
/** Keepalives below IPVS's 900 s idle timeout, so idle connections through a service are not dropped. */
const IPVS_SYSCTLS: Record<string, string> = {
  'net.ipv4.tcp_keepalive_time': '600',
  'net.ipv4.tcp_keepalive_intvl': '30',
  'net.ipv4.vs.conntrack': '1',
};

const book = definePlaybook({ name: 'kubeadm cluster', vars });

/**
 * containerd's configuration: the systemd cgroup driver, which must match the kubelet's. Kept minimal
 * on purpose: containerd fills in its defaults for everything not named here.
 */
function containerdConfig(sandboxImage: string | undefined, mirrors: boolean): string {
  // Nothing beyond the cgroup driver unless asked: the default file is the same as before these options.
  const sandbox = sandboxImage ? `\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "${sandboxImage}"\n` : '';
  return `# Managed by drover (playbooks/cluster.ts). The kubelet's cgroup driver must match.
version = 2
${sandbox}${mirrors ? `\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${CERTS_D}"\n` : ''}
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
`;
}

const CERTS_D = '/etc/containerd/certs.d';

/** A registry name as containerd's hosts directory names it, and the server it falls back to. */
function registryServer(registry: string): string {
  return registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
}

/** containerd's hosts.toml for one registry: the mirrors first, in order, then the registry itself. */
function hostsToml(registry: string, mirrors: string[]): string {
  return `# Managed by drover (playbooks/cluster.ts): mirrors for ${registry}, tried in order.
server = "${registryServer(registry)}"
${mirrors.map((mirror) => `\n[host."${mirror}"]\n  capabilities = ["pull", "resolve"]\n`).join('')}`;
}

/** The node's address on the cluster network: node_ip, else the address drover connects to. */
function clusterAddress(node: { name: string; address: string; vars: Readonly<Record<string, unknown>> }): string {
  const address = typeof node.vars.node_ip === 'string' ? node.vars.node_ip : node.address;
  if (!isIP(address)) throw new Error(`${node.name}: its address ${JSON.stringify(address)} is not an IP address; set node_ip for it in the inventory`);
  return address;
}

/** Read-only: what the named facts do not hold, in one round trip. */
const PREFLIGHT_PROBE = `uuid=$(cat /sys/class/dmi/id/product_uuid 2>/dev/null || true)
echo "uuid=$uuid"
if grep -qw overlay /proc/filesystems; then echo overlay=yes; else echo overlay=no; fi
d=/var/lib/containerd
while [ ! -e "$d" ]; do d=$(dirname "$d"); done
fs=$(stat -f -c %T "$d")
echo "runtime_dir=$d"
echo "runtime_fs=$fs"
if [ "$fs" = xfs ]; then echo "xfs=$(xfs_info "$d" 2>/dev/null | grep -o 'ftype=[01]' | head -n 1)"; fi
if [ -e /etc/kubernetes/kubelet.conf ]; then echo member=yes; else echo member=no; fi
echo "hostname=$(cat /proc/sys/kernel/hostname)"
echo "listening=$( (ss -Hltn 2>/dev/null || netstat -ltn 2>/dev/null | tail -n +3) | awk '{print $4}' | sed 's/.*://' | sort -un | tr '\\n' ' ')"
`;

function probeField(text: string, name: string): string {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}=`));
  return line === undefined ? '' : line.slice(name.length + 1).trim();
}

const readHosts = book.play({
  name: 'preflight: read every host',
  hosts: CLUSTER_GROUP,
  become: true,
  // `always`: a run with --tags join still checks the fleet first; a read-only play, so --check runs it too.
  tags: ['always', 'preflight'],
  tasks: async (t, host, ctx): Promise<HostReading> => {
    const [dist, cpus, memory, net] = await Promise.all([host.fact(distributionFacts), host.fact(cpuFacts), host.fact(memoryFacts), host.fact(networkFacts)]);
    const probe = await t.shell('read runtime filesystem, ports, product_uuid', { cmd: PREFLIGHT_PROBE, readOnly: true });
    const self = ctx.hosts(CLUSTER_GROUP).find((node) => node.name === host.name)!;
    // Every module the prep will ask modprobe for, read as modprobe's own task reads it (loaded, built in,
    // shown by what it provides, or loadable), so a kernel without them stops the run before any change.
    const ipvs = host.vars.kube_proxy_mode === 'ipvs';
    const wanted = [...new Set([...host.vars.kernel_modules, ...(ipvs ? IPVS_MODULES : [])])];
    const modules = await Promise.all(wanted.map(async (name) => ({ name, state: await host.fact(kernelModule(name)) })));
    const missing = modules.filter(({ state }) => !state.loaded && !state.builtin && state.providedBy === undefined && state.loadable === false);
    return {
      host: host.name,
      nodeName: host.vars.manage_hostname ? host.name : probeField(probe.stdout, 'hostname'),
      controlPlane: host.groups.includes(CONTROL_PLANE_GROUP),
      os: { id: dist.id, idLike: dist.idLike, versionId: dist.versionId, prettyName: dist.prettyName },
      cpus: cpus.count,
      memoryKiB: memory.totalKiB,
      productUuid: probeField(probe.stdout, 'uuid'),
      interfaces: net.interfaces
        .filter((nic) => nic.name !== 'lo')
        .map((nic) => ({
          name: nic.name,
          mac: /^(00:){5}00$/.test(nic.mac) ? '' : nic.mac,
          addresses: nic.addresses.filter((address) => address.scope !== 'link').map(({ address, prefixLength }) => ({ address, prefixLength })),
        })),
      clusterAddress: clusterAddress(self),
      overlayInKernel: probeField(probe.stdout, 'overlay') === 'yes',
      runtimeDir: probeField(probe.stdout, 'runtime_dir'),
      runtimeFs: probeField(probe.stdout, 'runtime_fs'),
      ...(probeField(probe.stdout, 'xfs') !== '' && { xfsFtype: probeField(probe.stdout, 'xfs') }),
      listening: probeField(probe.stdout, 'listening').split(/\s+/).filter(Boolean).map(Number),
      member: probeField(probe.stdout, 'member') === 'yes',
      missingModules: {
        names: missing.map(({ name }) => name),
        kernel: modules[0]?.state.kernel ?? '',
        ipvs: ipvs && missing.some(({ name }) => IPVS_MODULES.includes(name)),
      },
    };
  },
});

const verdict = book.play({
  name: 'preflight: every problem on every host',
  hosts: CLUSTER_GROUP,
  tags: ['always', 'preflight'],
  tasks: async (t, host, ctx) => {
    // In inventory order (outputs arrive in the order hosts finished), so the first host is always the same.
    const read = ctx.outputs(readHosts);
    const readings = ctx.hosts(CLUSTER_GROUP).flatMap((node) => read.get(node.name) ?? []);
    const problems = [
      ...readings.flatMap((reading) =>
        hostProblems(
          reading,
          { pod: host.vars.pod_subnet, service: host.vars.service_subnet },
          { minCpus: host.vars.preflight_min_cpus, minMemoryMiB: host.vars.preflight_min_memory_mib },
        ),
      ),
      ...crossHostProblems(readings),
    ];
    // The first host lists everything; the others fail too (so no later play runs anywhere, even with
    // --keep-going) and point at it.
    const first = readings[0]?.host;
    await t.assert('cluster preflight', {
      that:
        host.name === first && problems.length > 0
          ? problems.map((msg) => ({ ok: false, msg }))
          : [{ ok: problems.length === 0, msg: `the cluster preflight found ${problems.length} problem(s), listed on ${first}` }],
      hint: 'nothing was changed on any host; fix these and run again',
      successMsg: `all ${readings.length} host(s) fit: OS, CPUs and memory, unique names/product_uuid/MACs, cluster addresses, subnets, overlayfs, ports`,
    });
  },
});

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
    const nodes = ctx.hosts(CLUSTER_GROUP).map((node) => ({ address: clusterAddress(node), names: [node.name] }));
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

    const ipvs = host.vars.kube_proxy_mode === 'ipvs';
    for (const name of [...new Set([...host.vars.kernel_modules, ...(ipvs ? IPVS_MODULES : [])])]) {
      await t.modprobe(`kernel module ${name}`, { name, persistFile: 'k8s.conf' });
    }
    await t.sysctl('kubernetes sysctl', { settings: { ...(ipvs ? IPVS_SYSCTLS : {}), ...host.vars.sysctl_settings }, sysctlFile: 'k8s.conf' });

    // One package transaction for the base packages and the runtime: faster, and a dry run can predict it
    // (a second transaction would depend on the first one's refreshed package lists).
    const runtime = host.vars.install_containerd ? [host.vars.containerd_package] : [];
    if (os.family === 'redhat') {
      await t.yum('base packages and runtime', { name: [...host.vars.base_packages_redhat, ...runtime] });
    } else {
      await t.apt('base packages and runtime', {
        name: [...host.vars.base_packages_debian, ...runtime],
        updateCache: true,
        cacheValidTime: 3600,
        installRecommends: host.vars.install_recommends,
      });
    }

    if (host.vars.install_containerd && os.initSystem === 'systemd') {
      await t.copy(
        'containerd config',
        {
          dest: '/etc/containerd/config.toml',
          content: containerdConfig(host.vars.containerd_sandbox_image, Object.keys(host.vars.containerd_registry_mirrors).length > 0),
          mode: '0644',
          createParents: true,
        },
        { notify: 'restart containerd', tags: ['runtime'] },
      );
      for (const [registry, mirrors] of Object.entries(host.vars.containerd_registry_mirrors)) {
        if (!/^[a-z0-9][a-z0-9.-]*(:\d+)?$/.test(registry))
          throw new Error(`${host.name}: containerd_registry_mirrors key ${JSON.stringify(registry)} is not a registry host name such as docker.io`);
        await t.copy(
          `containerd mirrors for ${registry}`,
          { dest: `${CERTS_D}/${registry}/hosts.toml`, content: hostsToml(registry, mirrors), mode: '0644', createParents: true },
          { notify: 'restart containerd', tags: ['runtime'] },
        );
      }
      await t.systemd('containerd running', { name: 'containerd', state: 'started', enabled: true }, { tags: ['runtime'] });
    }

    // The Kubernetes packages, from pkgs.k8s.io's layout (one repository per minor release), pinned to
    // kubernetes_version and held: an unattended upgrade must not move a node's kubelet past the cluster.
    const version = host.vars.kubernetes_version;
    const minor = version.split('.').slice(0, 2).join('.');
    const base = `${host.vars.kubernetes_mirror}/core:/stable:/v${minor}`;
    const packages = ['kubelet', 'kubeadm', 'kubectl'];
    if (os.family === 'redhat') {
      await t.yumRepository('kubernetes package repository', {
        name: 'kubernetes',
        description: `Kubernetes v${minor}`,
        baseurl: [`${base}/rpm/`],
        gpgcheck: true,
        repoGpgcheck: true,
        gpgkey: [`${base}/rpm/repodata/repomd.xml.key`],
        // The hold: plain `yum update` never touches them; only this play lifts the exclude for its pin.
        exclude: [...packages, 'cri-tools', 'kubernetes-cni'],
      });
      await t.yum('kubelet, kubeadm, kubectl pinned', { name: packages.map((name) => `${name}-${version}`), disableExcludes: 'kubernetes' });
    } else {
      // The key comes from the mirror itself, read on the host (the host may be the only one that reaches
      // the mirror) with apt's own downloader, which every apt host has, before curl is installed too. A
      // read: a dry run has the key as well, so apt there can rehearse the refresh with the repository
      // added and predict the Kubernetes packages exactly. aptRepository keeps it as keyrings/kubernetes.asc.
      const key = await t.shell('kubernetes repository key', {
        cmd: `dir=$(mktemp -d) && trap 'rm -rf "$dir"' EXIT && chmod 755 "$dir"
if id _apt >/dev/null 2>&1; then chown _apt "$dir"; fi
/usr/lib/apt/apt-helper download-file "$URL" "$dir/key" >/dev/null
cat "$dir/key"`,
        env: { URL: `${base}/deb/Release.key` },
        readOnly: true,
      });
      const repo = await t.aptRepository('kubernetes package repository', { name: 'kubernetes', repo: `deb ${base}/deb/ /`, signedBy: key.stdout });
      // updateCache when the repository is new: in a real run the lists were just refreshed (a cheap second
      // look); under --check it is what lets apt predict packages from a repository not added yet.
      await t.apt('kubelet, kubeadm, kubectl pinned and held', {
        name: packages.map((name) => `${name}=${version}-*`),
        hold: true,
        updateCache: repo.changed,
        installRecommends: host.vars.install_recommends,
      });
    }
    if (os.initSystem === 'systemd') {
      // Enabled, not started: it restarts in a loop until kubeadm init/join configures it (expected).
      await t.systemd('kubelet enabled', { name: 'kubelet', enabled: true });
    }
  },
});

/** The first host of control_plane: the one kubeadm init runs on and the workers join. */
function firstControlPlane(ctx: { hosts(pattern: string): Array<{ name: string; address: string; vars: Readonly<Record<string, unknown>> }> }) {
  const first = ctx.hosts(CONTROL_PLANE_GROUP)[0];
  if (!first) throw new Error(`the inventory has no host in group ${CONTROL_PLANE_GROUP}; put the first control-plane host there`);
  return first;
}

/** The interface holding an address (for the CNI's autodetection), from the host's network facts. */
async function interfaceOf(host: Pick<HostInfo<unknown>, 'name' | 'fact'>, address: string): Promise<string> {
  const net = await host.fact(networkFacts);
  const nic = net.interfaces.find((candidate) => candidate.addresses.some((a) => a.address === address));
  if (!nic) throw new Error(`${host.name}: no interface holds ${address}; set cni_interface`);
  return nic.name;
}

const kubeadmInit = book.template(join(TEMPLATES, 'kubeadm-init.yaml.hbs'), {
  vars: ['advertiseAddress', 'nodeName', 'criSocket', 'imageRepository', 'kubernetesVersion', 'podSubnet', 'serviceSubnet', 'kubeProxyMode'],
  hosts: CONTROL_PLANE_GROUP,
});
const kubeadmJoin = book.template(join(TEMPLATES, 'kubeadm-join.yaml.hbs'), {
  vars: ['apiServerEndpoint', 'token', 'caCertHash', 'nodeName', 'criSocket', 'nodeIp'],
  hosts: WORKERS_GROUP,
});
book.template(join(TEMPLATES, 'calico.yaml.hbs'), { vars: ['podSubnet', 'cniInterface'], hosts: CONTROL_PLANE_GROUP });

const ADMIN_CONF = '/etc/kubernetes/admin.conf';
const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';
const DROVER_DIR = '/etc/kubernetes/drover';
const KUBECTL_ENV = { KUBECONFIG: ADMIN_CONF };
/**
 * With --tags, a play's code still runs and only its unselected tasks are skipped (a skipped task has no
 * value). So the read-only tasks whose values decide what comes next are tagged `always`, and a stop is an
 * `assert` task (skipped with its play's tag) rather than a throw.
 */
const READ = { tags: ['always'] };

const controlPlane = book.play({
  name: 'control plane',
  hosts: CONTROL_PLANE_GROUP,
  become: true,
  tags: ['control-plane'],
  tasks: async (t, host, ctx) => {
    const first = firstControlPlane(ctx);
    if (host.name !== first.name) {
      await t.debug('not the first control-plane host', {
        msg: `${host.name}: joining further control-plane hosts is not implemented; only ${first.name} is initialised`,
      });
      return;
    }
    const address = clusterAddress(first);
    const config = `${DROVER_DIR}/kubeadm-init.yaml`;
    await t.template('kubeadm configuration', {
      src: kubeadmInit.path,
      dest: config,
      mode: '0600',
      createParents: true,
      vars: {
        advertiseAddress: address,
        nodeName: host.name,
        criSocket: host.vars.cri_socket,
        imageRepository: host.vars.image_repository,
        kubernetesVersion: host.vars.kubernetes_version,
        podSubnet: host.vars.pod_subnet,
        serviceSubnet: host.vars.service_subnet,
        kubeProxyMode: host.vars.kube_proxy_mode,
      },
    });
    await t.command('control-plane images pulled', { argv: ['kubeadm', 'config', 'images', 'pull', '--config', config], creates: ADMIN_CONF, timeout: 1800 });
    // --skip-token-print, and the output a secret anyway: init's closing text is a join line with a token.
    await t.command(
      'kubeadm init',
      { argv: ['kubeadm', 'init', '--config', config, '--skip-token-print'], creates: ADMIN_CONF, timeout: 1800 },
      { secretOutput: true },
    );
    // Copied when it differs (read-only checks first, so --check on a converged cluster predicts nothing).
    const user = host.vars.kubeconfig_user;
    const home = await t.command(`home of ${user}`, { argv: ['getent', 'passwd', user], readOnly: true, failedWhen: false }, READ);
    const homeDir = home.stdout.split(':')[5]?.trim() ?? '';
    await t.assert(`user ${user} exists`, {
      that: [{ ok: homeDir !== '', msg: `${host.name}: user ${user} does not exist` }],
      hint: 'create the user, or set kubeconfig_user',
    });
    const kubeconfig = `${homeDir}/.kube/config`;
    const adminNow = await t.stat('admin.conf checksum', { path: ADMIN_CONF, checksum: true }, READ);
    const userNow = await t.stat(kubeconfig, { path: kubeconfig, checksum: true }, READ);
    if (homeDir !== '' && (!adminNow.value?.exists || adminNow.value.sha256 !== userNow.value?.sha256)) {
      await t.shell(`admin kubeconfig for ${user}`, {
        cmd: `install -d -m 0700 -o "$KUSER" "$KHOME/.kube" && install -m 0600 -o "$KUSER" ${ADMIN_CONF} "$KHOME/.kube/config"`,
        env: { KUSER: user, KHOME: homeDir },
      });
    }

    const cniInterface = host.vars.cni_interface ?? (await interfaceOf(host, address));
    const manifest = `${DROVER_DIR}/cni.yaml`;
    const rendered = await t.template('CNI manifest', {
      src: host.vars.cni_manifest,
      dest: manifest,
      mode: '0644',
      createParents: true,
      vars: { podSubnet: host.vars.pod_subnet, cniInterface },
    });
    // Applied when it differs from the copy last applied, so a second run (and --check on a converged
    // cluster) changes nothing; retried while the API server settles after init.
    const now = await t.stat('CNI manifest checksum', { path: manifest, checksum: true }, READ);
    const applied = await t.stat('CNI manifest applied', { path: `${manifest}.applied`, checksum: true }, READ);
    if (rendered.changed || !applied.value?.exists || now.value?.sha256 !== applied.value.sha256) {
      await t.shell(
        'CNI applied',
        { cmd: `kubectl apply -f ${manifest} && cp ${manifest} ${manifest}.applied`, env: KUBECTL_ENV },
        { retry: { attempts: 12, delaySeconds: 5 } },
      );
    }
  },
});

/** Which workers still need to join (read-only), so a token is made only when one does. */
const joinState = book.play({
  name: 'workers: which still need to join',
  hosts: WORKERS_GROUP,
  become: true,
  tags: ['join'],
  tasks: async (t) => {
    const conf = await t.stat('kubelet.conf', { path: KUBELET_CONF }, READ);
    return { joined: conf.value?.exists === true };
  },
});

interface JoinTicket {
  apiServerEndpoint: string;
  /** The bootstrap token: a Secret from the moment kubeadm prints it. Absent in --check (none is made). */
  token?: Secret;
  caCertHash: string;
}

/**
 * Makes a join ticket on the first control-plane host: the CA pin and a fresh short-lived token. Run there
 * by the control plane's own play, or, when --limit left the control plane out of the run, by a worker
 * with every task delegated to it (delegateTo is not narrowed by --limit). kubeadm prints only the token,
 * and the task's output is a secret from then on (masked in the terminal, --json and the audit log).
 */
async function makeTicket(
  t: Tasks<never>,
  first: { name: string; address: string; vars: Readonly<Record<string, unknown>> },
  forWorkers: string[],
  ttl: string,
  checkMode: boolean,
  delegateTo?: string,
): Promise<JoinTicket | undefined> {
  const on = delegateTo ? { delegateTo } : {};
  const apiServerEndpoint = `${clusterAddress(first)}:6443`;
  const admin = await t.stat(`admin.conf on ${first.name}`, { path: ADMIN_CONF }, { ...READ, ...on });
  if (!admin.value?.exists) {
    // The same task in a dry run and in the apply, so that a saved plan's apply follows the reviewed path:
    // in a dry run kubeadm init only would run, so the check passes there; in the apply it must hold.
    await t.assert('control plane initialised', {
      that: [{ ok: checkMode, msg: `${first.name}: ${ADMIN_CONF} is missing: the control plane is not initialised, so no worker can join` }],
      hint: 'run the control-plane part first (without --tags, or --tags control-plane)',
    });
    return checkMode ? { apiServerEndpoint, caCertHash: 'sha256:(the CA pin, known after kubeadm init)' } : undefined;
  }
  const pin = await t.shell(
    'CA certificate pin',
    { cmd: "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1", readOnly: true },
    { ...READ, ...on },
  );
  const created = await t.command(
    `bootstrap token for ${forWorkers.join(', ')}`,
    { argv: ['kubeadm', 'token', 'create', '--ttl', ttl, '--description', `drover join of ${forWorkers.join(' ')}`.slice(0, 200)] },
    { secretOutput: true, ...on },
  );
  const token = created.stdout.trim();
  return { apiServerEndpoint, caCertHash: `sha256:${pin.stdout.trim()}`, ...(token !== '' && { token: secret(token) }) };
}

const joinTicket = book.play({
  name: 'control plane: a join token for the workers that need one',
  hosts: CONTROL_PLANE_GROUP,
  become: true,
  tags: ['join'],
  tasks: async (t, host, ctx): Promise<JoinTicket | undefined> => {
    const first = firstControlPlane(ctx);
    if (host.name !== first.name) return undefined;
    const waiting = [...ctx.outputs(joinState)].filter(([, state]) => !state.joined).map(([name]) => name);
    if (waiting.length === 0) {
      await t.debug('no worker needs a token', { msg: 'every worker of this run has joined already: no token made' });
      return undefined;
    }
    return makeTicket(t, first, waiting, host.vars.join_token_ttl, ctx.checkMode);
  },
});

const joinWorkers = book.play({
  name: 'workers: join',
  hosts: WORKERS_GROUP,
  become: true,
  tags: ['join'],
  tasks: async (t, host, ctx) => {
    if (ctx.outputs(joinState).get(host.name)?.joined) return;
    const first = firstControlPlane(ctx);
    // The control plane's play made one ticket for every waiting worker; with --limit leaving the control
    // plane out (`--limit new-worker`), this worker has one made there on its behalf.
    const inRun = ctx.outputs(joinTicket).has(first.name);
    const ticket = inRun
      ? ctx.outputs(joinTicket).get(first.name)
      : await makeTicket(t, first, [host.name], host.vars.join_token_ttl, ctx.checkMode, first.name);
    if (!ticket) return;
    if (!ticket.token && !ctx.checkMode) {
      await t.assert('a join token from the control plane', {
        that: [{ ok: false, msg: `${host.name}: it has not joined, and ${first.name} made no join token in this run` }],
      });
      return;
    }
    const nodeIp = clusterAddress(ctx.hosts(WORKERS_GROUP).find((node) => node.name === host.name)!);
    const config = `${DROVER_DIR}/kubeadm-join.yaml`;
    // In a dry run the token (and the CA's hash, on a control plane not initialised yet) would be made by
    // commands that do not run: the file with them is "would run", never a diff of a placeholder.
    const token: Shared<null> = { name: 'join token (kubeadm token create)', host: first.name, known: ticket.token !== undefined, value: null };
    // The token reaches the host only inside this 0600 file (template content goes over stdin): never in
    // argv, never in an environment.
    await t.template(
      'JoinConfiguration (0600, holds the token)',
      {
        src: kubeadmJoin.path,
        dest: config,
        mode: '0600',
        createParents: true,
        vars: {
          apiServerEndpoint: ticket.apiServerEndpoint,
          token: ticket.token ?? secret('(a fresh bootstrap token)'),
          caCertHash: ticket.caCertHash,
          nodeName: host.name,
          criSocket: host.vars.cri_socket,
          nodeIp,
        },
      },
      { uses: token },
    );
    await t.command('kubeadm join', { argv: ['kubeadm', 'join', '--config', config], creates: KUBELET_CONF, timeout: 900 }, { secretOutput: true });
    await t.file('JoinConfiguration removed (the token is spent)', { path: config, state: 'absent' });
  },
});

const verify = book.play({
  name: 'verify: every node Ready',
  hosts: CONTROL_PLANE_GROUP,
  become: true,
  tags: ['verify'],
  tasks: async (t, host, ctx) => {
    const first = firstControlPlane(ctx);
    if (host.name !== first.name) return;
    const admin = await t.stat('admin.conf', { path: ADMIN_CONF });
    if (!admin.value?.exists) {
      await t.debug('nothing to verify yet', {
        msg: `${ADMIN_CONF} does not exist yet (--check on a fresh cluster): the real run waits here for every node to be Ready`,
      });
      return;
    }
    // The nodes of this run (with --limit, the others are not waited for by name), and every node the
    // cluster already lists must be Ready too.
    const expected = [...ctx.outputs(readHosts).keys()];
    const every = 10;
    // One attempt every ~10 s, each a `retry` line in the report: the progress of the wait.
    await t.command(
      'every node Ready',
      { argv: ['kubectl', 'get', 'nodes', '-o', 'json'], env: KUBECTL_ENV, readOnly: true },
      {
        retry: {
          attempts: Math.ceil(host.vars.node_ready_timeout / every),
          delaySeconds: every,
          until: (r) => notReady(r.stdout, expected).length === 0,
        },
      },
    );
    const nodes = await t.command('nodes', { argv: ['kubectl', 'get', 'nodes', '-o', 'wide'], env: KUBECTL_ENV, readOnly: true });
    await t.debug('cluster nodes', { msg: `\n${nodes.stdout.trimEnd()}` });
  },
});

/** The expected nodes not (yet) registered and Ready, and any listed node not Ready, from `kubectl get nodes -o json`. */
function notReady(json: string, expected: string[]): string[] {
  let items: Array<{ metadata?: { name?: string }; status?: { conditions?: Array<{ type?: string; status?: string }> } }> = [];
  try {
    items = (JSON.parse(json) as { items?: typeof items }).items ?? [];
  } catch {
    return expected;
  }
  const isReady = (node: (typeof items)[number]) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  const ready = new Set(items.filter(isReady).map((node) => node.metadata?.name));
  const listedNotReady = items.filter((node) => !isReady(node)).map((node) => node.metadata?.name ?? '?');
  return [...new Set([...expected.filter((name) => !ready.has(name)), ...listedNotReady])];
}

export default book.playbook([readHosts, verdict, prep, controlPlane, joinState, joinTicket, joinWorkers, verify]);
