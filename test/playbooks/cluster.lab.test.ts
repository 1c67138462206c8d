/**
 * playbooks/cluster.ts and playbooks/reset.ts end to end, through the real CLI, on four lab hosts whose
 * kubeadm, kubelet and kubectl are the lab's Kubernetes STAND-IN (lab/k8s-standin/README.md), installed
 * from the lab's own apt repository: no container runs, but packages, files, kubeadm's configuration
 * checks, token discovery and the joins over the lab network are real.
 *
 * In order: a preflight with problems on two hosts lists both and changes nothing on any host; --check on
 * fresh hosts predicts the apply and changes nothing; 1 control plane + 2 workers from fresh; a second run
 * with zero changes; a fourth host added to the inventory and joined with --limit (the other workers are not
 * in the run); reset.ts, twice (the second changes nothing). Every process's argv and environment is sampled
 * on all four hosts meanwhile: no bootstrap token may be in any of them, nor in any output or audit log.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LAB_K8S_MIRROR } from '../../lab/k8s-repo.ts';
import { labInventory } from '../support/playbook-cli.ts';
import { PROC_SAMPLER, type ProcSample } from '../support/proc-sampler.ts';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CLUSTER = join(ROOT, 'playbooks/cluster.ts');
const RESET = join(ROOT, 'playbooks/reset.ts');

/** Back to a host as the lab made it: what cluster.ts installs and writes is removed. */
const FRESH = `kubeadm reset -f >/dev/null 2>&1
apt-mark unhold kubelet kubeadm kubectl >/dev/null 2>&1
systemctl stop kubelet containerd >/dev/null 2>&1
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq kubelet kubeadm kubectl cri-tools kubernetes-cni containerd runc ipvsadm ipset conntrack socat curl >/dev/null 2>&1
DEBIAN_FRONTEND=noninteractive apt-get autoremove -y -qq >/dev/null 2>&1
rm -rf /etc/cni /var/lib/cni /opt/cni /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/containerd /root/.kube \\
  /etc/apt/sources.list.d/kubernetes.list /etc/apt/keyrings/kubernetes.asc /etc/apt/keyrings/kubernetes-apt-keyring.asc \\
  /etc/modules-load.d/k8s.conf /etc/sysctl.d/k8s.conf /var/lib/drover
sed -i '/drover kubernetes nodes/,/drover kubernetes nodes/d' /etc/hosts
systemctl unmask swap.target >/dev/null 2>&1
true`;

/** An inventory: the first target the control plane, the rest workers; `extra` adds per-host variables. */
function inventory(targets: LabTarget[], extra: Record<string, string> = {}): string {
  return labInventory(targets, extra, { kubernetes_mirror: LAB_K8S_MIRROR });
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  audit: string;
  seconds: number;
}

const runs: CliRun[] = [];

function drover(args: string[]): Promise<CliRun> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'drover-cluster-audit-')), 'audit.jsonl');
  const started = Date.now();
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'run.ts'), ...args, '--audit-log', auditPath], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let audit = '';
      try {
        audit = readFileSync(auditPath, 'utf8');
      } catch {
        // A run refused before it started writes no log.
      }
      const run = { code: code ?? -1, stdout, stderr, audit, seconds: (Date.now() - started) / 1000 };
      runs.push(run);
      resolveRun(run);
    });
    child.stdin.end('');
  });
}

/** The recap's counts per host: { 'lab-1': { ok, changed, failed } }. */
function recap(run: CliRun): Record<string, { ok: number; changed: number; failed: number }> {
  const counts: Record<string, { ok: number; changed: number; failed: number }> = {};
  for (const match of run.stdout.matchAll(/^\s+(\S+) : ok=(\d+) changed=(\d+) failed=(\d+)/gm)) {
    counts[match[1]!] = { ok: Number(match[2]), changed: Number(match[3]), failed: Number(match[4]) };
  }
  return counts;
}

/** `kubectl get nodes` as "NAME STATUS" per node (the header line left out). */
function nodeStates(table: string): string[] {
  return table
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('NAME '))
    .map((line) => line.split(/\s+/).slice(0, 2).join(' '));
}

function shown(run: CliRun): string {
  return `exit ${run.code}\n${run.stdout.slice(-6000)}\n${run.stderr.slice(-3000)}`;
}

describeOnLab('cluster playbook end to end on lab hosts (kubeadm is the lab stand-in)', 4, (targets) => {
  const ok = async (target: LabTarget, script: string) => {
    const result = await onHost(target, script);
    expect(result.exitCode, `${target.name}: ${script}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    return result.stdout;
  };
  const cp = () => targets()[0]!;
  const three = () => targets().slice(0, 3);
  const kubectl = (args: string) => ok(cp(), `KUBECONFIG=/etc/kubernetes/admin.conf kubectl ${args}`);
  /** Files under /etc, /usr and dpkg's database changed since the marker: what a run left behind. */
  const changedSince = (target: LabTarget, marker: string) => ok(target, `find /etc /usr /var/lib/dpkg /opt /var/lib/kubelet -newer ${marker} 2>/dev/null | grep -v '^/etc/machine-id$' | head -n 20 || true`);

  const samplerRun = `/run/drover-cluster-sampler-${process.pid}`;
  let samplers: Array<Promise<{ exitCode: number; stdout: string; stderr: string }>> = [];
  let tokens: string[] = [];

  before(async function () {
    this.timeout(900_000);
    await Promise.all(targets().map((target) => onHost(target, `systemctl stop drover-test-port10250 2>/dev/null; ${FRESH}`)));
    // The samplers watch all four hosts from before the first change to after the reset.
    samplers = targets().map((target) => onHost(target, `python3 - ${samplerRun} <<'EOF'\n${PROC_SAMPLER}EOF`));
    await Promise.all(targets().map((target) => ok(target, `for i in $(seq 600); do [ -e ${samplerRun}.ready ] && exit 0; sleep 0.1; done; echo sampler did not start >&2; exit 1`)));
  });

  after(async function () {
    this.timeout(900_000);
    await Promise.all(targets().map((target) => onHost(target, `touch ${samplerRun}.stop`)));
    await Promise.all(samplers);
    await Promise.all(targets().map((target) => onHost(target, `rm -f ${samplerRun}.ready ${samplerRun}.stop; systemctl stop drover-test-port10250 2>/dev/null; ${FRESH}`)));
    console.log(`  timings: ${runs.map((run) => `${run.seconds.toFixed(1)} s`).join(', ')}`);
  });

  it('preflight: problems on two hosts are all listed at once, and no host is changed', async function () {
    this.timeout(600_000);
    // lab-2: something listens on the kubelet's port; lab-3: its node_ip is on none of its interfaces.
    await ok(targets()[1]!, 'systemd-run --unit=drover-test-port10250 python3 -m http.server 10250 >/dev/null 2>&1; for i in $(seq 100); do ss -Hltn "sport = :10250" | grep -q . && exit 0; sleep 0.1; done; exit 1');
    try {
      const marker = '/run/drover-cluster-marker';
      await Promise.all(three().map((target) => ok(target, `touch ${marker}; sleep 1`)));
      const bad = inventory(three(), { 'lab-3': '              node_ip: 10.99.99.99\n' });
      for (const mode of [[], ['--check']]) {
        const run = await drover([CLUSTER, '-i', bad, ...mode]);
        expect(run.code, shown(run)).to.equal(2);
        // Both problems in the one failure of lab-1 (the first host), which lists every host's.
        expect(run.stdout).to.match(/failed\s+lab-1\s+cluster preflight \[assert\]\n\s+assertion failed: 2 of 2 conditions failed on lab-1: /);
        expect(run.stdout).to.include('lab-2: port(s) 10250 already in use');
        expect(run.stdout).to.include('lab-3: its cluster address 10.99.99.99 is on none of its interfaces');
        expect(run.stdout, 'no play after the preflight ran').to.not.include('PLAY prepare nodes');
        for (const counts of Object.values(recap(run))) expect(counts.changed).to.equal(0);
      }
      for (const target of three()) expect(await changedSince(target, marker), `${target.name} changed`).to.equal('');
    } finally {
      await onHost(targets()[1]!, 'systemctl stop drover-test-port10250');
    }
  });

  it('kube_proxy_mode ipvs on a kernel without IPVS: the preflight names the missing modules of every host, and no host is changed', async function () {
    this.timeout(600_000);
    // The lab's kernel has no ip_vs (no /proc/net/ip_vs, no modules to load): IPVS cannot work on any host.
    const ipvs = await onHost(targets()[0]!, 'test -e /proc/net/ip_vs && echo present || echo absent');
    if (ipvs.stdout.trim() === 'present') this.skip();
    const marker = '/run/drover-cluster-marker';
    await Promise.all(three().map((target) => ok(target, `touch ${marker}; sleep 1`)));
    const mode = '              kube_proxy_mode: ipvs\n';
    const run = await drover([CLUSTER, '-i', inventory(three(), { 'lab-1': mode, 'lab-2': mode, 'lab-3': mode })]);
    expect(run.code, shown(run)).to.equal(2);
    for (const target of three()) {
      expect(run.stdout).to.match(new RegExp(`${target.name}: kernel \\S+ cannot provide ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh \\(not loaded, not built in, and modprobe finds no module\\); kube_proxy_mode ipvs needs them`));
    }
    expect(run.stdout, 'no play after the preflight ran').to.not.include('PLAY prepare nodes');
    for (const target of three()) expect(await changedSince(target, marker), `${target.name} changed`).to.equal('');
  });

  it('--check on fresh hosts predicts the apply and changes nothing', async function () {
    this.timeout(600_000);
    const marker = '/run/drover-cluster-marker';
    await Promise.all(three().map((target) => ok(target, `touch ${marker}; sleep 1`)));
    const run = await drover([CLUSTER, '-i', inventory(three()), '--check']);
    expect(run.code, shown(run)).to.equal(0);
    // Node preparation is predicted exactly, the Kubernetes packages too (their repository's key is read in the
    // dry run); the join file is "would run": its token would be made by a command that a dry run does not run.
    for (const expected of [
      /would run\s+lab-1\s+kubeadm init/,
      /would run\s+lab-2\s+JoinConfiguration \(0600, holds the token\)/,
      /would run\s+lab-3\s+kubeadm join/,
      /would change\s+lab-2\s+kubelet, kubeadm, kubectl pinned and held/,
      /would change\s+lab-3\s+containerd config/,
    ]) {
      expect(run.stdout).to.match(expected);
    }
    for (const target of three()) expect(await changedSince(target, marker), `${target.name} changed under --check`).to.equal('');
  });

  it('1 control plane + 2 workers from fresh: every node Ready, the packages pinned and held', async function () {
    this.timeout(1_200_000);
    const run = await drover([CLUSTER, '-i', inventory(three())]);
    expect(run.code, shown(run)).to.equal(0);
    expect(run.stdout).to.match(/cluster nodes \[debug\][\s\S]*lab-3\s+Ready/);
    expect(nodeStates(await kubectl('get nodes'))).to.deep.equal(['lab-1 Ready', 'lab-2 Ready', 'lab-3 Ready']);
    for (const target of three()) {
      expect(await ok(target, "apt-mark showhold | sort | tr '\\n' ' '; kubeadm version -o short; systemctl is-enabled kubelet")).to.equal('kubeadm kubectl kubelet v1.30.13\nenabled\n');
      // The join file held a token: removed once used.
      expect(await ok(target, 'ls /etc/kubernetes/drover/kubeadm-join.yaml 2>/dev/null | wc -l')).to.equal('0\n');
    }
    expect(await ok(cp(), 'stat -c %a /etc/kubernetes/drover/kubeadm-init.yaml; cmp /etc/kubernetes/admin.conf /root/.kube/config && echo same')).to.equal('600\nsame\n');
    // The CNI pool is the pod subnet, and autodetection names the cluster NIC.
    expect(await kubectl('get daemonset calico-node -n kube-system -o yaml'))
      .to.include('10.244.0.0/16')
      .and.include('interface=eth0');
  });

  it('a second run changes nothing, nor does --check predict anything; --tags verify runs only the verify part', async function () {
    this.timeout(600_000);
    const run = await drover([CLUSTER, '-i', inventory(three())]);
    expect(run.code, shown(run)).to.equal(0);
    const counts = recap(run);
    expect(Object.keys(counts).sort()).to.deep.equal(['lab-1', 'lab-2', 'lab-3']);
    for (const [host, count] of Object.entries(counts)) expect(count.changed, `${host}\n${shown(run)}`).to.equal(0);
    expect(run.stdout).to.include('no worker needs a token');
    // The dry run of a converged cluster predicts nothing either.
    const check = await drover([CLUSTER, '-i', inventory(three()), '--check']);
    expect(check.code, shown(check)).to.equal(0);
    for (const [host, count] of Object.entries(recap(check))) expect(count.changed, `${host} under --check\n${shown(check)}`).to.equal(0);
    // One part alone: the preflight (tag always) and the verify play; every other task is skipped.
    const verify = await drover([CLUSTER, '-i', inventory(three()), '--tags', 'verify']);
    expect(verify.code, shown(verify)).to.equal(0);
    expect(verify.stdout).to.match(/cluster nodes \[debug\][\s\S]*lab-3\s+Ready/);
    expect(verify.stdout).to.not.match(/^\s+(ok|changed)\s+\S+\s+(kubeadm init|hostname|kubelet enabled) \[/m);
  });

  it('a fourth host added to the inventory joins with --limit lab-4 alone (token made on lab-1 by delegation); the next full run only adds it to /etc/hosts', async function () {
    this.timeout(1_200_000);
    const run = await drover([CLUSTER, '-i', inventory(targets()), '--limit', 'lab-4']);
    expect(run.code, shown(run)).to.equal(0);
    expect(Object.keys(recap(run))).to.deep.equal(['lab-4']);
    // The control plane is not in the run: the worker's token is made there on its behalf (delegateTo).
    expect(run.stdout).to.match(/changed\s+lab-4 → lab-1\s+bootstrap token for lab-4/);
    expect(run.stdout).to.match(/changed\s+lab-4\s+kubeadm join/);
    expect(run.stdout, 'no task of lab-2 or lab-3').to.not.match(/^\s+(ok|changed|failed)\s+lab-[23]\b/m);
    expect(await kubectl('wait --for=condition=Ready nodes --all --timeout=300s')).to.equal('node/lab-1 condition met\nnode/lab-2 condition met\nnode/lab-3 condition met\nnode/lab-4 condition met\n');
    // The next run over everything: lab-1..3 learn lab-4 in /etc/hosts; nothing else changes anywhere.
    const full = await drover([CLUSTER, '-i', inventory(targets())]);
    expect(full.code, shown(full)).to.equal(0);
    const changed = [...full.stdout.matchAll(/^\s+changed\s+(\S+)\s+(.+?) \[/gm)].map((match) => `${match[1]} ${match[2]}`).sort();
    expect(changed).to.deep.equal(['lab-1 cluster nodes in /etc/hosts', 'lab-2 cluster nodes in /etc/hosts', 'lab-3 cluster nodes in /etc/hosts']);
    expect(nodeStates(await kubectl('get nodes'))).to.deep.equal(['lab-1 Ready', 'lab-2 Ready', 'lab-3 Ready', 'lab-4 Ready']);
    tokens = [...(await ok(cp(), 'kubeadm token list')).matchAll(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g)].map((match) => match[0]);
    expect(tokens.length, 'tokens listed on the control plane (init + two joins)').to.be.at.least(3);
  });

  it("containerd's sandbox image and a registry mirror, on lab-4 only: written, containerd restarted with them, then no change", async function () {
    this.timeout(600_000);
    const vars = `              containerd_sandbox_image: registry.example.com/pause:3.9\n              containerd_registry_mirrors:\n                docker.io: [https://mirror.example.com]\n`;
    const inv = inventory(targets(), { 'lab-4': vars });
    const first = await drover([CLUSTER, '-i', inv, '--limit', 'lab-4', '--tags', 'runtime']);
    expect(first.code, shown(first)).to.equal(0);
    expect(first.stdout).to.match(/changed\s+lab-4\s+handler: restart containerd/);
    const lab4 = targets()[3]!;
    expect(await ok(lab4, "systemctl is-active containerd; containerd config dump | grep -E 'sandbox_image|config_path' | tr -s ' '")).to.equal(
      'active\n sandbox_image = "registry.example.com/pause:3.9"\n config_path = "/etc/containerd/certs.d"\n',
    );
    expect(await ok(lab4, 'cat /etc/containerd/certs.d/docker.io/hosts.toml'))
      .to.include('server = "https://registry-1.docker.io"')
      .and.include('[host."https://mirror.example.com"]');
    const again = await drover([CLUSTER, '-i', inv, '--limit', 'lab-4', '--tags', 'runtime']);
    expect(again.code, shown(again)).to.equal(0);
    expect(recap(again)['lab-4']!.changed, shown(again)).to.equal(0);
  });

  it('reset.ts removes the cluster from every node; a second reset changes nothing', async function () {
    this.timeout(900_000);
    const inv = inventory(targets());
    const first = await drover([RESET, '-i', inv]);
    expect(first.code, shown(first)).to.equal(0);
    for (const target of targets()) {
      expect(await ok(target, 'find /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/cni/net.d -type f 2>/dev/null | wc -l; ss -Hltn "sport = :6443" | wc -l; ls /root/.kube/config 2>/dev/null | wc -l')).to.equal('0\n0\n0\n');
    }
    const second = await drover([RESET, '-i', inv]);
    expect(second.code, shown(second)).to.equal(0);
    for (const [host, count] of Object.entries(recap(second))) expect(count.changed, host).to.equal(0);
  });

  it('no bootstrap token was in any output, audit log, or process argv/environment on any host', async function () {
    this.timeout(300_000);
    expect(tokens, 'the --limit case collected the tokens').to.not.deep.equal([]);
    await Promise.all(targets().map((target) => onHost(target, `touch ${samplerRun}.stop`)));
    const samples = (await Promise.all(samplers)).map((result, index) => {
      expect(result.exitCode, `sampler on ${targets()[index]!.name}: ${result.stderr}`).to.equal(0);
      return JSON.parse(result.stdout) as ProcSample;
    });
    samplers = [];
    const secrets = tokens.map((token) => token.split('.')[1]!);
    samples.forEach((sample, index) => {
      const name = targets()[index]!.name;
      expect(sample.passes, `${name}: sampling passes`).to.be.greaterThan(100);
      if (index > 0)
        expect(
          sample.cmdlines.some((line) => line.includes('kubeadm join --config /etc/kubernetes/drover/kubeadm-join.yaml')),
          `${name}: the sampler saw the join`,
        ).to.equal(true);
      for (const text of [...sample.cmdlines, ...sample.environs]) {
        for (const secret of secrets) expect(text.includes(secret), `${name}: a process held a token: ${text.split(secret).join('<secret>')}`).to.equal(false);
      }
    });
    expect(runs.length).to.be.at.least(13);
    for (const run of runs) {
      for (const secret of secrets) {
        for (const [what, text] of [
          ['stdout', run.stdout],
          ['stderr', run.stderr],
          ['audit log', run.audit],
        ] as const) {
          expect(text.includes(secret), `a token in a run's ${what}`).to.equal(false);
        }
      }
    }
  });
});
