/**
 * The packages of the Kubernetes stand-in (lab/k8s-standin/, Python 3): kubeadm, kubelet, kubectl,
 * cri-tools and kubernetes-cni, named, versioned and laid out like pkgs.k8s.io's, as data. Each package's
 * files are listed here (path → content and mode); lab/k8s-repo.ts turns them into .deb and .rpm files.
 *
 * Dependencies are the real packages' minus what the lab's repositories cannot provide: the .deb drops
 * ebtables and ethtool (kubeadm then warns, as it does on a host without them); the .rpm requires only
 * its sibling packages, because dnf on the Debian lab hosts has an empty RPM database (python3, openssl,
 * iptables come from Debian there).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STANDIN_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'k8s-standin', 'standin');
const NOTE = "drover lab stand-in, NOT Kubernetes: keeps the real tool's contract on lab hosts, runs no containers";

/** One minor release stream, served as pkgs.k8s.io serves it: core:/stable:/v1.MINOR/{deb,rpm}/. */
export interface K8sStream {
  minor: string;
  /** Two patch releases at least: a playbook pins one, and a hold/versionlock keeps it there. */
  versions: string[];
  criTools: string;
  cni: string;
}

export const K8S_STREAMS: readonly K8sStream[] = [
  { minor: 'v1.30', versions: ['1.30.13', '1.30.14'], criTools: '1.30.1', cni: '1.4.0' },
  { minor: 'v1.31', versions: ['1.31.9', '1.31.10'], criTools: '1.31.1', cni: '1.5.1' },
];

export type Family = 'deb' | 'rpm';

export interface PackageFile {
  path: string;
  content: string;
  mode: number;
  /** A configuration file the administrator owns (dpkg conffile, %config(noreplace)). */
  config?: boolean;
}

export interface StandinPackage {
  name: string;
  version: string;
  summary: string;
  description: string;
  /** Debian Depends (rpm Requires are derived: sibling packages only). */
  depends: string[];
  files: PackageFile[];
}

/** The Python sources, read once; their content is part of the repository's cache key. */
export function standinSources(): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const name of readdirSync(STANDIN_SOURCE)
    .filter((file) => file.endsWith('.py'))
    .sort()) {
    sources[name] = readFileSync(join(STANDIN_SOURCE, name), 'utf8');
  }
  return sources;
}

function library(libDir: string, version: string, sources: Record<string, string>): PackageFile[] {
  return Object.entries(sources).map(([name, content]) => ({
    path: `${libDir}/standin/${name}`,
    content: name === 'release.py' ? content.replace(/^VERSION = ".*"$/m, `VERSION = "${version}"`) : content,
    mode: 0o644,
  }));
}

function launcher(libDir: string, module: string): string {
  return [
    '#!/usr/bin/python3',
    `# ${NOTE}.`,
    '# Source: drover lab/k8s-standin/. The library is in ' + libDir + '.',
    'import sys',
    `sys.path.insert(0, "${libDir}")`,
    `from standin.${module} import main`,
    'sys.exit(main())',
    '',
  ].join('\n');
}

const KUBELET_UNIT = `# ${NOTE}.
[Unit]
Description=kubelet: The Kubernetes Node Agent (drover lab stand-in)
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

function kubeadmDropIn(family: Family): string {
  return `# ${NOTE}.
# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-${family === 'deb' ? '/etc/default/kubelet' : '/etc/sysconfig/kubelet'}
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;
}

const APISERVER_UNIT = `# ${NOTE}.
# kubeadm init starts this unit in place of the kube-apiserver static Pod; kubeadm reset stops it.
[Unit]
Description=kube-apiserver (drover lab stand-in, not Kubernetes) for the cluster kubeadm init made
ConditionPathExists=/etc/kubernetes/manifests/kube-apiserver.yaml
After=network.target

[Service]
ExecStart=/usr/lib/kubeadm-standin/kube-apiserver
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
`;

const CRICTL = `#!/bin/sh
# ${NOTE}.
case "$1" in
  --version|-v|version) echo "crictl version v$CRICTL_VERSION (drover lab stand-in, not cri-tools)"; exit 0 ;;
esac
echo "crictl: the drover lab stand-in of cri-tools implements only --version; no container runs in the lab" >&2
exit 1
`;

function cniPlugin(name: string, version: string): string {
  return `#!/bin/sh
# ${NOTE}.
if [ "$CNI_COMMAND" = VERSION ]; then
  echo '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}'; exit 0
fi
echo '{"code":100,"msg":"${name} v${version}: the drover lab stand-in of the CNI plugins sets up no network"}'
exit 1
`;
}

/** Every package of one stream for one family (the versions' kubeadm/kubelet/kubectl, one cri-tools, one CNI). */
export function streamPackages(stream: K8sStream, family: Family, sources: Record<string, string>): StandinPackage[] {
  const packages: StandinPackage[] = [];
  for (const version of stream.versions) {
    packages.push({
      name: 'kubeadm',
      version,
      summary: 'Command-line utility for administering a Kubernetes cluster (drover lab stand-in)',
      description: `${NOTE}. kubeadm init/join/reset/token/config/version with kubeadm's configuration API, preflight checks, certificates and output; a stand-in API server (kube-apiserver-standin.service).`,
      depends: [`cri-tools (>= ${stream.criTools.replace(/\.\d+$/, '.0')})`, 'python3', 'openssl'],
      files: [
        { path: '/usr/bin/kubeadm', content: launcher('/usr/lib/kubeadm-standin', 'kubeadm'), mode: 0o755 },
        { path: '/usr/lib/kubeadm-standin/kube-apiserver', content: launcher('/usr/lib/kubeadm-standin', 'apiserver'), mode: 0o755 },
        ...library('/usr/lib/kubeadm-standin', version, sources),
        { path: '/usr/lib/systemd/system/kube-apiserver-standin.service', content: APISERVER_UNIT, mode: 0o644 },
        { path: '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf', content: kubeadmDropIn(family), mode: 0o644 },
      ],
    });
    packages.push({
      name: 'kubelet',
      version,
      summary: 'Node agent for Kubernetes clusters (drover lab stand-in)',
      description: `${NOTE}. Exits until kubeadm configured it, then registers its Node and posts its status; Ready once a CNI configuration exists.`,
      depends: [
        'iptables (>= 1.4.21)',
        `kubernetes-cni (>= ${stream.cni.replace(/\.\d+$/, '.0')})`,
        'iproute2',
        'socat',
        'util-linux',
        'mount',
        'conntrack',
        'python3',
      ],
      files: [
        { path: '/usr/bin/kubelet', content: launcher('/usr/lib/kubelet-standin', 'kubelet'), mode: 0o755 },
        ...library('/usr/lib/kubelet-standin', version, sources),
        { path: '/usr/lib/systemd/system/kubelet.service', content: KUBELET_UNIT, mode: 0o644 },
        { path: family === 'deb' ? '/etc/default/kubelet' : '/etc/sysconfig/kubelet', content: 'KUBELET_EXTRA_ARGS=\n', mode: 0o644, config: true },
      ],
    });
    packages.push({
      name: 'kubectl',
      version,
      summary: 'Command-line utility for interacting with a Kubernetes cluster (drover lab stand-in)',
      description: `${NOTE}. get, apply -f, wait --for=condition=Ready, version, cluster-info against the stand-in API server.`,
      depends: ['python3'],
      files: [
        { path: '/usr/bin/kubectl', content: launcher('/usr/lib/kubectl-standin', 'kubectl'), mode: 0o755 },
        ...library('/usr/lib/kubectl-standin', version, sources),
      ],
    });
  }
  packages.push({
    name: 'cri-tools',
    version: stream.criTools,
    summary: 'Command-line utility for interacting with a container runtime (drover lab stand-in)',
    description: `${NOTE}. crictl --version only.`,
    depends: [],
    files: [{ path: '/usr/bin/crictl', content: CRICTL.replace('$CRICTL_VERSION', stream.criTools), mode: 0o755 }],
  });
  packages.push({
    name: 'kubernetes-cni',
    version: stream.cni,
    summary: 'Binaries required to provision kubernetes container networking (drover lab stand-in)',
    description: `${NOTE}. Plugins that answer CNI VERSION and set up nothing.`,
    depends: [],
    files: ['bridge', 'host-local', 'loopback', 'portmap'].map((name) => ({ path: `/opt/cni/bin/${name}`, content: cniPlugin(name, stream.cni), mode: 0o755 })),
  });
  return packages;
}

/** pkgs.k8s.io's version strings: 1.30.14-1.1 in the .deb repository, 1.30.14-150500.1.1 in the .rpm one. */
export function packageRelease(family: Family): string {
  return family === 'deb' ? '1.1' : '150500.1.1';
}

export function debControl(pkg: StandinPackage): string {
  return [
    `Package: ${pkg.name}`,
    `Version: ${pkg.version}-${packageRelease('deb')}`,
    'Architecture: amd64',
    'Maintainer: drover lab <lab@drover.invalid>',
    'Section: admin',
    'Priority: optional',
    ...(pkg.depends.length > 0 ? [`Depends: ${pkg.depends.join(', ')}`] : []),
    'Homepage: https://kubernetes.io',
    `Description: ${pkg.summary}`,
    ` ${pkg.description}`,
    '',
  ].join('\n');
}

/** The spec rpmbuild turns into the package; %install copies the tree prepared in `tree`. */
export function rpmSpec(pkg: StandinPackage, tree: string): string {
  const siblings = pkg.depends.map((dep) => /^(cri-tools|kubernetes-cni) \(>= (.*)\)$/.exec(dep)).filter((m): m is RegExpExecArray => m !== null);
  const files = pkg.files.map((file) => (file.config ? `%config(noreplace) ${file.path}` : file.path));
  return [
    `Name: ${pkg.name}`,
    `Version: ${pkg.version}`,
    `Release: ${packageRelease('rpm')}`,
    `Summary: ${pkg.summary}`,
    'License: ASL 2.0',
    'URL: https://kubernetes.io',
    'BuildArch: x86_64',
    'AutoReqProv: no',
    ...siblings.map((m) => `Requires: ${m[1]} >= ${m[2]}`),
    '%global __os_install_post %{nil}',
    '%global debug_package %{nil}',
    '',
    '%description',
    pkg.description,
    '',
    '%install',
    `cp -a ${tree}/. %{buildroot}/`,
    '',
    '%files',
    ...files,
    '',
  ].join('\n');
}
