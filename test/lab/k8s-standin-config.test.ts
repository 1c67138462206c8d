/**
 * The Kubernetes stand-in's configuration checks as a table: kubeadm documents in, kubeadm's verdict out.
 * Runs the stand-in's Python validator (`kubeadm config validate`) with the controller's python3, or, where
 * the controller has none, on a lab host (its sources copied there first; the lab hosts have python3). The
 * same code runs on the lab hosts as the installed packages (test/lab/k8s-standin.lab.test.ts drives it there
 * through init and join). With neither python3 nor a lab it is skipped, and fails under CI=true.
 * DROVER_STANDIN_PYTHON=lab forces the lab host path, to test it on a controller that has python3.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { STANDIN_SOURCE, standinSources } from '../../lab/k8s-packages.ts';
import { ensureLab, LAB_SETUP_TIMEOUT_MS, labSsh, labUnavailableReason, releaseLab, type Lab } from '../support/lab.ts';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}
/** Runs the stand-in's kubeadm with args ('CONFIG' stands for a file holding `config`). */
type Kubeadm = (args: string[], config: string) => Promise<Outcome>;

const SCRIPT = 'import sys; from standin.kubeadm import main; sys.exit(main(sys.argv[1:]))';

function controllerPython(): string | undefined {
  if (process.env.DROVER_STANDIN_PYTHON === 'lab') return undefined;
  return ['/usr/bin/python3', 'python3'].find((program) => spawnSync(program, ['--version']).status === 0);
}

function onController(python: string): Kubeadm {
  return async (args, config) => {
    const file = join(mkdtempSync(join(tmpdir(), 'standin-config-')), 'kubeadm.yaml');
    writeFileSync(file, config);
    const result = spawnSync(python, ['-c', SCRIPT, ...args.map((arg) => arg.replace('CONFIG', file))], {
      env: { ...process.env, PYTHONPATH: dirname(STANDIN_SOURCE) },
      encoding: 'utf8',
    });
    rmSync(dirname(file), { recursive: true, force: true });
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  };
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Copies the stand-in's sources to a scratch directory of a lab host and runs them there. */
async function onLabHost(lab: Lab): Promise<{ kubeadm: Kubeadm; cleanup: () => Promise<void> }> {
  const host = lab.hosts[0]!;
  const made = await labSsh(lab, host, 'mktemp -d /tmp/standin-config.XXXXXX');
  const dir = made.stdout.trim();
  if (made.code !== 0 || !dir.startsWith('/tmp/standin-config.')) throw new Error(`mktemp on ${host.name} failed: ${made.stderr}`);
  const unpack = 'import json, os, sys; d = os.path.join(sys.argv[1], "standin"); os.makedirs(d); ' + '[open(os.path.join(d, name), "w").write(text) for name, text in json.load(sys.stdin).items()]';
  const copied = await labSsh(lab, host, `python3 -c ${quote(unpack)} ${dir}`, { input: JSON.stringify(standinSources()) });
  if (copied.code !== 0) throw new Error(`copying the stand-in's sources to ${host.name} failed: ${copied.stderr}`);
  return {
    kubeadm: async (args, config) => {
      const argv = args.map((arg) => (arg === 'CONFIG' ? '"$f"' : quote(arg))).join(' ');
      const command = `f=$(mktemp ${dir}/kubeadm-XXXXXX.yaml) && cat > "$f" && PYTHONPATH=${dir} python3 -c ${quote(SCRIPT)} ${argv}; rc=$?; rm -f "$f"; exit $rc`;
      const result = await labSsh(lab, host, command, { input: config });
      return { code: result.code, stdout: result.stdout, stderr: result.stderr };
    },
    cleanup: async () => {
      await labSsh(lab, host, `rm -rf ${dir}`);
    },
  };
}

const INIT = `apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.238.0.11
  bindPort: 6443
nodeRegistration:
  name: lab-1
  criSocket: unix:///var/run/containerd/containerd.sock
  kubeletExtraArgs:
    node-ip: 10.238.0.11
`;
const CLUSTER = `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.30.14
imageRepository: registry.k8s.io
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
`;
const KUBELET = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nfailSwapOn: true\n';
const PROXY = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: rr\n';
const KUBELET_RECENT =
  KUBELET +
  `podLogsDir: /var/log/pods
imageMaximumGCAge: 0s
containerLogMaxWorkers: 1
containerLogMonitorInterval: 10s
memorySwap:
  swapBehavior: NoSwap
localStorageCapacityIsolation: true
shutdownGracePeriodByPodPriority:
- priority: 0
  shutdownGracePeriodSeconds: 30
logging:
  format: text
  flushFrequency: 5s
  options:
    text:
      splitStream: false
`;
const PROXY_RECENT =
  PROXY +
  `nftables:
  masqueradeBit: 14
  syncPeriod: 30s
detectLocalMode: InterfaceNamePrefix
detectLocal:
  interfaceNamePrefix: veth
conntrack:
  tcpBeLiberal: false
  udpTimeout: 0s
logging:
  verbosity: 2
`;
const HASH = `sha256:${'ab'.repeat(32)}`;
const JOIN = `apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 10.238.0.11:6443
    token: abcdef.0123456789abcdef
    caCertHashes: ["${HASH}"]
nodeRegistration:
  name: lab-2
`;
const doc = (...parts: string[]) => parts.join('---\n');

/** [what, document, expected error (a substring) or undefined when valid]. */
const TABLE: Array<[string, string, string | undefined]> = [
  ['a full init configuration', doc(INIT, CLUSTER, KUBELET, PROXY), undefined],
  ['a join configuration', JOIN, undefined],
  [
    'an unknown field (strict decoding)',
    doc(INIT, CLUSTER.replace('podSubnet', 'podSubnets')),
    'error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", Version:"v1beta3", Kind:"ClusterConfiguration"}: strict decoding error: unknown field "networking.podSubnets"',
  ],
  ['an unknown kubelet field', doc(INIT, KUBELET + 'swapOff: true\n'), 'strict decoding error: unknown field "swapOff"'],
  // Field lists checked against k8s.io/kubelet and k8s.io/kube-proxy types.go at v0.30.13/v0.31.9 (schema.py).
  ['KubeletConfiguration fields added in recent releases', doc(INIT, KUBELET_RECENT), undefined],
  ['KubeProxyConfiguration fields added in recent releases', doc(INIT, PROXY_RECENT), undefined],
  ['a kubelet field kubelet 1.30 does not have yet (failCgroupV1 is 1.31)', doc(INIT, KUBELET + 'failCgroupV1: true\n'), 'strict decoding error: unknown field "failCgroupV1"'],
  ['a wrong type', INIT.replace('bindPort: 6443', 'bindPort: "6443"'), 'json: cannot unmarshal string into Go struct field APIEndpoint.localAPIEndpoint.bindPort of type int32'],
  ['an old apiVersion', INIT.replace('v1beta3', 'v1beta2'), 'your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta2" (kind: "InitConfiguration")'],
  ['v1beta4 with kubeadm 1.30', INIT.replace('v1beta3', 'v1beta4'), 'no kind "InitConfiguration" is registered for version "kubeadm.k8s.io/v1beta4"'],
  ['a misspelt kind', INIT.replace('kind: InitConfiguration', 'kind: InitConfig'), 'Ignored YAML document with GroupVersionKind kubeadm.k8s.io/v1beta3, Kind=InitConfig'],
  ['no kind', INIT.replace('kind: InitConfiguration\n', ''), 'kind and apiVersion is mandatory information that must be specified'],
  ['a kind given twice', doc(CLUSTER, CLUSTER), 'is specified twice in YAML file'],
  ['overlapping pod and service subnets', doc(INIT, CLUSTER.replace('10.244.0.0/16', '10.96.0.0/16')), 'networking.podSubnet: Invalid value: "10.96.0.0/16": overlaps networking.serviceSubnet "10.96.0.0/12"'],
  ['a subnet that is not a CIDR', doc(INIT, CLUSTER.replace('10.244.0.0/16', '10.244.0.0/33')), 'networking.podSubnet: Invalid value: "10.244.0.0/33": couldn\'t parse subnet'],
  ['a service subnet that is too large', doc(INIT, CLUSTER.replace('10.96.0.0/12', '10.0.0.0/8')), 'specified service subnet is too large; for 32-bit addresses, the mask must be >= 12'],
  ['an advertise address that is not an IP', INIT.replace('advertiseAddress: 10.238.0.11', 'advertiseAddress: 10.238.0'), 'couldn\'t use "10.238.0" as "apiserver-advertise-address", must be ipv4 or ipv6 address'],
  ['a CRI socket with another scheme', INIT.replace('unix:///var', 'tcp:///var'), 'nodeRegistration.criSocket: Invalid value: "tcp:///var/run/containerd/containerd.sock": only URL scheme "unix" is supported, got "tcp"'],
  ['a node name that is not DNS-1123', INIT.replace('name: lab-1', 'name: Lab_1'), 'nodeRegistration.name: Invalid value: "Lab_1": a lowercase RFC 1123 subdomain'],
  ['a Kubernetes version that is no version', doc(INIT, CLUSTER.replace('v1.30.14', 'v1.30')), 'couldn\'t parse kubernetes version "v1.30"'],
  ['a Kubernetes version written as a number', doc(INIT, CLUSTER.replace('v1.30.14', '1.30')), 'json: cannot unmarshal number into Go struct field ClusterConfiguration.kubernetesVersion of type string'],
  ['a Kubernetes version kubeadm 1.30 cannot deploy', doc(INIT, CLUSTER.replace('v1.30.14', 'v1.27.3')), 'only supports deploying clusters with the control plane version >= 1.29.0. Current version: v1.27.3'],
  ['an image repository with upper case', doc(INIT, CLUSTER.replace('registry.k8s.io', 'Registry.Example.com/K8s')), 'imageRepository: Invalid value: "Registry.Example.com/K8s"'],
  ['a kube-proxy mode that does not exist', doc(INIT, PROXY.replace('mode: ipvs', 'mode: ipvs2')), 'KubeProxyConfiguration.mode: Invalid value: "ipvs2": must be iptables, ipvs, nftables or blank'],
  ['a token in the wrong format', doc(INIT + 'bootstrapTokens:\n- token: abcdef.0123\n'), 'bootstrapTokens[0].token: Invalid value: "abcdef.0123": the bootstrap token "abcdef.0123" was not of the form'],
  ['a YAML syntax error', 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  name: a: b\n', 'error converting YAML to JSON: yaml: line 4: mapping values are not allowed in this context'],
  ['a duplicate key', INIT + 'localAPIEndpoint:\n  bindPort: 1\n', 'key "localAPIEndpoint" already set in map'],
  ['a join without CA pins', JOIN.replace(`    caCertHashes: ["${HASH}"]\n`, ''), 'using token-based discovery without caCertHashes can be unsafe'],
  ['a join with a short CA hash', JOIN.replace(HASH, 'sha256:abcd'), 'expected a 32 byte SHA-256 hash, found 2 bytes'],
  ['a join endpoint without port', JOIN.replace('10.238.0.11:6443', '10.238.0.11'), 'discovery.bootstrapToken.apiServerEndpoint: Invalid value: "10.238.0.11": address 10.238.0.11: missing port in address'],
  ['a join with a bad token', JOIN.replace('abcdef.0123456789abcdef', 'ABCDEF.0123456789abcdef'), 'discovery.bootstrapToken.token: Invalid value: "ABCDEF.0123456789abcdef"'],
];

describe('lab/k8s-standin: kubeadm configuration checks (table)', function () {
  this.timeout(60_000);
  let kubeadm: Kubeadm = () => Promise.reject(new Error('no runner: before() did not run'));
  let cleanup: () => Promise<void> = async () => undefined;
  let acquired = false;
  before(async function () {
    const python = controllerPython();
    if (python) {
      kubeadm = onController(python);
      return;
    }
    this.timeout(LAB_SETUP_TIMEOUT_MS);
    const reason = labUnavailableReason(); // throws under CI=true
    if (reason) {
      console.log(`  k8s stand-in table skipped: no python3 on the controller and ${reason}`);
      this.skip();
    }
    const lab = await ensureLab(1);
    acquired = true;
    ({ kubeadm, cleanup } = await onLabHost(lab));
  });
  after(async () => {
    await cleanup();
    if (acquired) await releaseLab();
  });

  for (const [what, config, expected] of TABLE) {
    it(`${expected === undefined ? 'accepts' : 'refuses'} ${what}`, async () => {
      const result = await kubeadm(['config', 'validate', '--config', 'CONFIG'], config);
      if (expected === undefined) {
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout.trim()).to.equal('ok');
      } else {
        expect(result.code, result.stdout).to.equal(1);
        expect(result.stderr).to.include(expected);
        expect(result.stderr).to.include('To see the stack trace of this error execute with --v=5 or higher');
      }
    });
  }

  it('refuses an unknown field outside `config validate` too, naming it a stand-in check (kubeadm init and join only warn)', async () => {
    const local = INIT.replace('10.238.0.11\n  bindPort', '127.0.0.1\n  bindPort');
    const strict = await kubeadm(['config', 'validate', '--config', 'CONFIG'], doc(local, CLUSTER.replace('podSubnet', 'podSubnets')));
    expect(strict.stderr).to.include('strict decoding error: unknown field "networking.podSubnets"').and.not.include('stand-in');
    const images = await kubeadm(['config', 'images', 'list', '--config', 'CONFIG'], doc(local, CLUSTER.replace('podSubnet', 'podSubnets')));
    expect(images.code).to.equal(1);
    expect(images.stderr).to.include('strict decoding error: unknown field "networking.podSubnets" (a drover lab stand-in check: real kubeadm v1.30.14 only warns');
    const duplicate = await kubeadm(['config', 'images', 'list', '--config', 'CONFIG'], doc(local + 'localAPIEndpoint:\n  bindPort: 1\n', CLUSTER));
    expect(duplicate.stderr).to.include('key "localAPIEndpoint" already set in map').and.include('drover lab stand-in check');
  });

  it('names itself a stand-in in `version`, and keeps `version -o short` parseable', async () => {
    expect((await kubeadm(['version'], '')).stdout).to.match(/GitVersion:"v1\.30\.14".*drover lab stand-in, not Kubernetes/);
    expect((await kubeadm(['version', '-o', 'short'], '')).stdout).to.equal('v1.30.14\n');
  });

  it('lists the images of the configured repository and version', async () => {
    const images = await kubeadm(['config', 'images', 'list', '--config', 'CONFIG'], doc(INIT.replace('10.238.0.11\n  bindPort', '127.0.0.1\n  bindPort'), CLUSTER.replace('registry.k8s.io', 'registry.example.com/k8s')));
    expect(images.stdout.split('\n').filter(Boolean)).to.deep.equal([
      'registry.example.com/k8s/kube-apiserver:v1.30.14',
      'registry.example.com/k8s/kube-controller-manager:v1.30.14',
      'registry.example.com/k8s/kube-scheduler:v1.30.14',
      'registry.example.com/k8s/kube-proxy:v1.30.14',
      'registry.example.com/k8s/coredns:v1.11.1',
      'registry.example.com/k8s/pause:3.9',
      'registry.example.com/k8s/etcd:3.5.12-0',
    ]);
  });
});
