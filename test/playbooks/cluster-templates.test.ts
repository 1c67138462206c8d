/**
 * The cluster playbook's kubeadm templates, rendered as the playbook renders them, checked against kubeadm's
 * schema by `kubeadm config validate` of the lab's Kubernetes stand-in (lab/k8s-standin/: strict decoding of
 * every field of InitConfiguration, ClusterConfiguration, JoinConfiguration, KubeletConfiguration and
 * KubeProxyConfiguration as kubeadm v1.30/v1.31 define them). Runs with the controller's python3; without
 * one it is skipped (a failure under CI=true). The lab e2e test (cluster.lab.test.ts) feeds the same files
 * to the stand-in's init and join.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { STANDIN_SOURCE } from '../../lab/k8s-packages.ts';
import { renderTemplate } from '../../runner/template.ts';
import { secret } from '../../runner/secret.ts';

const TEMPLATES = resolve(import.meta.dirname, '../../templates');
const SCRIPT = 'import sys; from standin.kubeadm import main; sys.exit(main(sys.argv[1:]))';

function python(): string | undefined {
  return ['/usr/bin/python3', 'python3'].find((program) => spawnSync(program, ['--version']).status === 0);
}

function render(name: string, vars: Record<string, unknown>): string {
  return renderTemplate(readFileSync(join(TEMPLATES, name), 'utf8'), vars, name, { revealSecrets: true }).text;
}

const INIT = {
  advertiseAddress: '10.236.0.11',
  nodeName: 'lab-1',
  criSocket: 'unix:///var/run/containerd/containerd.sock',
  imageRepository: 'registry.k8s.io',
  kubernetesVersion: '1.30.13',
  podSubnet: '10.244.0.0/16',
  serviceSubnet: '10.96.0.0/12',
  kubeProxyMode: 'iptables',
};

describe("cluster playbook templates against kubeadm's schema (the lab stand-in's validator)", function () {
  let program: string | undefined;
  before(function () {
    program = python();
    if (!program) {
      if (process.env.CI === 'true') throw new Error('CI=true and no python3 on the controller for the stand-in validator');
      console.log('  skipped: no python3 on the controller');
      this.skip();
    }
  });

  function validate(config: string): { code: number; stdout: string; stderr: string } {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-templates-'));
    const file = join(dir, 'kubeadm.yaml');
    writeFileSync(file, config);
    const result = spawnSync(program!, ['-c', SCRIPT, 'config', 'validate', '--config', file], { env: { ...process.env, PYTHONPATH: dirname(STANDIN_SOURCE) }, encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  const inits: Array<[string, Record<string, unknown>]> = [
    ['the defaults (iptables, v1.30.13)', INIT],
    ['IPVS mode, a mirror and v1.31.9', { ...INIT, kubeProxyMode: 'ipvs', imageRepository: 'registry.example.com/k8s', kubernetesVersion: '1.31.9' }],
  ];
  for (const [title, vars] of inits) {
    it(`the init configuration validates: ${title}`, () => {
      const result = validate(render('kubeadm-init.yaml.hbs', vars));
      expect(result.code, `${result.stdout}${result.stderr}`).to.equal(0);
    });
  }

  it('the join configuration validates, with the token where kubeadm reads it', () => {
    const text = render('kubeadm-join.yaml.hbs', {
      apiServerEndpoint: '10.236.0.11:6443',
      token: secret('abcdef.0123456789abcdef'),
      caCertHash: `sha256:${'0'.repeat(64)}`,
      nodeName: 'lab-2',
      criSocket: INIT.criSocket,
      nodeIp: '10.236.0.12',
    });
    expect(text).to.include('    token: abcdef.0123456789abcdef\n');
    const result = validate(text);
    expect(result.code, `${result.stdout}${result.stderr}`).to.equal(0);
  });

  it('the validator is not a rubber stamp: a wrong kube-proxy mode and overlapping subnets are refused', () => {
    expect(validate(render('kubeadm-init.yaml.hbs', { ...INIT, kubeProxyMode: 'userspace' })).code).to.not.equal(0);
    expect(validate(render('kubeadm-init.yaml.hbs', { ...INIT, podSubnet: '10.96.0.0/16' })).code).to.not.equal(0);
  });
});
