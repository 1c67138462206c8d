import { expect } from 'chai';
import { mirrorSources, recipeKey, ROOTFS_RECIPE, stableJson } from '../../lab/recipe.ts';

describe('lab/recipe', () => {
  it('hashes equal recipes to the same key whatever the key order', () => {
    expect(recipeKey({ a: 1, b: [1, 2], c: { x: 'y', z: true } })).to.equal(recipeKey({ c: { z: true, x: 'y' }, b: [1, 2], a: 1 }));
  });

  it('changes the key when a package or a customization step changes', () => {
    const base = recipeKey(ROOTFS_RECIPE);
    expect(recipeKey({ ...ROOTFS_RECIPE, packages: [...ROOTFS_RECIPE.packages, 'vim'] })).to.not.equal(base);
    expect(recipeKey({ ...ROOTFS_RECIPE, customize: ROOTFS_RECIPE.customize.slice(1) })).to.not.equal(base);
    expect(recipeKey({ ...ROOTFS_RECIPE, packages: [...ROOTFS_RECIPE.packages].reverse() })).to.not.equal(base);
  });

  it('is a 16-hex-digit key', () => {
    expect(recipeKey(ROOTFS_RECIPE)).to.match(/^[0-9a-f]{16}$/);
  });

  it('writes JSON with sorted keys and drops undefined members', () => {
    expect(stableJson({ b: 1, a: undefined, c: [{ y: 2, x: 1 }] })).to.equal('{"b":1,"c":[{"x":1,"y":2}]}');
  });

  it('lists the packages the lab promises', () => {
    for (const pkg of ['systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'sudo', 'iproute2', 'iptables', 'kmod', 'procps', 'util-linux', 'apt', 'ca-certificates', 'python3', 'dnf', 'rpm']) {
      // apt comes with the "apt" variant rather than the package list.
      if (pkg === 'apt') expect(ROOTFS_RECIPE.variant).to.equal('apt');
      else expect(ROOTFS_RECIPE.packages).to.include(pkg);
    }
  });

  it('leaves the hosts no apt source but the lab repository', () => {
    const writes = ROOTFS_RECIPE.customize.filter((step) => step.kind === 'write' && step.path.startsWith('/etc/apt/'));
    expect(writes.map((step) => (step.kind === 'write' ? step.content : ''))).to.deep.equal([
      "# drover lab: the hosts have no internet; this is the lab's local repository (see lab/apt-repo.ts).\ndeb [trusted=yes] file:/srv/drover-repo ./\n",
    ]);
    expect(ROOTFS_RECIPE.customize).to.deep.include({ kind: 'remove', paths: ['/etc/apt/sources.list', '/etc/apt/sources.list.d'] });
  });

  it('mirrors deb.debian.org by default and honours DROVER_LAB_MIRROR', () => {
    expect(mirrorSources('bookworm', {})).to.deep.equal(['deb http://deb.debian.org/debian bookworm main', 'deb http://deb.debian.org/debian bookworm-updates main', 'deb http://deb.debian.org/debian-security bookworm-security main']);
    expect(mirrorSources('bookworm', { DROVER_LAB_MIRROR: 'http://127.0.0.1:3142/debian' })[0]).to.equal('deb http://127.0.0.1:3142/debian bookworm main');
  });
});
