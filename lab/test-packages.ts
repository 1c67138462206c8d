/**
 * Tiny packages made during set-up for package-module tests: two versions of one package (install a
 * version, upgrade, pin, downgrade) and a second package. Each installs one file naming its version, so
 * a test can read back what is really installed. Built as .deb (dpkg-deb) and, for dnf, as .rpm.
 */
export interface TestPackage {
  name: string;
  version: string;
  summary: string;
}

export const TEST_PACKAGES: readonly TestPackage[] = [
  { name: 'drover-test-a', version: '1.0', summary: 'drover lab test package A, first version' },
  { name: 'drover-test-a', version: '1.1', summary: 'drover lab test package A, second version' },
  { name: 'drover-test-b', version: '1.0', summary: 'drover lab test package B' },
];

/** The file each test package installs; its content is "<name> <version>\n". */
export function testPackageFile(name: string): string {
  return `/usr/share/${name}/VERSION`;
}

export function debControl(pkg: TestPackage): string {
  return [
    `Package: ${pkg.name}`,
    `Version: ${pkg.version}`,
    'Architecture: all',
    'Maintainer: drover lab <lab@drover.invalid>',
    'Section: misc',
    'Priority: optional',
    `Description: ${pkg.summary}`,
    ` Installs ${testPackageFile(pkg.name)}; made by lab/test-packages.ts.`,
    '',
  ].join('\n');
}

export function rpmSpec(pkg: TestPackage): string {
  const file = testPackageFile(pkg.name);
  return [
    `Name: ${pkg.name}`,
    `Version: ${pkg.version}`,
    'Release: 1',
    `Summary: ${pkg.summary}`,
    'License: MIT',
    'BuildArch: noarch',
    '',
    '%description',
    `Installs ${file}; made by lab/test-packages.ts.`,
    '',
    '%install',
    `mkdir -p %{buildroot}${file.slice(0, file.lastIndexOf('/'))}`,
    `echo '${pkg.name} ${pkg.version}' > %{buildroot}${file}`,
    '',
    '%files',
    file,
    '',
  ].join('\n');
}
