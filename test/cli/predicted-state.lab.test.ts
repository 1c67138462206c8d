/**
 * A dry run that sees its own earlier tasks, on real lab hosts over real SSH: for pairs of tasks across
 * modules (test/fixtures/playbooks/predicted-pairs.ts) and for the node preparation of
 * playbooks/cluster.ts on freshly made hosts, `--check --json` is compared, task by task and host by
 * host, with the `--json` of the apply that follows; the hosts' state is read back with OpenSSH.
 */
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { down } from '../../lab/down.ts';
import { withLabLock } from '../../lab/lock.ts';
import { labPaths } from '../../lab/paths.ts';
import { up } from '../../lab/up.ts';
import type { TaskResult } from '../../runner/result.ts';
import { runJson, type JsonRun } from '../support/run-cli.ts';
import { describeWithLab, labSsh, type Lab } from '../support/lab.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PAIRS = join(ROOT, 'test/fixtures/playbooks/predicted-pairs.ts');

/** One line per task and host, as the comparison shows it. */
function line(result: TaskResult | undefined): string {
  if (!result) return '(not run)';
  return `${result.status}${result.uncertain ? ' (would run)' : ''}: ${JSON.stringify(result.changes)} ${JSON.stringify(result.diffs)}`;
}

const key = (result: TaskResult) => `${result.host} · ${result.task}`;

/** Check and apply side by side, every task of every host. */
function sideBySide(check: JsonRun, apply: JsonRun): Array<{ key: string; check: TaskResult; apply: TaskResult | undefined }> {
  const applied = new Map(apply.results.map((result) => [key(result), result]));
  return check.results.map((result) => ({ key: key(result), check: result, apply: applied.get(key(result)) }));
}

/** Everything the pairs playbook makes, removed, and forwarding back off: each pair starts from nothing. */
const CLEAN = `umount /tmp/drover-p10/mnt 2>/dev/null || true
rm -rf /tmp/drover-p10 /tmp/drover-p10-shared
systemctl disable --now drover-p10.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system/drover-p10.service /etc/modules-load.d/drover-p10.conf /etc/sysctl.d/drover-p10.conf /etc/sysctl.d/drover-p10-b.conf
systemctl daemon-reload
sysctl -qw net.ipv4.ip_forward=0
iptables -w -D INPUT -m comment --comment drover-p10 -j DROVER-P10 2>/dev/null || true
iptables -w -F DROVER-P10 2>/dev/null || true
iptables -w -X DROVER-P10 2>/dev/null || true
systemctl disable kubelet >/dev/null 2>&1 || true
dnf -y -q remove kubectl kubelet >/dev/null 2>&1 || true
rm -f /etc/yum.repos.d/drover-p10.repo
systemctl stop containerd >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq containerd runc >/dev/null 2>&1 || true
rm -rf /etc/containerd`;

describeWithLab('a dry run sees its own earlier tasks (lab)', 3, (lab: () => Lab) => {
  const pairs: Array<{ tag: string; what: string; setup?: string; readBack: string; expected: string }> = [
    {
      tag: 'dir-file',
      what: 'a directory, then a file in it, then a line in that file',
      readBack: 'stat -c %F /tmp/drover-p10/docker; cat /tmp/drover-p10/docker/daemon.json',
      expected: 'directory\n# managed\n{"log-driver": "journald"}\n',
    },
    {
      tag: 'unit',
      what: 'a unit file, then the unit started and enabled',
      readBack: 'systemctl is-active drover-p10.service; systemctl is-enabled drover-p10.service',
      expected: 'active\nenabled\n',
    },
    {
      tag: 'modules',
      what: 'a modules-load file, then the modprobe that lists its module there, then sysctl live and in files',
      readBack: 'cat /etc/modules-load.d/drover-p10.conf; sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.forwarding',
      expected: 'overlay\nbr_netfilter\n1\n1\n',
    },
    {
      tag: 'package',
      what: 'a package, then its configuration file, then its service',
      readBack: 'systemctl is-active containerd; systemctl is-enabled containerd; cat /etc/containerd/config.toml',
      expected: 'active\nenabled\nversion = 2\n',
    },
    {
      tag: 'iptables',
      what: 'an iptables chain, then a rule jumping to it, then a rule in it saved with the ruleset',
      readBack: 'iptables -w -S DROVER-P10; iptables -w -C INPUT -m comment --comment drover-p10 -j DROVER-P10 && echo jump; grep -c DROVER-P10 /tmp/drover-p10/rules.v4',
      expected: '-N DROVER-P10\n-A DROVER-P10 -p tcp -m tcp --dport 9999 -j ACCEPT\njump\n3\n',
    },
    {
      tag: 'rpm',
      what: 'a yum repository, then packages only it offers, then the unit one of them brings',
      readBack: "rpm -q --qf '%{VERSION}\\n' kubectl kubelet; systemctl is-enabled kubelet",
      expected: '1.30.13\n1.30.13\nenabled\n',
    },
    {
      tag: 'files',
      what: 'a rendered file, then a block in it, then its directory removed and the file written again',
      readBack: 'ls /tmp/drover-p10/app; cat /tmp/drover-p10/app/app.conf',
      expected: 'app.conf\nfresh\n',
    },
    {
      tag: 'links',
      what: 'a directory, links to it (absolute, relative) and to a directory that exists, then files written through them',
      setup: 'mkdir -p /tmp/drover-p10-shared',
      readBack: 'cat /tmp/drover-p10/releases/v1/app.conf /tmp/drover-p10/releases/v1/other.conf /tmp/drover-p10-shared/shared.conf',
      expected: 'through current\nthrough previous\nshared\n',
    },
    {
      tag: 'follow',
      what: 'links to what does not exist yet, followed: a directory made through one, a file written and edited through the other',
      setup: 'mkdir -p /tmp/drover-p10',
      readBack: 'stat -c %F /tmp/drover-p10/releases/v2; cat /tmp/drover-p10/releases/v2/app.conf; readlink /tmp/drover-p10/app.conf',
      expected: 'directory\nv=1\nw=2\n/tmp/drover-p10/live/app.conf\n',
    },
    {
      tag: 'read',
      what: 'a new file and a changed one, then both read back (slurp), written down, and one fetched to the controller',
      setup: 'mkdir -p /tmp/drover-p10/read && printf "old\\n" > /tmp/drover-p10/read/exists.txt',
      readBack: 'cat /tmp/drover-p10/read/both.txt',
      expected: 'hello\nnew\n',
    },
    {
      tag: 'mount',
      what: 'a mount point directory, then a tmpfs mounted on it, then a file on that mount',
      readBack: 'findmnt -n -o FSTYPE /tmp/drover-p10/mnt; ls /tmp/drover-p10/mnt',
      expected: 'tmpfs\nmarker\n',
    },
  ];

  for (const pair of pairs) {
    it(`${pair.what}: the dry run predicts each task exactly as the apply then does it`, async () => {
      const host = lab().hosts[0]!;
      const clean = await labSsh(lab(), host, `${CLEAN}\n${pair.setup ?? ''}`);
      expect(clean.code, clean.stderr).to.equal(0);
      try {
        const args = [PAIRS, '-i', lab().inventoryPath, '--limit', host.name, '--tags', pair.tag];
        const check = await runJson([...args, '--check']);
        expect(check.code, check.stderr).to.equal(0);
        const apply = await runJson(args);
        expect(apply.code, apply.stderr).to.equal(0);
        const rows = sideBySide(check, apply).filter((row) => row.check.status !== 'skipped');
        expect(rows.length, 'tasks of the pair').to.be.at.least(2);
        for (const row of rows) {
          expect(row.check.uncertain, `${row.key}: ${row.check.msg}`).to.equal(false);
          expect(line(row.check), row.key).to.equal(line(row.apply));
        }
        expect(rows.filter((row) => row.apply?.changed).length, 'tasks that changed the host').to.be.at.least(2);
        const state = await labSsh(lab(), host, pair.readBack);
        expect(state.stdout).to.equal(pair.expected);
      } finally {
        await labSsh(lab(), host, CLEAN);
      }
    });
  }

  it('a saved plan of tasks that build on each other applies exactly as reviewed (--check --save-plan, then apply)', async () => {
    const host = lab().hosts[0]!;
    await labSsh(lab(), host, CLEAN);
    try {
      const plan = join(mkdtempSync(join(tmpdir(), 'drover-p10-plan-')), 'plan.json');
      const check = await runJson([PAIRS, '-i', lab().inventoryPath, '--limit', host.name, '--tags', 'dir-file', '--check', '--save-plan', plan]);
      expect(check.code, check.stderr).to.equal(0);
      const apply = await runJson(['apply', plan, '-i', lab().inventoryPath]);
      expect(apply.code, `${apply.stderr}\n${apply.results.map((result) => result.msg).join('\n')}`).to.equal(0);
      expect(apply.results.filter((result) => result.status === 'changed').map((result) => result.task)).to.deep.equal(['config directory', 'config file in it', 'line in that file']);
      expect((await labSsh(lab(), host, 'cat /tmp/drover-p10/docker/daemon.json')).stdout).to.equal('# managed\n{"log-driver": "journald"}\n');
    } finally {
      await labSsh(lab(), host, CLEAN);
    }
  });

  it('playbooks/cluster.ts --tags prep on fresh hosts: every task on every host predicted exactly as the apply makes it, packages and all; the saved plan applies as reviewed', async function () {
    this.timeout(1_200_000);
    // Fresh hosts: the lab's hosts are made again from its root filesystem, nothing of earlier tests left.
    const paths = labPaths();
    await withLabLock(paths.lockFile, async () => {
      await down(paths);
      await up(paths, { count: 3, log: () => undefined });
    });
    const hosts = lab().hosts.map((host) => host.name);
    const args = [join(ROOT, 'playbooks/cluster.ts'), '-i', lab().inventoryPath, '--limit', hosts.join(','), '--tags', 'prep'];
    // Reviewed and applied as reviewed: the dry run saves its plan, and the apply is that plan's.
    const plan = join(mkdtempSync(join(tmpdir(), 'drover-p10-plan-')), 'prep.json');
    const check = await runJson([...args, '--check', '--save-plan', plan]);
    expect(check.code, check.stderr).to.equal(0);
    const apply = await runJson(['apply', plan, '-i', lab().inventoryPath]);
    expect(
      apply.code,
      `${apply.stderr}\n${apply.results
        .filter((result) => result.status === 'failed')
        .map((result) => result.msg)
        .join('\n')}`,
    ).to.equal(0);

    const figures = new Map<string, { predicted: number; exact: number; cannotKnow: number; applied: number }>();
    for (const row of sideBySide(check, apply)) {
      // A task outside --tags prep does nothing either way. Later plays' code may take another path after the
      // real prep (a worker that no longer needs a token), so the apply may not reach it at all.
      const outsideTags = (result: TaskResult | undefined) => result?.status === 'skipped' && result.msg.startsWith('skipped by tags');
      if (outsideTags(row.check) && (row.apply === undefined || outsideTags(row.apply))) continue;
      const figure = figures.get(row.check.host) ?? { predicted: 0, exact: 0, cannotKnow: 0, applied: 0 };
      figures.set(row.check.host, figure);
      expect(row.check.status, `${row.key}: a dry run never fails where the apply succeeds: ${row.check.msg}`).to.not.equal('failed');
      if (row.check.changed) figure.predicted++;
      if (row.apply?.changed) figure.applied++;
      if (row.check.uncertain) {
        figure.cannotKnow++;
        // "would run" means drover cannot know: it names the earlier task it depends on, or (the package
        // transaction itself) the list refresh whose outcome only the apply sees.
        expect(row.check.msg, row.key).to.match(/^would run \(cannot know: depends on "[^"]+"|^would run: refresh the apt package lists/);
        continue;
      }
      figure.exact++;
      expect(line(row.check), row.key).to.equal(line(row.apply));
    }
    console.log(`      check vs apply per host: ${JSON.stringify(Object.fromEntries(figures))}`);
    for (const [host, figure] of figures) {
      // The README demo's case: the second modprobe edits the file the first one would have created.
      const brNetfilter = check.results.find((result) => result.host === host && result.task === 'kernel module br_netfilter')!;
      expect(brNetfilter.uncertain, brNetfilter.msg).to.equal(false);
      expect(brNetfilter.changes).to.deep.equal(['update /etc/modules-load.d/k8s.conf (78 → 91 bytes)']);
      // The package transactions were rehearsed (the lists refreshed in a private directory, the packages
      // read), the Kubernetes repository's key read in the dry run too: nothing is left to "would run".
      expect(figure.cannotKnow, `${host}: tasks the dry run could not know`).to.equal(0);
      expect(figure.predicted, `${host}: changes predicted vs applied`).to.equal(figure.applied);
      expect(figure.exact, host).to.be.at.least(19);
      const containerd = check.results.find((result) => result.host === host && result.task === 'containerd running')!;
      expect(containerd.msg, 'the package starts and enables containerd').to.match(/active \(running\), enabled/);
    }
  });
});
