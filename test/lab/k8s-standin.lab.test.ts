/**
 * The Kubernetes stand-in on real lab hosts, driven by plain ssh (not by a playbook): packages from the
 * lab's Kubernetes repository (apt on lab-1..3, dnf on lab-4), then init on lab-1, refused configurations,
 * joins of lab-2 and lab-3 through JoinConfiguration files while every process's argv and environment is
 * sampled on lab-1..3 (the token must be in none), `kubectl get nodes`, NotReady → Ready after a CNI
 * manifest, a wrong token refused, and reset leaving no state and port 6443 free.
 */
import { expect } from 'chai';
import { LAB_K8S_MIRROR } from '../../lab/k8s-repo.ts';
import { PROC_SAMPLER, type ProcSample } from '../support/proc-sampler.ts';
import { describeWithLab, labSsh, type LabHost } from '../support/lab.ts';

const PACKAGES = 'kubeadm kubelet kubectl';
const CLEAN =
  `kubeadm reset -f >/dev/null 2>&1; apt-mark unhold ${PACKAGES} >/dev/null 2>&1; ` +
  `DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq ${PACKAGES} cri-tools kubernetes-cni >/dev/null 2>&1; ` +
  `dnf -q -y remove ${PACKAGES} cri-tools kubernetes-cni >/dev/null 2>&1; ` +
  'rm -rf /etc/cni/net.d /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/apt/sources.list.d/kubernetes.list /etc/yum.repos.d/kubernetes.repo /root/*.yaml; true';

const CNI = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: calico-node
  namespace: kube-system
spec:
  selector:
    matchLabels: {k8s-app: calico-node}
  template:
    metadata:
      labels: {k8s-app: calico-node}
    spec:
      tolerations:
      - operator: Exists
      containers:
      - name: calico-node
        image: docker.io/calico/node:v3.27.3
        env:
        - name: CALICO_IPV4POOL_CIDR
          value: "10.244.0.0/16"
        - name: IP_AUTODETECTION_METHOD
          value: "interface=eth0"
      volumes:
      - name: cni-net-dir
        hostPath:
          path: /etc/cni/net.d
`;

describeWithLab('k8s stand-in on lab hosts', 4, (lab) => {
  const ssh = (host: LabHost, command: string, input?: string) => labSsh(lab(), host, command, { timeoutMs: 300_000, ...(input !== undefined ? { input } : {}) });
  const ok = async (host: LabHost, command: string, input?: string) => {
    const result = await ssh(host, command, input);
    expect(result.code, `${host.name}: ${command}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    return result.stdout;
  };
  const hosts = () => lab().hosts;
  const cp = () => hosts()[0]!;
  const workers = () => hosts().slice(1, 3);
  const kubectl = (args: string) => ok(cp(), `KUBECONFIG=/etc/kubernetes/admin.conf kubectl ${args}`);
  const initConfig = (extra = '') => `apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: ${cp().address}
  bindPort: 6443
nodeRegistration:
  name: lab-1
  criSocket: unix:///var/run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.30.13
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
${extra}`;

  before(async () => {
    await Promise.all(hosts().map((host) => ssh(host, CLEAN)));
  });
  after(async () => {
    await Promise.all(hosts().map((host) => ssh(host, CLEAN)));
  });

  it('installs pinned, held kubeadm/kubelet/kubectl from the apt repository (signed-by, pkgs.k8s.io layout)', async () => {
    const repo = `${LAB_K8S_MIRROR}/core:/stable:/v1.30/deb/`;
    await Promise.all(
      hosts()
        .slice(0, 3)
        .map((host) =>
          ok(
            host,
            [
              'set -e; mkdir -p /etc/apt/keyrings',
              // curl comes from the lab's Debian repository, as node preparation installs it.
              'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null',
              `curl -fsSL ${repo}Release.key -o /etc/apt/keyrings/kubernetes-apt-keyring.asc`,
              `echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] ${repo} /" > /etc/apt/sources.list.d/kubernetes.list`,
              'apt-get update -qq',
              'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd kubelet=1.30.13-1.1 kubeadm=1.30.13-1.1 kubectl=1.30.13-1.1 >/dev/null',
              `apt-mark hold ${PACKAGES} >/dev/null`,
              'systemctl enable --now containerd kubelet 2>/dev/null; sysctl -qw net.ipv4.ip_forward=1',
            ].join('; '),
          ),
        ),
    );
    for (const host of hosts().slice(0, 3)) {
      expect(await ok(host, 'kubeadm version -o short; kubectl version --client | head -1; kubelet --version')).to.equal('v1.30.13\nClient Version: v1.30.13\nKubernetes v1.30.13 (drover lab stand-in, not Kubernetes)\n');
      expect(await ok(host, "dpkg-query -W -f='${Package} ${Version} ${Status}\\n' kubeadm kubelet kubectl; apt-mark showhold | sort | tr '\\n' ' '"))
        .to.include('kubeadm 1.30.13-1.1 hold ok installed')
        .and.include('kubeadm kubectl kubelet');
      expect(await ok(host, 'ls /usr/lib/systemd/system/kubelet.service /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf /etc/default/kubelet /usr/bin/crictl /opt/cni/bin/bridge')).to.not.equal('');
    }
    // The hold is real: an upgrade leaves the pinned version.
    await ok(cp(), 'DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq >/dev/null');
    expect(await ok(cp(), 'kubeadm version -o short')).to.equal('v1.30.13\n');
  });

  it('installs from the RPM repository with dnf (gpgcheck and repo_gpgcheck on, versionlocked by exclude)', async () => {
    const host = hosts()[3]!;
    const repo = `${LAB_K8S_MIRROR}/core:/stable:/v1.30/rpm/`;
    await ok(
      host,
      `cat > /etc/yum.repos.d/kubernetes.repo <<'EOF'
[kubernetes]
name=Kubernetes
baseurl=${repo}
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=${repo}repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
EOF`,
    );
    const refused = await ssh(host, 'dnf -q -y install kubeadm');
    expect(refused.code, 'exclude= keeps kubeadm out unless --disableexcludes').to.not.equal(0);
    await ok(host, 'dnf -q -y install kubelet-1.30.13 kubeadm-1.30.13 kubectl-1.30.13 --disableexcludes=kubernetes');
    expect(await ok(host, "rpm -q --qf '%{NAME}-%{VERSION}-%{RELEASE}\\n' kubeadm kubelet kubectl")).to.equal('kubeadm-1.30.13-150500.1.1\nkubelet-1.30.13-150500.1.1\nkubectl-1.30.13-150500.1.1\n');
    expect(await ok(host, 'cat /etc/sysconfig/kubelet; kubeadm version -o short')).to.equal('KUBELET_EXTRA_ARGS=\nv1.30.13\n');
  });

  it("refuses invalid configurations with kubeadm's errors and changes nothing", async () => {
    const cases: Array<[string, string]> = [
      // Real kubeadm init only warns here (`kubeadm config validate` refuses); the stand-in refuses and says so.
      [initConfig().replace('podSubnet', 'podSubnets'), 'strict decoding error: unknown field "networking.podSubnets" (a drover lab stand-in check'],
      [initConfig().replace('10.244.0.0/16', '10.96.0.0/16'), 'overlaps networking.serviceSubnet'],
      [initConfig().replace('kubeadm.k8s.io/v1beta3\nkind: Init', 'kubeadm.k8s.io/v1beta2\nkind: Init'), 'your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta2"'],
    ];
    for (const [config, message] of cases) {
      const result = await ssh(cp(), 'cat > /root/bad.yaml; kubeadm init --config /root/bad.yaml', config);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include(message);
    }
    expect(await ok(cp(), 'ls -A /etc/kubernetes/manifests 2>/dev/null | wc -l')).to.equal('0\n');
  });

  let token = '';
  let pin = '';

  it('inits lab-1 and prints the join line with a bootstrap token and the CA pin', async () => {
    await ok(cp(), 'cat > /root/kubeadm-init.yaml', initConfig());
    const init = await ok(cp(), 'kubeadm init --config /root/kubeadm-init.yaml');
    const address = cp().address.replace(/\./g, '\\.');
    expect(init).to.match(new RegExp(`\\nkubeadm join ${address}:6443 --token [a-z0-9]{6}\\.[a-z0-9]{16} \\\\\\n\\t--discovery-token-ca-cert-hash sha256:[0-9a-f]{64} \\n$`));
    expect(await ok(cp(), 'ls /etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/pki/ca.crt')).to.not.equal('');
    // The CA pin printed is the one openssl computes from the CA certificate.
    pin = (await ok(cp(), "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1")).trim();
    expect(init).to.include(`sha256:${pin}`);
    token = (await ok(cp(), 'kubeadm token create --ttl 1h')).trim();
    expect(token).to.match(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(await ok(cp(), 'kubeadm token list')).to.include(token);
  });

  it("joins lab-2 and lab-3 through 0600 JoinConfiguration files; the token is in no process's argv or environment on any host meanwhile", async () => {
    expect(token, 'the init case ran').to.not.equal('');
    const join = `apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: ${cp().address}:6443
    token: ${token}
    caCertHashes: ["sha256:${pin}"]
`;
    const watched = hosts().slice(0, 3);
    const run = `/run/drover-sampler-${process.pid}-${Date.now()}`;
    const samplers = watched.map((host) => ssh(host, `python3 - ${run}`, PROC_SAMPLER));
    let samples: ProcSample[];
    // A marker in the argv of a 2-second process (a join with `--token` lasts longer): the samplers must see it.
    const canary = `drover-canary-${process.pid}${Date.now()}`;
    try {
      await Promise.all(watched.map((host) => ok(host, `for i in $(seq 600); do [ -e ${run}.ready ] && exit 0; sleep 0.1; done; echo sampler did not start >&2; exit 1`)));
      await Promise.all(watched.map((host) => ok(host, `sh -c 'sleep 2' ${canary}`)));
      await Promise.all(workers().map((host) => ok(host, 'umask 077; cat > /root/join.yaml && kubeadm join --config /root/join.yaml', join)));
    } finally {
      await Promise.all(watched.map((host) => ssh(host, `touch ${run}.stop`)));
      samples = (await Promise.all(samplers)).map((result, index) => {
        expect(result.code, `sampler on ${watched[index]!.name}: ${result.stderr}`).to.equal(0);
        return JSON.parse(result.stdout) as ProcSample;
      });
      await Promise.all(watched.map((host) => ssh(host, `rm -f ${run}.ready ${run}.stop`)));
    }
    const secret = token.split('.')[1]!;
    samples.forEach((sample, index) => {
      const name = watched[index]!.name;
      expect(sample.passes, `${name}: sampling passes`).to.be.greaterThan(20);
      expect(
        sample.cmdlines.some((line) => line.includes(canary)),
        `${name}: the sampler saw the canary's argv`,
      ).to.equal(true);
      if (index > 0)
        expect(
          sample.cmdlines.some((line) => /\/usr\/bin\/kubeadm join --config \/root\/join\.yaml$/.test(line)),
          `${name}: the sampler saw the join`,
        ).to.equal(true);
      for (const text of [...sample.cmdlines, ...sample.environs]) {
        expect(text.includes(secret), `${name}: a process holds the bootstrap token: ${text.split(secret).join('<secret>')}`).to.equal(false);
      }
    });
    for (const host of workers()) {
      expect(await ok(host, 'stat -c %a /root/join.yaml; ls /etc/kubernetes/kubelet.conf /etc/kubernetes/pki/ca.crt')).to.equal('600\n/etc/kubernetes/kubelet.conf\n/etc/kubernetes/pki/ca.crt\n');
    }
  });

  it('lists exactly the joined nodes, NotReady until a CNI manifest is applied, then Ready', async () => {
    const nodes = JSON.parse(await kubectl('get nodes -o json')) as { items: Array<{ metadata: { name: string } }> };
    expect(nodes.items.map((node) => node.metadata.name).sort()).to.deep.equal(['lab-1', 'lab-2', 'lab-3']);
    expect(await kubectl('get nodes')).to.match(/lab-2\s+NotReady/);
    expect(await kubectl('wait --for=condition=Ready nodes --all --timeout=15s').catch((error: Error) => error.message)).to.include('timed out waiting for the condition');
    await ok(cp(), 'cat > /root/cni.yaml && KUBECONFIG=/etc/kubernetes/admin.conf kubectl apply -f /root/cni.yaml', CNI);
    expect(await kubectl('wait --for=condition=Ready nodes --all --timeout=120s')).to.equal('node/lab-1 condition met\nnode/lab-2 condition met\nnode/lab-3 condition met\n');
    expect(await kubectl('get nodes')).to.match(/lab-1\s+Ready\s+control-plane/);
    expect(await kubectl('get pods -A')).to.match(/kube-system\s+calico-node-\w+\s+1\/1\s+Running/);
  });

  it('refuses a join with a wrong token, and names the stand-in for what it does not implement', async () => {
    const host = workers()[1]!;
    await ok(host, 'kubeadm reset -f >/dev/null');
    const join = `apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  timeout: 5s
  bootstrapToken:
    apiServerEndpoint: ${cp().address}:6443
    token: abcdef.0123456789abcdef
    unsafeSkipCAVerification: true
`;
    const result = await ssh(host, 'cat > /root/bad-join.yaml && kubeadm join --config /root/bad-join.yaml', join);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include('could not find a JWS signature in the cluster-info ConfigMap for token ID "abcdef"');
    expect(await ok(host, 'ls /etc/kubernetes/kubelet.conf 2>/dev/null | wc -l')).to.equal('0\n');
    const logs = await ssh(cp(), 'KUBECONFIG=/etc/kubernetes/admin.conf kubectl logs x');
    expect(logs.code).to.equal(1);
    expect(logs.stderr).to.include('drover lab stand-in of kubectl does not implement "logs"');
  });

  it('reset leaves no /etc/kubernetes state and frees port 6443', async () => {
    await ok(cp(), 'kubeadm reset -f');
    expect(await ok(cp(), 'find /etc/kubernetes /var/lib/kubelet /var/lib/etcd -type f | wc -l; ss -Hltn "sport = :6443" | wc -l')).to.equal('0\n0\n');
    // And the host can be initialised again.
    await ok(cp(), 'kubeadm init --config /root/kubeadm-init.yaml >/dev/null && kubeadm reset -f >/dev/null');
  });
});
