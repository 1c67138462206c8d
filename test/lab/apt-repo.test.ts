import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { renderRelease } from '../../lab/apt-repo.ts';
import { debControl, rpmSpec, TEST_PACKAGES } from '../../lab/test-packages.ts';

describe('lab/apt-repo', () => {
  it('writes a Release whose SHA256 and size match the Packages index', () => {
    const packages = Buffer.from('Package: hello\nVersion: 2.10-3\n\n');
    const release = renderRelease(packages, new Date(Date.UTC(2025, 0, 2, 3, 4, 5)));
    expect(release).to.include('Date: Thu, 02 Jan 2025 03:04:05 GMT\n');
    expect(release).to.include(`SHA256:\n ${createHash('sha256').update(packages).digest('hex')} ${packages.length} Packages\n`);
  });
});

describe('lab/test-packages', () => {
  it('has two versions of one package and a second package', () => {
    expect(TEST_PACKAGES.map((pkg) => `${pkg.name}=${pkg.version}`)).to.deep.equal(['drover-test-a=1.0', 'drover-test-a=1.1', 'drover-test-b=1.0']);
  });

  it('renders a Debian control file', () => {
    expect(debControl({ name: 'drover-test-b', version: '1.0', summary: 'B' })).to.equal(
      'Package: drover-test-b\nVersion: 1.0\nArchitecture: all\nMaintainer: drover lab <lab@drover.invalid>\nSection: misc\nPriority: optional\nDescription: B\n Installs /usr/share/drover-test-b/VERSION; made by lab/test-packages.ts.\n',
    );
  });

  it('renders an RPM spec that installs the version file', () => {
    const spec = rpmSpec({ name: 'drover-test-a', version: '1.1', summary: 'A' });
    expect(spec).to.include('Name: drover-test-a\nVersion: 1.1\nRelease: 1\n');
    expect(spec).to.include("echo 'drover-test-a 1.1' > %{buildroot}/usr/share/drover-test-a/VERSION");
    expect(spec).to.match(/%files\n\/usr\/share\/drover-test-a\/VERSION\n/);
  });
});
