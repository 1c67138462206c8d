/**
 * The node-preparation work every tool of the benchmark does, as data: one place, so the drover playbook,
 * the Ansible playbook and the floor's shell script are checked against the same values (bench/check-work.test.ts).
 */

/** /etc/modules-load.d/bench.conf: the modules a Kubernetes node loads at boot. */
export const MODULES_LOAD_FILE = '/etc/modules-load.d/bench.conf';
export const MODULES_LOAD_CONTENT = 'overlay\nbr_netfilter\n';

/** The three sysctls, persisted in SYSCTL_FILE and set live. */
export const SYSCTL_FILE = '/etc/sysctl.d/90-bench.conf';
export const SYSCTLS: Readonly<Record<string, string>> = {
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.bridge.bridge-nf-call-ip6tables': '1',
  'net.ipv4.ip_forward': '1',
};

/** The marker of the /etc/hosts block listing every node. */
export const HOSTS_MARKER = 'bench nodes';

export const CONFIG_DIR = '/etc/bench';
export const CONFIG_FILE = '/etc/bench/runtime.toml';
export const CONFIG_CONTENT = '# bench runtime configuration\nversion = 2\n\n[runtime]\ncgroup_driver = "systemd"\n';

export const UNIT_NAME = 'bench-agent.service';
export const UNIT_FILE = `/etc/systemd/system/${UNIT_NAME}`;
export const UNIT_CONTENT = `[Unit]
Description=bench agent (sleeps; stands in for a node agent)

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
`;

/** The iptables rule: the kubelet's port open, with a one-word comment (the floor's script passes it unquoted). */
export const IPTABLES_PORT = 10250;
export const IPTABLES_COMMENT = 'bench-kubelet';

/** The tmpfs entry in /etc/fstab (written, not mounted: state present). */
export const TMPFS_PATH = '/var/lib/bench-scratch';
export const TMPFS_OPTS = 'size=64m,mode=0755';
