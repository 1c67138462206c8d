import { expect } from 'chai';
import { chooseBackend, packageModule, type PackageParams } from '../../modules/package.ts';
import type { OsFacts } from '../../modules/facts/os.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

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
    expect((error as Error).message)
      .to.include('package (through yum)')
      .and.include('is not an RPM package name');
  });

  it('refuses hostile names before any module sees them', () => {
    for (const name of ['; rm -rf /', '$(touch /tmp/pwned)', '`id`', 'a b', 'a\nb', "a'"]) {
      expect(() => params({ name: [name] }), name).to.throw(SchemaError, /a package name/);
    }
  });
});
