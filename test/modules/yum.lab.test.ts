import { expect } from 'chai';
import { yum, type YumParams } from '../../modules/yum.ts';
import { predictThenApplyAnyOutcome } from '../support/check-mode.ts';
import { executedCount } from '../support/executed.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

describe('yum (dnf) on a lab host', function () {
  this.timeout(180_000);
  // The lab hosts run Debian with dnf and rpm beside apt: the module is forced to dnf, and dnf keeps its
  // own rpm database there, so these packages never touch dpkg's.
  const PACKAGES = ['drover-test-a', 'drover-test-b'];
  const EXCLUDING_REPO = 'drover-test-yum-excluding';
  const PWNED = '/tmp/drover-test-yum-pwned';
  let target: LabTarget;

  /** The rpm database's own record, read with the plain OpenSSH client. */
  async function installed(): Promise<Record<string, string>> {
    const output = await onHost(target, `rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' ${PACKAGES.join(' ')} | grep -v 'is not installed' || true`);
    return Object.fromEntries(
      output.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ') as [string, string]),
    );
  }
  async function clean(): Promise<void> {
    const output = await onHost(target, `rpm -e --nodeps ${PACKAGES.join(' ')} >/dev/null 2>&1 || true; rm -f /etc/yum.repos.d/${EXCLUDING_REPO}.repo ${PWNED}`);
    expect(output.exitCode, output.stderr).to.equal(0);
  }

  before(async function () {
    const targets = await labTargets(this, 3);
    target = targets[Math.min(2, targets.length - 1)]!;
    const repo = await onHost(target, 'command -v dnf && test -d /srv/drover-rpm/repodata && echo ready');
    if (!repo.stdout.includes('ready')) throw new Error(`lab host ${target.name} has no dnf or no local RPM repository (/srv/drover-rpm/repodata): ${repo.stdout}${repo.stderr}`);
    await clean();
  });
  after(async () => {
    if (target) await clean();
  });

  it('installs in one transaction, reads back, re-applies and checks without change', async () => {
    const params: YumParams = { name: ['drover-test-a-1.0', 'drover-test-b'], useBackend: 'dnf' };
    const first = await applyModule(target, yum, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(first.diffs).to.deep.equal([
      { kind: 'value', name: 'package drover-test-a', before: null, after: '1.0-1' },
      { kind: 'value', name: 'package drover-test-b', before: null, after: '1.0-1' },
    ]);
    expect(executedCount(first)).to.equal(1);
    expect(first.commands[0]!.display).to.equal('dnf install -y drover-test-a-1.0-1 drover-test-b-1.0-1');
    expect(await installed()).to.deep.equal({ 'drover-test-a': '1.0-1', 'drover-test-b': '1.0-1' });

    const again = await applyModule(target, yum, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(executedCount(again)).to.equal(0);

    const check = await applyModule(target, yum, { name: ['drover-test-a'], state: 'latest', useBackend: 'dnf' }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([{ kind: 'value', name: 'package drover-test-a', before: '1.0-1', after: '1.1-1' }]);
    expect(executedCount(check)).to.equal(0);
    expect(await installed()).to.deep.equal({ 'drover-test-a': '1.0-1', 'drover-test-b': '1.0-1' });
  });

  it('upgrades to the newest, refuses an unasked downgrade, downgrades when allowed, removes', async () => {
    await applyModule(target, yum, { name: ['drover-test-a-1.0'], useBackend: 'dnf' });
    const latest = await applyModule(target, yum, { name: ['drover-test-a'], state: 'latest', useBackend: 'dnf' });
    expect(latest.status, latest.msg).to.equal('changed');
    expect(latest.diffs).to.deep.equal([{ kind: 'value', name: 'package drover-test-a', before: '1.0-1', after: '1.1-1' }]);
    expect(await installed()).to.include({ 'drover-test-a': '1.1-1' });
    expect((await applyModule(target, yum, { name: ['drover-test-a'], state: 'latest', useBackend: 'dnf' })).status).to.equal('ok');

    const refused = await applyModule(target, yum, { name: ['drover-test-a-1.0'], useBackend: 'dnf' });
    expect(refused.status).to.equal('failed');
    expect(refused.msg).to.include('drover-test-a 1.0-1 is older than the installed 1.1-1 (set allowDowngrade: true');
    const downgrade = await applyModule(target, yum, { name: ['drover-test-a-1.0'], allowDowngrade: true, useBackend: 'dnf' });
    expect(downgrade.status, downgrade.msg).to.equal('changed');
    expect(downgrade.diffs).to.deep.equal([{ kind: 'value', name: 'package drover-test-a', before: '1.1-1', after: '1.0-1' }]);
    expect(await installed()).to.include({ 'drover-test-a': '1.0-1' });

    const removed = await applyModule(target, yum, { name: ['drover-test-a', 'drover-test-b'], state: 'absent', useBackend: 'dnf' });
    expect(removed.status, removed.msg).to.equal('changed');
    expect(await installed()).not.to.have.property('drover-test-a');
    expect((await applyModule(target, yum, { name: ['drover-test-a'], state: 'absent', useBackend: 'dnf' })).status).to.equal('ok');
  });

  it('honours a repository exclude unless disableExcludes lifts it, with enableRepo/disableRepo', async () => {
    await clean();
    const repo = `[${EXCLUDING_REPO}]\nname=drover test (excluding)\nbaseurl=file:///srv/drover-rpm\nenabled=0\ngpgcheck=0\nmetadata_expire=0\nexclude=drover-test-*\n`;
    await onHost(target, `cat > /etc/yum.repos.d/${EXCLUDING_REPO}.repo`, repo);
    const repos = { disableRepo: ['drover-lab'], enableRepo: [EXCLUDING_REPO], useBackend: 'dnf' as const };
    const hidden = await applyModule(target, yum, { name: ['drover-test-b'], ...repos });
    expect(hidden.status).to.equal('failed');
    expect(hidden.msg).to.equal('yum: no repository offers drover-test-b (or it is excluded)');
    const lifted = await applyModule(target, yum, { name: ['drover-test-b'], ...repos, disableExcludes: EXCLUDING_REPO });
    expect(lifted.status, lifted.msg).to.equal('changed');
    expect(lifted.commands[0]!.display).to.equal(`dnf install -y --disableexcludes=${EXCLUDING_REPO} --disablerepo=drover-lab --enablerepo=${EXCLUDING_REPO} drover-test-b-1.0-1`);
    const origin = await onHost(target, "dnf -q repoquery --installed --qf '%{from_repo}' drover-test-b 2>/dev/null");
    expect(origin.stdout.trim()).to.equal(EXCLUDING_REPO);
  });

  it('check mode predicts exactly what a real run then does (seeded sample)', async () => {
    const random = seededBelow(7);
    const specs = ['drover-test-a', 'drover-test-a-1.0', 'drover-test-a-1.1-1', 'drover-test-b', 'drover-test-b.noarch'];
    const outcomes = new Set<string>();
    let previous: YumParams | undefined;
    for (let round = 0; round < 5; round++) {
      const state = (['present', 'latest', 'absent'] as const)[random(3)]!;
      const chosen = specs.filter(() => random(2) === 0);
      const fresh: YumParams = { name: chosen.length > 0 ? chosen : ['drover-test-b'], state, allowDowngrade: random(2) === 0, useBackend: 'dnf' };
      // A third of the rounds repeat the previous parameters, so rounds with nothing to change are sampled too.
      const params: YumParams = previous && random(3) === 0 ? previous : fresh;
      previous = params;
      const { real } = await predictThenApplyAnyOutcome(target, yum, params, installed, 'the rpm database');
      outcomes.add(real.status);
    }
    // The sample must have exercised both a change and a no-change, or it proved little.
    expect([...outcomes]).to.include.members(['changed', 'ok']);
  });

  it('refuses hostile specs and repository names; odd but valid specs arrive literally', async () => {
    const hostile: YumParams[] = [
      { name: [`drover-test-a; touch ${PWNED}`] },
      { name: [`$(touch ${PWNED})`] },
      { name: [`\`touch ${PWNED}\``] },
      { name: [`drover-test-a\ntouch ${PWNED}`] },
      { name: ['drover-test-a'], enableRepo: [`x;touch ${PWNED}`] },
      { name: ['drover-test-a'], disableExcludes: `$(touch ${PWNED})` },
    ];
    for (const params of hostile) {
      const result = await applyModule(target, yum, { ...params, useBackend: 'dnf' });
      expect(result.status, JSON.stringify(params)).to.equal('failed');
      expect(result.failure?.kind, JSON.stringify(params)).to.equal('invalid-input');
    }
    const odd = await applyModule(target, yum, { name: ['drover-test-a-1:2~a^b+c_d'], useBackend: 'dnf' });
    expect(odd.status).to.equal('failed');
    expect(odd.msg).to.equal('yum: no repository offers drover-test-a-1:2~a^b+c_d (or it is excluded)');
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it('fails clearly on a package that does not exist and on an unknown repository', async () => {
    await clean();
    for (const check of [true, false]) {
      const result = await applyModule(target, yum, { name: ['drover-test-b', 'drover-test-nonexistent'], useBackend: 'dnf' }, { check });
      expect(result.status).to.equal('failed');
      expect(result.msg).to.equal('yum: no repository offers drover-test-nonexistent (or it is excluded)');
      expect(result.failure?.hint).to.include('dnf list --showduplicates NAME');
    }
    expect(await installed()).to.deep.equal({});
    const unknownRepo = await applyModule(target, yum, { name: ['drover-test-b'], enableRepo: ['drover-test-no-such-repo'], useBackend: 'dnf' });
    expect(unknownRepo.status).to.equal('failed');
    expect(unknownRepo.msg).to.include("Unknown repo: 'drover-test-no-such-repo'");
  });
});
