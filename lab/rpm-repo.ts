/**
 * The hosts' RPM repository, so the yum/dnf module is tested against a real dnf (Debian 12 packages
 * dnf and rpm; the root filesystem has both). The test RPMs are built on the controller with rpmbuild
 * (Debian's `rpm` package) and indexed with createrepo_c (`createrepo-c`), then bind-mounted read-only at
 * /srv/drover-rpm, which /etc/yum.repos.d/drover-lab.repo in every host points at.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.ts';
import type { LabPaths } from './paths.ts';
import { onPath } from './preflight.ts';
import { recipeKey } from './recipe.ts';
import { rpmSpec, TEST_PACKAGES } from './test-packages.ts';

export const RPM_REPO_RECIPE = { packages: TEST_PACKAGES.map(rpmSpec) };

export async function ensureRpmRepo(paths: LabPaths, log: (line: string) => void): Promise<string> {
  const repo = join(paths.cacheDir, `rpm-repo-${recipeKey(RPM_REPO_RECIPE)}`);
  if (existsSync(join(repo, 'repodata', 'repomd.xml'))) return repo;
  for (const program of ['rpmbuild', 'createrepo_c']) {
    if (!onPath(program))
      throw new Error(`${program} is missing, needed for the hosts' RPM repository: run \`bash .ci/lab-prereqs.sh\` (apt-get install rpm createrepo-c)`);
  }

  const started = Date.now();
  const work = `${repo}.building-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  try {
    const top = join(work, 'rpmbuild');
    await mkdir(join(top, 'SPECS'), { recursive: true });
    for (const pkg of TEST_PACKAGES) {
      const spec = join(top, 'SPECS', `${pkg.name}-${pkg.version}.spec`);
      await writeFile(spec, rpmSpec(pkg));
      await run(['rpmbuild', '--quiet', '--define', `_topdir ${top}`, '-bb', spec], { hint: `rpmbuild failed for ${pkg.name} ${pkg.version}` });
    }
    const built = join(top, 'RPMS', 'noarch');
    for (const file of await readdir(built)) await copyFile(join(built, file), join(work, file));
    await rm(top, { recursive: true, force: true });
    await run(['createrepo_c', '--quiet', work]);
    await rename(work, repo);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  log(`RPM repository built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${repo}`);
  return repo;
}
