import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { apt, planApt, splitAptSpec, LISTS_CHANGED, PACKAGES_CHANGED, type AptParams } from '../../modules/apt.ts';
import { aptProbeScript, parseAptPolicy, parseAptProbe, type AptState } from '../../modules/facts/apt-state.ts';
import { compareDebianVersions } from '../../modules/facts/debian-version.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Plan } from '../../runner/module.ts';
import { SchemaError } from '../../runner/schema.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { seededBelow } from '../support/seeded-random.ts';

/** Captured on Debian 12 with `apt-cache policy bash curl hello nope awk`. */
const BASH_POLICY = `bash:
  Installed: 5.2.15-2+b8
  Candidate: 5.2.15-2+b13
  Version table:
     5.2.15-2+b13 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
 *** 5.2.15-2+b8 100
        100 /var/lib/dpkg/status
`;
const POLICY = `${BASH_POLICY}curl:
  Installed: 7.88.1-10+deb12u14
  Candidate: 7.88.1-10+deb12u15
  Version table:
     7.88.1-10+deb12u15 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
 *** 7.88.1-10+deb12u14 100
        100 /var/lib/dpkg/status
     7.88.1-10+deb12u5 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
hello:
  Installed: (none)
  Candidate: 2.10-3
  Version table:
     2.10-3 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
awk:
  Installed: (none)
  Candidate: (none)
  Version table:
`;

const DPKG = `unknown\tnot-installed\tawk\t
install\tinstalled\tbash\t5.2.15-2+b8
install\tinstalled\tcurl\t7.88.1-10+deb12u14
hold\tinstalled\tsl\t5.02-1+b1
deinstall\tconfig-files\told\t1.0-1`;

function probeOutput(options: { policy?: boolean; lists?: string; now?: number } = {}): string {
  return [`#now ${options.now ?? 1_800_000_000}`, `#lists ${options.lists ?? '1799999000'}`, '#dpkg', DPKG, ...(options.policy === false ? [] : ['#policy', POLICY])].join('\n');
}

const STATE: AptState = parseAptProbe(probeOutput());

function params(input: AptParams) {
  return apt.params.parse(input, 'apt');
}

function plan(input: AptParams, state: AptState = STATE): Plan {
  return planApt(params(input), state);
}

describe('apt: Debian version order', () => {
  // Each row checked with `dpkg --compare-versions A lt|eq|gt B` on Debian 12.
  const table: Array<[string, string, number]> = [
    ['1.0', '1.0~rc1', 1],
    ['1.0', '1.0-0', 0],
    ['1:0.9', '2.0', 1],
    ['1.2-3', '1.2-10', -1],
    ['2.10-3', '2.10-3', 0],
    ['1.0a', '1.0', 1],
    ['1.0+b1', '1.0', 1],
    ['1.0.0', '1.0', 1],
    ['7.88.1-10+deb12u15', '7.88.1-10+deb12u5', 1],
    ['1.29.3-1.1', '1.29.10-1.1', -1],
    ['0:1.0', '1.0', 0],
    ['1.0-1~bpo', '1.0-1', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0-1ubuntu1', '1.0-1', 1],
  ];
  for (const [a, b, expected] of table) {
    it(`${a} vs ${b} → ${expected}`, () => {
      expect(compareDebianVersions(a, b)).to.equal(expected);
      expect(compareDebianVersions(b, a)).to.equal(-expected || 0);
    });
  }

  it('agrees with dpkg --compare-versions on generated versions (where dpkg is installed)', function () {
    try {
      execFileSync('dpkg', ['--version'], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    // A seeded generator: reproducible, and covering epochs, tildes, letters, plus signs and revisions.
    const random = seededBelow(12345);
    const pieces = ['0', '1', '2', '10', '9', 'a', 'b', '~', '+', '.', '~rc', 'deb12u'];
    const version = (): string => {
      let text = String(random(3));
      for (let i = random(5); i > 0; i--) text += pieces[random(pieces.length)]!;
      if (random(3) === 0) text = `${random(3)}:${text}`;
      if (random(2) === 0) text += `-${random(12)}${pieces[random(pieces.length)]!}`;
      return text;
    };
    const pairs = Array.from({ length: 150 }, () => [version(), version()] as const);
    for (const [a, b] of pairs) {
      const dpkg = (op: string): boolean => {
        try {
          execFileSync('dpkg', ['--compare-versions', a, op, b], { stdio: 'ignore' });
          return true;
        } catch {
          return false;
        }
      };
      const expected = dpkg('lt') ? -1 : dpkg('eq') ? 0 : 1;
      expect(compareDebianVersions(a, b), `${a} vs ${b}`).to.equal(expected);
    }
  });
});

describe('apt: parsing the probe', () => {
  it('reads apt-cache policy blocks: installed, candidate, versions and their sources', () => {
    const policy = parseAptPolicy(POLICY);
    expect([...policy.keys()]).to.deep.equal(['bash', 'curl', 'hello', 'awk']);
    expect(policy.get('curl')).to.deep.equal({
      installed: '7.88.1-10+deb12u14',
      candidate: '7.88.1-10+deb12u15',
      versions: [
        { version: '7.88.1-10+deb12u15', sources: ['http://deb.debian.org/debian bookworm/main amd64 Packages'] },
        { version: '7.88.1-10+deb12u14', sources: ['/var/lib/dpkg/status'] },
        { version: '7.88.1-10+deb12u5', sources: ['http://deb.debian.org/debian-security bookworm-security/main amd64 Packages'] },
      ],
    });
    expect(policy.get('awk')).to.deep.equal({ installed: null, candidate: null, versions: [] });
    expect(policy.has('nope')).to.equal(false);
  });

  it('reads the clock, the lists age, dpkg rows and the policy section', () => {
    expect(STATE.hasApt).to.equal(true);
    expect(STATE.now).to.equal(1_800_000_000);
    expect(STATE.listsUpdatedAt).to.equal(1_799_999_000);
    expect(STATE.dpkg.get('sl')).to.deep.equal({ want: 'hold', status: 'installed', version: '5.02-1+b1' });
    expect(STATE.dpkg.get('old')).to.deep.equal({ want: 'deinstall', status: 'config-files', version: '1.0-1' });
    expect(STATE.policy?.get('hello')?.candidate).to.equal('2.10-3');
  });

  it('knows lists that were never updated, a probe without policy, and a host without apt', () => {
    const state = parseAptProbe(probeOutput({ policy: false, lists: '' }));
    expect(state.listsUpdatedAt).to.equal(null);
    expect(state.policy).to.equal(null);
    expect(parseAptProbe('#no-apt\n').hasApt).to.equal(false);
    expect(() => parseAptProbe('garbage')).to.throw(/no clock reading/);
  });

  it('asks apt for candidates only when the decision needs them', () => {
    expect(aptProbeScript(['curl'], 'never').text).not.to.include('apt-cache policy');
    expect(aptProbeScript(['curl'], 'always').text).to.include('until policy=$(apt-cache policy curl); do');
    const missing = aptProbeScript(['curl', 'hello', 'curl'], 'when-missing').text;
    expect(missing).to.match(/-lt 2 \]; then\ntries=0\nuntil policy=\$\(apt-cache policy curl hello\); do/);
  });
});

describe('apt: parameters', () => {
  const hostile = ['; rm -rf /', '$(touch /tmp/pwned)', '`touch /tmp/pwned`', "curl'", 'curl hello', 'curl\nhello', 'cürl', 'Curl', '-curl', 'curl=1.0;ls', 'curl=$(id)'];
  for (const name of hostile) {
    it(`refuses the package ${JSON.stringify(name)}`, () => {
      expect(() => params({ name: [name] })).to.throw(SchemaError, /Debian package name/);
    });
  }

  it('splits name=version', () => {
    expect(splitAptSpec('kubelet=1.29.3-1.1')).to.deep.equal({ name: 'kubelet', version: '1.29.3-1.1' });
    expect(splitAptSpec('curl')).to.deep.equal({ name: 'curl' });
  });

  it('refuses contradictions', () => {
    expect(() => params({})).to.throw(SchemaError, /give the packages/);
    expect(() => params({ name: ['curl=1.0'], state: 'latest' })).to.throw(SchemaError, /version .* present only/);
    expect(() => params({ name: ['curl'], state: 'absent', hold: true })).to.throw(SchemaError, /hold: true cannot go with state absent/);
    expect(() => params({ name: ['curl'], purge: true })).to.throw(SchemaError, /purge goes with state absent/);
    expect(() => params({ name: ['curl', 'curl=1.0'] })).to.throw(SchemaError, /curl is named twice/);
    expect(params({ name: ['curl'], update_cache: true } as AptParams).updateCache).to.equal(true);
  });
});

describe('apt: planning', () => {
  it('has nothing to do when the packages are installed', () => {
    const result = plan({ name: ['bash', 'curl'] });
    expect(result.changes).to.deep.equal([]);
    expect(result.reason).to.equal('all 2 packages are installed as asked');
  });

  it('installs every missing package in one transaction, pinned to the candidate it reports', () => {
    const state = parseAptProbe(probeOutput());
    state.policy!.set('sl', { installed: '5.02-1+b1', candidate: '5.02-1+b1', versions: [] });
    const result = plan({ name: ['hello', 'bash', 'curl=7.88.1-10+deb12u15'] }, state);
    expect(result.changes.map((change) => change.summary)).to.deep.equal(['install hello 2.10-3', 'upgrade curl 7.88.1-10+deb12u14 → 7.88.1-10+deb12u15']);
    expect(result.changes.map((change) => change.diff)).to.deep.equal([
      { kind: 'value', name: 'package hello', before: null, after: '2.10-3' },
      { kind: 'value', name: 'package curl', before: '7.88.1-10+deb12u14', after: '7.88.1-10+deb12u15' },
    ]);
    expect(displayedCommands(result)).to.deep.equal(['apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300 hello=2.10-3 curl=7.88.1-10+deb12u15']);
    expect(result.changes[0]!.commands[0]!.env).to.deep.include({ DEBIAN_FRONTEND: 'noninteractive' });
    expect(result.uncertain).to.equal(undefined);
  });

  it('upgrades to the candidate with state latest, and keeps what is current', () => {
    const result = plan({ name: ['bash', 'curl', 'hello'], state: 'latest', installRecommends: false });
    expect(result.changes.map((change) => change.diff)).to.deep.equal([
      { kind: 'value', name: 'package bash', before: '5.2.15-2+b8', after: '5.2.15-2+b13' },
      { kind: 'value', name: 'package curl', before: '7.88.1-10+deb12u14', after: '7.88.1-10+deb12u15' },
      { kind: 'value', name: 'package hello', before: null, after: '2.10-3' },
    ]);
    expect(displayedCommands(result)[0]).to.match(/--no-install-recommends bash=5.2.15-2\+b13 curl=7.88.1-10\+deb12u15 hello=2.10-3$/);
  });

  it('resolves a version glob to the highest matching version, and keeps an installed match', () => {
    const state = parseAptProbe(probeOutput());
    const repo = ['file:/srv/drover-repo ./ Packages'];
    state.policy!.set('kubelet', {
      installed: null,
      candidate: '1.30.0-1.1',
      versions: ['1.30.0-1.1', '1.29.10-1.1', '1.29.3-1.1', '1.29.2-1.1'].map((version) => ({ version, sources: repo })),
    });
    const result = plan({ name: ['kubelet=1.29.*'] }, state);
    expect(result.changes.map((change) => change.diff)).to.deep.equal([{ kind: 'value', name: 'package kubelet', before: null, after: '1.29.10-1.1' }]);
    expect(displayedCommands(result)[0]).to.match(/ kubelet=1.29.10-1.1$/);
    expect(plan({ name: ['curl=7.88.1-10+deb12u1*'] }).changes).to.deep.equal([]);
  });

  it('refuses a downgrade unless allowed', () => {
    expect(() => plan({ name: ['curl=7.88.1-10+deb12u5'] })).to.throw(ModuleError, /curl 7.88.1-10\+deb12u5 is older than the installed 7.88.1-10\+deb12u14 \(set allowDowngrade/);
    const result = plan({ name: ['curl=7.88.1-10+deb12u5'], allowDowngrade: true });
    expect(result.changes[0]!.summary).to.equal('downgrade curl 7.88.1-10+deb12u14 → 7.88.1-10+deb12u5');
    expect(displayedCommands(result)[0]).to.include('--allow-downgrades curl=7.88.1-10+deb12u5');
  });

  it('names every package that no repository has, in one error', () => {
    let error: unknown;
    try {
      plan({ name: ['nope', 'hello=9.9', 'awk'] });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ModuleError);
    const message = (error as ModuleError).message;
    expect(message).to.include('no repository offers a package named nope');
    expect(message).to.include('no repository offers hello version 9.9 (available: 2.10-3)');
    expect(message).to.include('awk has no installation candidate');
    expect((error as ModuleError).hint).to.match(/apt-cache policy NAME/);
  });

  it('removes installed packages (and leftover configuration when purging), leaving absent ones alone', () => {
    const result = plan({ name: ['curl', 'hello', 'old'], state: 'absent' });
    expect(result.changes.map((change) => change.diff)).to.deep.equal([{ kind: 'value', name: 'package curl', before: '7.88.1-10+deb12u14', after: null }]);
    expect(displayedCommands(result)).to.deep.equal(['apt-get remove -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300 curl']);
    const purge = plan({ name: ['curl', 'old'], state: 'absent', purge: true });
    expect(purge.changes.map((change) => change.diff)).to.deep.equal([
      { kind: 'value', name: 'package curl', before: '7.88.1-10+deb12u14', after: null },
      { kind: 'value', name: 'package old', before: '1.0-1 (config-files)', after: null },
    ]);
    expect(displayedCommands(purge)[0]).to.match(/--purge curl old$/);
    expect(plan({ name: ['hello'], state: 'absent' }).reason).to.equal('the package is absent');
  });

  it('holds after installing, releases before changing, and refuses to move a held package silently', () => {
    const hold = plan({ name: ['hello', 'curl', 'sl'], hold: true });
    expect(hold.changes.map((change) => change.summary)).to.deep.equal(['install hello 2.10-3', 'hold hello', 'hold curl']);
    expect(hold.changes[1]!.diff).to.deep.equal({ kind: 'value', name: 'hello held', before: 'no', after: 'yes' });
    expect(displayedCommands(hold)).to.deep.equal(['apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300 hello=2.10-3', 'apt-mark hold hello curl']);
    expect(plan({ name: ['sl'], hold: true }).changes).to.deep.equal([]);

    const state = parseAptProbe(probeOutput());
    state.policy!.set('sl', { installed: '5.02-1+b1', candidate: '5.03-1', versions: [{ version: '5.03-1', sources: ['file:/srv/drover-repo ./ Packages'] }] });
    expect(() => plan({ name: ['sl'], state: 'latest' }, state)).to.throw(ModuleError, /sl is held \(apt-mark hold\) and would have to change/);
    const moveHeld = plan({ name: ['sl'], state: 'latest', hold: true }, state);
    expect(displayedCommands(moveHeld)).to.deep.equal(['apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300 --allow-change-held-packages sl=5.03-1', 'apt-mark hold sl']);
    expect(moveHeld.changes.map((change) => change.summary)).to.deep.equal(['upgrade sl 5.02-1+b1 → 5.03-1', 'keep sl held after the change']);
    const release = plan({ name: ['sl', 'curl'], hold: false, state: 'absent' }, state);
    expect(release.changes.map((change) => change.summary)).to.deep.equal(['release the hold on sl', 'remove sl 5.02-1+b1', 'remove curl 7.88.1-10+deb12u14']);
    expect(displayedCommands(release)[0]).to.equal('apt-mark unhold sl');
  });

  it('refreshes the lists only when older than cacheValidTime', () => {
    const fresh = plan({ name: ['bash'], cacheValidTime: 3600 });
    expect(fresh.changes).to.deep.equal([]);
    const stale = plan({ name: ['bash'], cacheValidTime: 600 });
    expect(stale.changes.map((change) => change.summary)).to.deep.equal(['refresh the apt package lists (older than cacheValidTime 600 s)']);
    expect(displayedCommands(stale)[0]).to.include('apt-get update -q');
    expect(displayedCommands(stale)[0]).to.include('touch /var/lib/apt/periodic/update-success-stamp');
    const never = planApt(params({ cacheValidTime: 600 }), parseAptProbe(probeOutput({ lists: '' })));
    expect(never.changes[0]!.summary).to.equal('refresh the apt package lists (the lists were never updated)');
  });

  it('a refresh alone is uncertain, and changed only when the lists changed', () => {
    const result = plan({ name: ['bash'], updateCache: true });
    expect(result.uncertain).to.equal(true);
    const outcome = (stdout: string) => ({ exitCode: 0, stdout, stderr: '' });
    expect(result.interpret!([outcome('Hit:1 file:/srv/drover-repo ./ InRelease\n')])).to.deep.equal({ changed: false });
    expect(result.interpret!([outcome(`Get:1 ...\n${LISTS_CHANGED}\n`)])).to.deep.equal({ changed: true });
  });

  it('with a refresh pending, a missing package is left to the refreshed lists, and latest may upgrade', () => {
    const result = plan({ name: ['nope', 'bash'], state: 'latest', updateCache: true });
    expect(result.uncertain).to.equal(true);
    expect(result.changes.map((change) => change.summary)).to.deep.equal(['refresh the apt package lists (updateCache is set)', 'install nope (candidate after the refresh)', 'upgrade bash if the refreshed lists offer newer versions']);
    expect(displayedCommands(result)[1]).to.include('DPkg::Lock::Timeout=300 nope bash');
    expect(
      result.interpret!([
        { exitCode: 0, stdout: '', stderr: '' },
        { exitCode: 0, stdout: '', stderr: '' },
      ]),
    ).to.deep.equal({ changed: true });

    const onlyMaybe = plan({ name: ['bash'], state: 'latest', updateCache: true });
    const quiet = { exitCode: 0, stdout: '', stderr: '' };
    expect(onlyMaybe.interpret!([quiet, quiet])).to.deep.equal({ changed: false });
    expect(onlyMaybe.interpret!([quiet, { ...quiet, stdout: PACKAGES_CHANGED }])).to.deep.equal({ changed: true });

    // An exact version known before the refresh is planned exactly: no uncertainty.
    const exact = plan({ name: ['hello=2.10-3'], updateCache: true });
    expect(exact.uncertain).to.equal(undefined);
    expect(exact.changes.map((change) => (change.diff?.kind === 'value' ? change.diff.name : undefined))).to.deep.equal(['apt package lists', 'package hello']);
  });

  it('with the refresh rehearsed, the candidates after it are known: exact versions, not uncertain, and the transaction to read', () => {
    const after = parseAptPolicy(`hello:
  Installed: (none)
  Candidate: 2.10-4
  Version table:
     2.10-4 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
${BASH_POLICY}`);
    const result = planApt(params({ name: ['hello', 'bash'], state: 'latest', updateCache: true, installRecommends: false }), STATE, after);
    expect(result.uncertain).to.equal(undefined);
    expect(result.changes.map((change) => change.summary)).to.deep.equal(['refresh the apt package lists (updateCache is set)', 'install hello 2.10-4', 'upgrade bash 5.2.15-2+b8 → 5.2.15-2+b13']);
    expect(displayedCommands(result)[1]).to.match(/--no-install-recommends hello=2\.10-4 bash=5\.2\.15-2\+b13$/);
    expect(result.transaction).to.deep.include({ targets: ['hello=2.10-4', 'bash=5.2.15-2+b13'], flags: ['--no-install-recommends'], afterRefresh: true });
    expect(result.transaction!.change).to.equal(result.changes[1]);
    // A package the refreshed lists do not have is an error now, as the apply would fail on it.
    expect(() => planApt(params({ name: ['nope'], updateCache: true }), STATE, after)).to.throw(ModuleError, /no repository offers a package named nope/);
  });

  it('refuses a host without apt', () => {
    expect(() => planApt(params({ name: ['curl'] }), parseAptProbe('#no-apt\n'))).to.throw(ModuleError, /no apt-get and dpkg-query/);
  });

  it('probes once through the host context', async () => {
    const host = new RecordedHost([{ match: 'dpkg-query -W', output: { stdout: probeOutput() } }]);
    const result = await apt.plan(params({ name: ['hello'] }), host);
    expect(host.probes).to.have.length(1);
    expect(result.changes[0]!.summary).to.equal('install hello 2.10-3');
    const failing = new RecordedHost([{ match: 'dpkg-query -W', output: { exitCode: 100, stderr: 'E: The package lists or status file could not be parsed or opened.' } }]);
    let error: unknown;
    await apt.plan(params({ name: ['hello'] }), failing).catch((caught: unknown) => (error = caught));
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as Error).message)
      .to.include('exit 100')
      .and.include('could not be parsed');
  });
});
