import { expect } from 'chai';
import { chooseBackend, packageModule, type PackageParams } from '../../modules/package.ts';
import type { OsFacts } from '../../modules/facts/os.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { executedCount } from '../support/executed.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

function params(input: PackageParams) {
  return packageModule.params.parse(input, 'package');
}

const os = (packageManager: OsFacts['packageManager']): OsFacts => ({
  family: packageManager === 'apt' ? 'debian' : 'redhat',
  id: packageManager === 'apt' ? 'debian' : 'rocky',
  versionId: '9',
  packageManager,
  initSystem: 'systemd',
  selinux: false,
  kernel: '6.1.0',
});

const APT_PROBE = '#now 1800000000\n#lists 1799999000\n#dpkg\ninstall\tinstalled\tcurl\t7.88.1-10+deb12u14\n';
const RPM_PROBE = '#tool dnf\n#installed\npkg\tcurl\t0\t7.76.1\t26.el9\tx86_64\n';

describe('package: choosing the package manager', () => {
  const table: Array<[PackageParams['use'], OsFacts['packageManager'], string]> = [
    ['auto', 'apt', 'apt'],
    ['auto', 'dnf', 'dnf'],
    ['auto', 'yum', 'yum'],
    ['dnf', 'apt', 'dnf'],
    ['apt', 'none', 'apt'],
  ];
  for (const [use, found, expected] of table) {
    it(`use ${use} on a host with ${found} → ${expected}`, () => expect(chooseBackend(use!, found)).to.equal(expected));
  }

  it('refuses a host without any', () => {
    expect(() => chooseBackend('auto', 'none')).to.throw(ModuleError, /none of apt-get, dnf and yum/);
  });

  it('plans with apt on a Debian host and with dnf on a RHEL host, from the facts', async () => {
    const debian = new RecordedHost([{ match: 'dpkg-query', output: { stdout: APT_PROBE } }], 'debian', {}, { os: os('apt') });
    expect((await packageModule.plan(params({ name: ['curl'] }), debian)).reason).to.equal('the package is installed as asked');
    expect(debian.probes[0]).to.include('dpkg-query');
    const rocky = new RecordedHost([{ match: 'rpm -q', output: { stdout: RPM_PROBE } }], 'rocky', {}, { os: os('dnf') });
    expect((await packageModule.plan(params({ name: ['curl'] }), rocky)).reason).to.equal('the package is installed as asked');
    expect(rocky.probes[0]).to.include('if command -v dnf >/dev/null 2>&1; then tool=dnf; fi');
  });

  it("applies the chosen module's own rules, naming it", async () => {
    const rocky = new RecordedHost([], 'rocky', {}, { os: os('dnf') });
    const error = await packageModule.plan(params({ name: ['kubelet=1.29.3-1.1'] }), rocky).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as Error).message).to.include('package (through yum)').and.include('is not an RPM package name');
  });

  it('refuses hostile names before any module sees them', () => {
    for (const name of ['; rm -rf /', '$(touch /tmp/pwned)', '`id`', 'a b', 'a\nb', "a'"]) {
      expect(() => params({ name: [name] }), name).to.throw(SchemaError, /a package name/);
    }
  });
});

describe('package on a lab host', function () {
  this.timeout(120_000);
  const PWNED = '/tmp/drover-test-package-pwned';
  let target: LabTarget;
  const dpkg = async (): Promise<string> => (await onHost(target, "dpkg-query -W -f='${Package} ${db:Status-Status} ${Version}' hello 2>/dev/null || true")).stdout;
  const rpm = async (): Promise<string> => (await onHost(target, "rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}' drover-test-b || true")).stdout;

  async function clean(): Promise<void> {
    await onHost(target, `DEBIAN_FRONTEND=noninteractive apt-get purge -y -q hello >/dev/null 2>&1 || true; rpm -e --nodeps drover-test-b >/dev/null 2>&1 || true; rm -f ${PWNED}`);
  }
  before(async function () {
    const targets = await labTargets(this, 3);
    target = targets[Math.min(2, targets.length - 1)]!;
    // The package module does not refresh lists; a host that never ran apt-get update gets it here.
    await onHost(target, 'apt-cache policy hello | grep -q "Candidate: [0-9]" || apt-get update -q >/dev/null');
    await clean();
  });
  after(async () => {
    if (target) await clean();
  });

  it('uses apt on the Debian lab host: installs, re-runs without change, check mode changes nothing', async () => {
    const first = await applyModule(target, packageModule, { name: ['hello'] });
    expect(first.status, first.msg).to.equal('changed');
    expect(first.diffs).to.deep.equal([{ kind: 'value', name: 'package hello', before: null, after: '2.10-3' }]);
    expect(first.commands[0]!.display).to.include('apt-get install');
    expect(await dpkg()).to.equal('hello installed 2.10-3');
    const again = await applyModule(target, packageModule, { name: ['hello'] });
    expect(again.status).to.equal('ok');
    expect(executedCount(again)).to.equal(0);
    const check = await applyModule(target, packageModule, { name: ['hello'], state: 'absent' }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([{ kind: 'value', name: 'package hello', before: '2.10-3', after: null }]);
    expect(await dpkg()).to.equal('hello installed 2.10-3');
    const predicted = check;
    const real = await applyModule(target, packageModule, { name: ['hello'], state: 'absent' });
    expect(real.diffs).to.deep.equal(predicted.diffs);
    expect(await dpkg()).not.to.include('installed');
  });

  it('uses dnf when told to', async () => {
    const result = await applyModule(target, packageModule, { name: ['drover-test-b'], use: 'dnf' });
    expect(result.status, result.msg).to.equal('changed');
    expect(result.commands[0]!.display).to.equal('dnf install -y drover-test-b-1.0-1');
    expect(await rpm()).to.equal('drover-test-b 1.0-1');
    expect((await applyModule(target, packageModule, { name: ['drover-test-b'], use: 'dnf' })).status).to.equal('ok');
  });

  it('fails clearly on a package that does not exist, and refuses hostile names', async () => {
    const missing = await applyModule(target, packageModule, { name: ['drover-test-nonexistent'] });
    expect(missing.status).to.equal('failed');
    expect(missing.msg).to.include('no repository offers a package named drover-test-nonexistent');
    const hostile = await applyModule(target, packageModule, { name: [`hello;touch ${PWNED}`] });
    expect(hostile.status).to.equal('failed');
    expect(hostile.failure?.kind).to.equal('invalid-input');
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });
});
