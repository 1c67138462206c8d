import { expect } from 'chai';
import { planYum, repoFlags, yum, type YumParams } from '../../modules/yum.ts';
import { candidateNames, parseRpmProbe, rpmProbeScript, specMatches, type RpmPackage, type RpmState } from '../../modules/facts/rpm-state.ts';
import { compareEvr, formatEvr, rpmvercmp } from '../../modules/facts/rpm-version.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Plan } from '../../runner/module.ts';
import { SchemaError } from '../../runner/schema.ts';
import { predictThenApplyAnyOutcome } from '../support/check-mode.ts';
import { executedCount } from '../support/executed.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

function params(input: YumParams) {
  return yum.params.parse(input, 'yum');
}

function plan(input: YumParams, state: RpmState): Plan {
  return planYum(params(input), state);
}

const pkg = (name: string, evr: string, repo = '', arch = 'noarch'): RpmPackage => {
  const match = /^(?:(\d+):)?([^-]+)-(.+)$/.exec(evr)!;
  return { name, epoch: Number(match[1] ?? 0), version: match[2]!, release: match[3]!, arch, repo };
};

/** Captured from dnf 4.14 on Debian 12 (the probe of `drover-x-a-1.1 nope drover-x-b-1:2.0-3`). */
const CAPTURED =
  '#tool dnf\n#installed\npkg\tdrover-x-a\t0\t1.0\t1\tnoarch\npkg\tdrover-x-b\t1\t2.0\t3\tnoarch\npkg\tdrover-x-b\t1\t2.0\t3\tnoarch\npkg\tdrover-x-b\t1\t2.0\t3\tnoarch\n' +
  '#available\ndrover-x-a 0 1.1 1 noarch xlab\ndrover-x-b 1 2.0 3 noarch xlab\n\n';

const LAB: RpmState = {
  tool: 'dnf',
  installed: [pkg('drover-test-a', '1.0-1'), pkg('curl', '7.76.1-26.el9', '', 'x86_64')],
  available: [
    pkg('drover-test-a', '1.0-1', 'drover-lab'),
    pkg('drover-test-a', '1.1-1', 'drover-lab'),
    pkg('drover-test-b', '2:0.5-3', 'drover-lab'),
    pkg('curl', '7.76.1-26.el9', 'baseos', 'x86_64'),
  ],
  noRepoquery: false,
};

describe('yum: RPM version order', () => {
  // Each row checked with rpm 4.18's rpm.vercmp (rpm --eval "%{lua: print(rpm.vercmp(A, B))}").
  const table: Array<[string, string, number]> = [
    ['1.0', '1.0~rc1', 1],
    ['1.0', '1.0^git1', -1],
    ['1.0^git1', '1.0.1', -1],
    ['1.0a', '1.0', 1],
    ['1.0', '1.0.0', -1],
    ['1.10', '1.9', 1],
    ['1.0.a', '1.0.1', -1],
    ['2.0', '2_0', 0],
    ['1.0~rc1', '1.0~rc2', -1],
    ['001', '1', 0],
    ['1.29.3', '1.29.10', -1],
    ['a', 'b', -1],
    ['1.0.el7', '1.0.el8', -1],
    ['150500.1.1', '150500.1.2', -1],
    ['1.0a1', '1.0.1', -1],
    ['1.0', '1.0a', -1],
  ];
  for (const [a, b, expected] of table) {
    it(`${a} vs ${b} → ${expected}`, () => {
      expect(rpmvercmp(a, b)).to.equal(expected);
      expect(rpmvercmp(b, a)).to.equal(-expected || 0);
    });
  }

  it('compares epoch first, then version, then release, and shows an epoch only when set', () => {
    expect(compareEvr({ epoch: 1, version: '1.0', release: '1' }, { epoch: 0, version: '9.0', release: '1' })).to.equal(1);
    expect(compareEvr({ epoch: 0, version: '1.0', release: '2' }, { epoch: 0, version: '1.0', release: '10' })).to.equal(-1);
    expect(formatEvr({ epoch: 0, version: '1.1', release: '1' })).to.equal('1.1-1');
    expect(formatEvr({ epoch: 2, version: '0.5', release: '3' })).to.equal('2:0.5-3');
  });
});

describe('yum: specs and the probe', () => {
  it('matches every form dnf accepts, and nothing looser', () => {
    const row = pkg('drover-test-a', '1.1-1', '', 'noarch');
    for (const spec of ['drover-test-a', 'drover-test-a.noarch', 'drover-test-a-1.1', 'drover-test-a-1.1-1', 'drover-test-a-1.1-1.noarch', 'drover-test-a-0:1.1-1', 'drover-test-a-0:1.1']) {
      expect(specMatches(spec, row), spec).to.equal(true);
    }
    for (const spec of ['drover-test', 'drover-test-a-1', 'drover-test-a-1.1-2', 'drover-test-a.x86_64', 'drover-test-a-1:1.1-1']) {
      expect(specMatches(spec, row), spec).to.equal(false);
    }
  });

  it('asks rpm about every name a spec may start with', () => {
    expect(candidateNames('kubelet-1.29.3-150500.1.1')).to.deep.equal(['kubelet-1.29.3-150500.1.1', 'kubelet', 'kubelet-1.29.3']);
    expect(candidateNames('curl')).to.deep.equal(['curl']);
  });

  it('parses captured output: duplicates merged, repository rows apart', () => {
    const state = parseRpmProbe(CAPTURED);
    expect(state.tool).to.equal('dnf');
    expect(state.installed).to.deep.equal([pkg('drover-x-a', '1.0-1'), pkg('drover-x-b', '1:2.0-3')]);
    expect(state.available).to.deep.equal([pkg('drover-x-a', '1.1-1', 'xlab'), pkg('drover-x-b', '1:2.0-3', 'xlab')]);
    expect(parseRpmProbe('#tool dnf\n#installed\n').available).to.equal(null);
    expect(parseRpmProbe('#no-tool\n').tool).to.equal(null);
    expect(parseRpmProbe('#tool yum\n#installed\n#available\n#no-repoquery\n').noRepoquery).to.equal(true);
    expect(parseRpmProbe('#tool dnf\n#installed\n#available\nfoo 0 1 1 noarch @System\n').available).to.deep.equal([]);
    expect(() => parseRpmProbe('nonsense')).to.throw(/no tool line/);
  });

  it('loads repository metadata only when needed, with the same repository options as the install', () => {
    const base = { specs: ['curl'], backend: 'auto' as const, repoFlags: ['--disableexcludes=kubernetes'] };
    expect(rpmProbeScript({ ...base, alwaysQueryRepos: false, neverQueryRepos: true }).text).not.to.include('repoquery');
    const present = rpmProbeScript({ ...base, alwaysQueryRepos: false, neverQueryRepos: false }).text;
    expect(present).to.include('if ! rpm -q curl >/dev/null 2>&1; then');
    expect(present).to.include("dnf -q repoquery --qf '%{name} %{epoch} %{version} %{release} %{arch} %{repoid}' --disableexcludes=kubernetes curl");
    expect(rpmProbeScript({ ...base, backend: 'dnf', alwaysQueryRepos: true, neverQueryRepos: false }).text).to.include('if command -v dnf >/dev/null 2>&1; then tool=dnf; fi');
  });
});

describe('yum: parameters', () => {
  const hostile = ['; rm -rf /', '$(touch /tmp/pwned)', '`touch /tmp/pwned`', "curl'", 'curl hello', 'curl\nhello', 'cürl', '-curl', 'kube*', 'curl-1.0;ls', '@core'];
  for (const name of hostile) {
    it(`refuses the package ${JSON.stringify(name)}`, () => {
      expect(() => params({ name: [name] })).to.throw(SchemaError, /RPM package name/);
    });
  }

  it('refuses hostile repository options and an empty list', () => {
    expect(() => params({ name: ['curl'], enableRepo: ['a b'] })).to.throw(SchemaError, /repository id/);
    expect(() => params({ name: ['curl'], disableExcludes: '$(id)' })).to.throw(SchemaError, /all, main or a repository id/);
    expect(() => params({ name: [] })).to.throw(SchemaError, /must not be an empty list/);
    expect(() => params({ name: ['curl', 'curl'] })).to.throw(SchemaError, /named twice/);
  });

  it('orders repository options as dnf applies them', () => {
    expect(repoFlags(params({ name: ['curl'], disableExcludes: 'kubernetes', enableRepo: ['kubernetes'], disableRepo: ['*'] }))).to.deep.equal([
      '--disableexcludes=kubernetes',
      '--disablerepo=*',
      '--enablerepo=kubernetes',
    ]);
  });
});

describe('yum: planning', () => {
  it('has nothing to do when every spec is installed', () => {
    const result = plan({ name: ['drover-test-a', 'drover-test-a-1.0', 'curl.x86_64'] }, { ...LAB, available: null });
    expect(result.changes).to.deep.equal([]);
    expect(result.reason).to.equal('all 3 packages are installed as asked');
  });

  it('installs, upgrades to a pin, all in one transaction pinned to the reported versions', () => {
    const result = plan({ name: ['drover-test-b', 'drover-test-a-1.1'], disableExcludes: 'drover-lab' }, LAB);
    expect(result.changes.map((change) => change.summary)).to.deep.equal(['install drover-test-b 2:0.5-3', 'upgrade drover-test-a 1.0-1 → 1.1-1']);
    expect(result.changes.map((change) => change.diff)).to.deep.equal([
      { kind: 'value', name: 'package drover-test-b', before: null, after: '2:0.5-3' },
      { kind: 'value', name: 'package drover-test-a', before: '1.0-1', after: '1.1-1' },
    ]);
    expect(displayedCommands(result)).to.deep.equal(['dnf install -y --disableexcludes=drover-lab drover-test-b-2:0.5-3 drover-test-a-1.1-1']);
  });

  it('upgrades to the newest with state latest and keeps what is newest', () => {
    const result = plan({ name: ['drover-test-a', 'curl'], state: 'latest' }, LAB);
    expect(result.changes.map((change) => change.diff)).to.deep.equal([{ kind: 'value', name: 'package drover-test-a', before: '1.0-1', after: '1.1-1' }]);
    const current = { ...LAB, installed: [pkg('drover-test-a', '1.1-1')] };
    expect(plan({ name: ['drover-test-a'], state: 'latest' }, current).changes).to.deep.equal([]);
  });

  it('refuses a downgrade unless allowed, and then pins the older version', () => {
    const state = { ...LAB, installed: [pkg('drover-test-a', '1.1-1')] };
    expect(() => plan({ name: ['drover-test-a-1.0'] }, state)).to.throw(ModuleError, /drover-test-a 1.0-1 is older than the installed 1.1-1/);
    const result = plan({ name: ['drover-test-a-1.0'], allowDowngrade: true }, state);
    expect(result.changes[0]!.summary).to.equal('downgrade drover-test-a 1.1-1 → 1.0-1');
    expect(displayedCommands(result)).to.deep.equal(['dnf install -y drover-test-a-1.0-1']);
    expect(() => planYum(params({ name: ['drover-test-a-1.0'], allowDowngrade: true }), { ...state, tool: 'yum' })).to.throw(ModuleError, /downgrade cannot be done/);
  });

  it('names every spec no repository offers, in one error', () => {
    let error: unknown;
    try {
      plan({ name: ['nope', 'drover-test-a-9.9', 'drover-test-b'] }, LAB);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as Error).message).to.equal('yum: no repository offers nope (or it is excluded); no repository offers drover-test-a-9.9 (or it is excluded)');
    expect((error as ModuleError).hint).to.include('dnf list --showduplicates NAME');
  });

  it('removes what is installed and matches, reporting each package', () => {
    const result = plan({ name: ['drover-test-a', 'drover-test-b', 'curl-7.76.1'], state: 'absent' }, { ...LAB, available: null });
    expect(result.changes.map((change) => change.diff)).to.deep.equal([
      { kind: 'value', name: 'package drover-test-a', before: '1.0-1', after: null },
      { kind: 'value', name: 'package curl', before: '7.76.1-26.el9', after: null },
    ]);
    expect(displayedCommands(result)).to.deep.equal(['dnf remove -y drover-test-a curl-7.76.1']);
    expect(plan({ name: ['drover-test-a-1.1'], state: 'absent' }, LAB).changes).to.deep.equal([]);
  });

  it('refuses a host without the tool, or yum without repoquery', () => {
    expect(() => plan({ name: ['curl'] }, { tool: null, installed: [], available: null, noRepoquery: false })).to.throw(ModuleError, /no dnf or yum/);
    expect(() => plan({ name: ['curl'], useBackend: 'yum' }, { tool: null, installed: [], available: null, noRepoquery: false })).to.throw(ModuleError, /no yum \(with rpm\)/);
    expect(() => plan({ name: ['curl'] }, { tool: 'yum', installed: [], available: null, noRepoquery: true }))
      .to.throw(ModuleError, /yum without repoquery/)
      .with.property('hint')
      .that.includes('install yum-utils');
  });

  it('probes once, and turns a failing probe into an error with its stderr', async () => {
    const host = new RecordedHost([{ match: 'rpm -q', output: { stdout: CAPTURED } }]);
    const result = await yum.plan(params({ name: ['drover-x-a-1.1'] }), host);
    expect(host.probes).to.have.length(1);
    expect(result.changes[0]!.summary).to.equal('upgrade drover-x-a 1.0-1 → 1.1-1');
    const failing = new RecordedHost([{ match: 'rpm -q', output: { exitCode: 1, stderr: "Error: Unknown repo: 'nonexistent'\n" } }]);
    let error: unknown;
    await yum.plan(params({ name: ['curl'], enableRepo: ['nonexistent'] }), failing).catch((caught: unknown) => (error = caught));
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as Error).message).to.include("Unknown repo: 'nonexistent'");
  });
});

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
    return Object.fromEntries(output.stdout.trim().split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]));
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
