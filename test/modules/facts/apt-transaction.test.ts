/**
 * The apt rehearsal's output, read; and the private copy of /etc/apt it builds for a dry run, run for
 * real in a temp directory (it reads this machine's /etc/apt and writes only below $tmp).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { overlayScript, parseRehearsedPolicy, parseRehearsedTransaction } from '../../../modules/facts/apt-transaction.ts';
import type { PredictedPath } from '../../../runner/predicted-state.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Shaped as the rehearsal prints it on a Debian 12 host (trimmed from a lab host's output). */
const OUTPUT = `#simulation
Inst runc (1.1.5+ds1-1+deb12u1 drover-lab:lab [amd64])
Inst containerd (1.6.20~ds1-1+deb12u3 drover-lab:lab [amd64])
Inst curl [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 drover-lab:lab [amd64])
Remv docker.io [20.10.24+dfsg1-1+b3]
#host
systemd
link /lib /usr/lib
link /bin /usr/bin
#package containerd 1.6.20~ds1-1+deb12u3
#control postinst ${b64('#!/bin/sh\nset -e\n')}
#control conffiles ${b64('/etc/containerd/config.toml\n')}
#entries
d 755 0 0 4096 etc\t
d 755 0 0 4096 etc/containerd\t
f 644 0 0 11 etc/containerd/config.toml\t
l 777 0 0 7 usr/bin/ctr-link\tctr
#sha256
${'a'.repeat(64)}  ./etc/containerd/config.toml
#on-host
etc
#content ${b64('version = 2')} etc/containerd/config.toml
#package runc 1.1.5+ds1-1+deb12u1
#unsafe-names
#entries
f 755 0 0 9 usr/sbin/runc\t
#sha256
#on-host
`;

describe('modules/facts/apt-transaction: the rehearsal, read', () => {
  it('reads the simulation (new, upgraded, removed), the host, and each package with its files, scripts and texts', () => {
    const read = parseRehearsedTransaction(OUTPUT);
    expect(read.failed).to.equal(null);
    expect(read.installs).to.deep.equal([
      { name: 'runc', version: '1.1.5+ds1-1+deb12u1', upgradeFrom: null },
      { name: 'containerd', version: '1.6.20~ds1-1+deb12u3', upgradeFrom: null },
      { name: 'curl', version: '7.88.1-10+deb12u15', upgradeFrom: '7.88.1-10+deb12u14' },
    ]);
    expect(read.removals).to.deep.equal(['docker.io']);
    expect(read.systemdRunning).to.equal(true);
    expect([...read.hostLinks]).to.deep.equal([
      ['/lib', '/usr/lib'],
      ['/bin', '/usr/bin'],
    ]);
    const [containerd, runc] = read.packages;
    expect(containerd!.control).to.deep.equal({ postinst: '#!/bin/sh\nset -e\n', conffiles: '/etc/containerd/config.toml\n' });
    expect(containerd!.entries).to.deep.equal([
      { type: 'directory', mode: '755', uid: 0, gid: 0, size: 4096, path: '/etc', onHost: true },
      { type: 'directory', mode: '755', uid: 0, gid: 0, size: 4096, path: '/etc/containerd', onHost: false },
      { type: 'file', mode: '644', uid: 0, gid: 0, size: 11, path: '/etc/containerd/config.toml', onHost: false, sha256: 'a'.repeat(64), content: Buffer.from('version = 2') },
      { type: 'link', mode: '777', uid: 0, gid: 0, size: 7, path: '/usr/bin/ctr-link', target: 'ctr', onHost: false },
    ]);
    expect(runc!.unsafeNames).to.equal(true);
  });

  it('reports where the rehearsal stopped, with its last lines', () => {
    expect(parseRehearsedTransaction('#download-failed\nE: Failed to fetch file:/srv/x 404\n').failed).to.equal('download failed: E: Failed to fetch file:/srv/x 404');
    expect(parseRehearsedTransaction('#simulation-failed\nE: Unable to locate package nope\n').failed).to.equal('simulation failed: E: Unable to locate package nope');
    expect(() => parseRehearsedTransaction('garbage')).to.throw(/no simulation/);
  });

  it('reads the refreshed policy, whether the lists changed, and a refresh that fails', () => {
    const policy = parseRehearsedPolicy('#lists-changed\n#policy\nhello:\n  Installed: (none)\n  Candidate: 2.10-3\n  Version table:\n     2.10-3 500\n        500 file:/srv/drover-repo ./ Packages\n');
    expect(policy.listsChanged).to.equal(true);
    expect(policy.policy.get('hello')?.candidate).to.equal('2.10-3');
    expect(parseRehearsedPolicy('#update-failed\nE: The repository is not signed.\n')).to.deep.include({ updateFailed: 'E: The repository is not signed.' });
  });
});

describe('modules/facts/apt-transaction: /etc/apt as the dry run would leave it', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'drover-apt-overlay-'));
    mkdirSync(join(tmp, 'etc'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes the predicted files into the copy, removes predicted absences, and points signed-by at the copied key', () => {
    const key = '-----BEGIN PGP PUBLIC KEY BLOCK-----\nlab key\n-----END PGP PUBLIC KEY BLOCK-----\n';
    const overlay = new Map<string, PredictedPath>([
      ['/etc/apt/keyrings/kubernetes.asc', { kind: 'file', sha256: '', size: key.length, content: Buffer.from(key) }],
      ['/etc/apt/sources.list.d/kubernetes.list', { kind: 'file', sha256: '', size: 0, content: Buffer.from('deb [signed-by=/etc/apt/keyrings/kubernetes.asc] file:///srv/k8s/ /\n') }],
      ['/etc/apt/sources.list.d/gone.sources', { kind: 'absent' }],
      ['/etc/apt/sources.list.d/deb822.sources', { kind: 'file', sha256: '', size: 0, content: Buffer.from('Types: deb\nSigned-By: /etc/apt/keyrings/kubernetes.asc\n') }],
    ]);
    execFileSync('/bin/sh', ['-c', `set -eu\n${overlayScript(overlay).text}`], { env: { ...process.env, tmp } });
    const copy = join(tmp, 'etc');
    expect(readFileSync(join(copy, 'keyrings/kubernetes.asc'), 'utf8')).to.equal(key);
    expect(readFileSync(join(copy, 'sources.list.d/kubernetes.list'), 'utf8')).to.equal(`deb [signed-by=${copy}/keyrings/kubernetes.asc] file:///srv/k8s/ /\n`);
    expect(readFileSync(join(copy, 'sources.list.d/deb822.sources'), 'utf8')).to.equal(`Types: deb\nSigned-By: ${copy}/keyrings/kubernetes.asc\n`);
    expect(existsSync(join(copy, 'sources.list.d/gone.sources'))).to.equal(false);
  });
});
