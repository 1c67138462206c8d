import { expect } from 'chai';
import { planYum, repoFlags, yum, type YumParams } from '../../modules/yum.ts';
import { candidateNames, parseRpmProbe, rpmProbeScript, specMatches, type RpmPackage, type RpmState } from '../../modules/facts/rpm-state.ts';
import { compareEvr, formatEvr, rpmvercmp } from '../../modules/facts/rpm-version.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Plan } from '../../runner/module.ts';
import { SchemaError } from '../../runner/schema.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { RecordedHost } from '../support/recorded-host.ts';

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
  available: [pkg('drover-test-a', '1.0-1', 'drover-lab'), pkg('drover-test-a', '1.1-1', 'drover-lab'), pkg('drover-test-b', '2:0.5-3', 'drover-lab'), pkg('curl', '7.76.1-26.el9', 'baseos', 'x86_64')],
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
    expect(present).to.include("dnf -q -y repoquery --qf '%{name} %{epoch} %{version} %{release} %{arch} %{repoid}' --disableexcludes=kubernetes curl");
    expect(rpmProbeScript({ ...base, backend: 'dnf', alwaysQueryRepos: true, neverQueryRepos: false }).text).to.include('if command -v dnf >/dev/null 2>&1; then tool=dnf; fi');
  });

  it('in a dry run asks a private copy of /etc/yum.repos.d holding the predicted .repo files, with a private cache', () => {
    const repo = '[k8s]\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/\n';
    const overlay = new Map<string, Buffer | null>([
      ['/etc/yum.repos.d/k8s.repo', Buffer.from(repo)],
      ['/etc/yum.repos.d/old.repo', null],
    ]);
    const text = rpmProbeScript({ specs: ['kubelet'], backend: 'auto', alwaysQueryRepos: false, neverQueryRepos: false, repoFlags: [], reposOverlay: overlay }).text;
    expect(text).to.include('cp -a /etc/yum.repos.d/. "$tmp/repos.d/"');
    expect(text).to.include(`printf '%s' ${Buffer.from(repo).toString('base64')} | base64 -d > "$tmp/repos.d"/k8s.repo`);
    expect(text).to.include('rm -f -- "$tmp/repos.d"/old.repo');
    expect(text).to.include('dnf -q -y repoquery --setopt=reposdir="$tmp/repos.d" --setopt=cachedir="$tmp/cache"');
    // yum (EL7) is not driven to read a private directory: the probe says so and the task depends on the repository's.
    expect(text).to.include("elif true; then\n    echo '#no-overlay'");
    expect(parseRpmProbe('#tool yum\n#installed\n#available\n#no-overlay\n')).to.include({ overlayUnsupported: true, available: null });
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
    expect(repoFlags(params({ name: ['curl'], disableExcludes: 'kubernetes', enableRepo: ['kubernetes'], disableRepo: ['*'] }))).to.deep.equal(['--disableexcludes=kubernetes', '--disablerepo=*', '--enablerepo=kubernetes']);
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
