/**
 * The hosts' Debian package repository: hosts have no internet, so the packages node preparation
 * installs (containerd, runc, conntrack, …) are fetched once on the controller and served to every host
 * as a flat repository bind-mounted read-only at /srv/drover-repo (`deb [trusted=yes] file:… ./`).
 *
 * The dependency closure is computed by apt itself against the root filesystem's dpkg status, so the
 * repository holds exactly what a host lacks for these packages (recommends included, as a real host's
 * `apt-get install` would pull them). Cached beside the root filesystem, keyed by recipe + rootfs key.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.ts';
import type { LabPaths } from './paths.ts';
import { mirrorSources, recipeKey } from './recipe.ts';
import { debControl, TEST_PACKAGES, testPackageFile } from './test-packages.ts';

export const APT_REPO_RECIPE = {
  suite: 'bookworm',
  // xz-utils: unarchive's .tar.xz (the root filesystem lacks xz); firewalld: the firewalld module's lab tests.
  packages: ['containerd', 'runc', 'conntrack', 'ipset', 'ipvsadm', 'socat', 'curl', 'wget', 'hello', 'sl', 'xz-utils', 'firewalld'],
  testPackages: TEST_PACKAGES,
};

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export async function ensureAptRepo(paths: LabPaths, rootfs: { path: string; key: string }, log: (line: string) => void): Promise<string> {
  const key = recipeKey({ recipe: APT_REPO_RECIPE, rootfs: rootfs.key });
  const repo = join(paths.cacheDir, `apt-repo-${key}`);
  if (existsSync(join(repo, 'Release'))) return repo;

  const started = Date.now();
  log(`building the hosts' apt repository (${APT_REPO_RECIPE.packages.join(' ')} + test packages) — once, then cached`);
  const work = `${repo}.building-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  try {
    await downloadClosure(work, rootfs.path);
    await buildTestDebs(join(work, 'pool'), join(work, 'tmp'));
    await run(['dpkg-scanpackages', '--multiversion', 'pool', '/dev/null'], { cwd: work }).then((result) => writeFile(join(work, 'Packages'), result.stdout));
    await writeFile(join(work, 'Release'), renderRelease(await readFile(join(work, 'Packages')), new Date()));
    await rm(join(work, 'tmp'), { recursive: true, force: true });
    await rename(work, repo);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  log(`apt repository built in ${((Date.now() - started) / 1000).toFixed(0)} s: ${repo}`);
  return repo;
}

/** Downloads the packages and whatever the root filesystem lacks for them, with a private apt state. */
async function downloadClosure(work: string, rootfs: string): Promise<void> {
  const state = join(work, 'tmp', 'apt');
  const pool = join(work, 'pool');
  for (const dir of [join(state, 'lists', 'partial'), join(state, 'cache'), join(pool, 'partial')]) await mkdir(dir, { recursive: true });
  const sources = join(state, 'sources.list');
  await writeFile(
    sources,
    mirrorSources(APT_REPO_RECIPE.suite)
      .map((line) => line.replace(/^deb /, `deb [signed-by=${KEYRING}] `))
      .join('\n') + '\n',
  );
  const options = [
    // Only Debian's archive (the controller may list other repositories), and the *hosts'* installed set.
    `Dir::Etc::SourceList=${sources}`,
    'Dir::Etc::SourceParts=/nonexistent',
    `Dir::State::Lists=${join(state, 'lists')}`,
    `Dir::Cache=${join(state, 'cache')}`,
    `Dir::Cache::archives=${pool}`,
    `Dir::State::status=${join(rootfs, 'var/lib/dpkg/status')}`,
    'Debug::NoLocking=1',
  ].flatMap((option) => ['-o', option]);
  const hint = 'apt could not fetch the lab packages: check that deb.debian.org is reachable (or set DROVER_LAB_MIRROR)';
  await run(['apt-get', ...options, '-qq', 'update'], { hint });
  await run(['apt-get', ...options, '-qq', '-y', '--download-only', 'install', ...APT_REPO_RECIPE.packages], {
    hint,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  await rm(join(pool, 'partial'), { recursive: true, force: true });
  await rm(join(pool, 'lock'), { force: true });
}

async function buildTestDebs(pool: string, scratch: string): Promise<void> {
  for (const pkg of TEST_PACKAGES) {
    const root = join(scratch, `${pkg.name}-${pkg.version}`);
    const file = join(root, testPackageFile(pkg.name));
    await mkdir(join(root, 'DEBIAN'), { recursive: true });
    await mkdir(file.slice(0, file.lastIndexOf('/')), { recursive: true });
    await writeFile(join(root, 'DEBIAN', 'control'), debControl(pkg));
    await writeFile(file, `${pkg.name} ${pkg.version}\n`);
    await run(['dpkg-deb', '--root-owner-group', '--build', root, join(pool, `${pkg.name}_${pkg.version}_all.deb`)]);
  }
}

/** A minimal Release file: apt then checks the index against it instead of warning that none exists. */
export function renderRelease(packages: Buffer, date: Date): string {
  const sha256 = createHash('sha256').update(packages).digest('hex');
  return [
    'Origin: drover-lab',
    'Label: drover-lab',
    'Suite: lab',
    'Codename: lab',
    `Date: ${date.toUTCString()}`,
    'Architectures: amd64 all',
    'SHA256:',
    ` ${sha256} ${packages.length} Packages`,
    '',
  ].join('\n');
}

/** Packages in the repository (file names), for messages and tests. */
export async function repoPackages(repo: string): Promise<string[]> {
  return (await readdir(join(repo, 'pool'))).filter((name) => name.endsWith('.deb')).sort();
}
