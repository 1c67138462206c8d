/**
 * The lab's "Kubernetes package repository": the stand-in packages (lab/k8s-packages.ts) served in
 * pkgs.k8s.io's layout, so a playbook adds it exactly as it adds the real one, with only the mirror URL
 * changed. Built on the controller, cached (keyed by the packages' recipe and the stand-in's sources), and
 * bind-mounted read-only into every host at /srv/drover-k8s-repo:
 *
 *   deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] file:///srv/drover-k8s-repo/core:/stable:/v1.30/deb/ /
 *   [kubernetes] baseurl=file:///srv/drover-k8s-repo/core:/stable:/v1.30/rpm/
 *                gpgkey=file:///srv/drover-k8s-repo/core:/stable:/v1.30/rpm/repodata/repomd.xml.key
 *
 * Both are signed with a lab key made at build time (Release.key / repomd.xml.key, as pkgs.k8s.io
 * publishes them): InRelease and Release.gpg for apt, repomd.xml.asc and signed RPMs for dnf, so
 * `gpgcheck=1`, `repo_gpgcheck=1` and apt's `signed-by` are exercised for real.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { renderRelease } from './apt-repo.ts';
import { run } from './exec.ts';
import { debControl, K8S_STREAMS, packageRelease, rpmSpec, standinSources, streamPackages, type Family, type StandinPackage } from './k8s-packages.ts';
import type { LabPaths } from './paths.ts';
import { onPath } from './preflight.ts';
import { recipeKey } from './recipe.ts';

export const LAB_K8S_MOUNT = '/srv/drover-k8s-repo';
/** What a playbook's Kubernetes mirror variable is set to in the lab (pkgs.k8s.io's root in real life). */
export const LAB_K8S_MIRROR = `file://${LAB_K8S_MOUNT}`;
const KEY_NAME = 'drover lab stand-in Kubernetes repository <lab@drover.invalid>';

export function k8sRepoKey(): string {
  // A package's library files are a pure function of the sources and its version (k8s-packages.ts
  // library()), so the sources are hashed once, not once per package: `up` computes this key every time.
  return recipeKey({
    streams: K8S_STREAMS,
    sources: standinSources(),
    families: (['deb', 'rpm'] as Family[]).map((family) => K8S_STREAMS.map((stream) => streamPackages(stream, family, {}))),
  });
}

/** The directory of one stream and family inside the repository: core:/stable:/v1.30/deb. */
export function streamDir(minor: string, family: Family): string {
  return join('core:', 'stable:', minor, family);
}

/** Where this checkout's repository is cached: a lab whose hosts mount another one runs an older stand-in. */
export function k8sRepoPath(paths: LabPaths): string {
  return join(paths.cacheDir, `k8s-repo-${k8sRepoKey()}`);
}

export async function ensureK8sRepo(paths: LabPaths, log: (line: string) => void): Promise<string> {
  const repo = k8sRepoPath(paths);
  if (existsSync(join(repo, 'READY'))) return repo;
  for (const program of ['dpkg-deb', 'dpkg-scanpackages', 'rpmbuild', 'rpmsign', 'createrepo_c', 'gpg']) {
    if (!onPath(program)) throw new Error(`${program} is missing, needed for the lab's Kubernetes stand-in repository: run \`bash .ci/lab-prereqs.sh\``);
  }
  const started = Date.now();
  const work = `${repo}.building-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  const gnupg = await mkdtemp(join(tmpdir(), 'drover-k8s-gpg-'));
  try {
    await chmod(gnupg, 0o700);
    const gpgEnv = { ...process.env, GNUPGHOME: gnupg };
    await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', KEY_NAME, 'rsa2048', 'sign', 'never'], { env: gpgEnv });
    const publicKey = (await run(['gpg', '--armor', '--export', KEY_NAME], { env: gpgEnv })).stdout;
    const sources = standinSources();
    for (const stream of K8S_STREAMS) {
      const debDir = join(work, streamDir(stream.minor, 'deb'));
      const rpmDir = join(work, streamDir(stream.minor, 'rpm'));
      await mkdir(debDir, { recursive: true });
      await mkdir(rpmDir, { recursive: true });
      for (const pkg of streamPackages(stream, 'deb', sources)) await buildDeb(pkg, debDir, join(work, 'tmp'));
      await run(['dpkg-scanpackages', '--multiversion', '.', '/dev/null'], { cwd: debDir }).then((result) =>
        writeFile(join(debDir, 'Packages'), result.stdout),
      );
      const release = renderRelease(await readFile(join(debDir, 'Packages')), new Date());
      await writeFile(join(debDir, 'Release'), release);
      await run(['gpg', '--batch', '--yes', '--clearsign', '-o', join(debDir, 'InRelease'), join(debDir, 'Release')], { env: gpgEnv });
      await run(['gpg', '--batch', '--yes', '-abs', '-o', join(debDir, 'Release.gpg'), join(debDir, 'Release')], { env: gpgEnv });
      await writeFile(join(debDir, 'Release.key'), publicKey);
      for (const pkg of streamPackages(stream, 'rpm', sources)) await buildRpm(pkg, rpmDir, join(work, 'tmp'));
      const rpms = (await readdir(rpmDir)).filter((name) => name.endsWith('.rpm')).map((name) => join(rpmDir, name));
      await run(['rpmsign', '--define', `_gpg_name ${KEY_NAME}`, '--define', `_gpg_path ${gnupg}`, '--define', '__gpg /usr/bin/gpg', '--addsign', ...rpms], {
        env: gpgEnv,
        hint: 'rpmsign could not sign the stand-in RPMs',
      });
      await run(['createrepo_c', '--quiet', rpmDir]);
      await run(['gpg', '--batch', '--yes', '--detach-sign', '--armor', join(rpmDir, 'repodata', 'repomd.xml')], { env: gpgEnv });
      await writeFile(join(rpmDir, 'repodata', 'repomd.xml.key'), publicKey);
    }
    await rm(join(work, 'tmp'), { recursive: true, force: true });
    await writeFile(join(work, 'READY'), `${new Date().toISOString()}\n`);
    await rename(work, repo);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(gnupg, { recursive: true, force: true });
  }
  log(`Kubernetes stand-in repository built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${repo}`);
  return repo;
}

async function writeTree(pkg: StandinPackage, root: string): Promise<void> {
  for (const file of pkg.files) {
    const target = join(root, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
    await chmod(target, file.mode);
  }
}

async function buildDeb(pkg: StandinPackage, outDir: string, scratch: string): Promise<void> {
  const root = join(scratch, `deb-${pkg.name}-${pkg.version}`);
  await writeTree(pkg, root);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  await writeFile(join(root, 'DEBIAN', 'control'), debControl(pkg));
  const conffiles = pkg.files.filter((file) => file.config).map((file) => file.path);
  if (conffiles.length > 0) await writeFile(join(root, 'DEBIAN', 'conffiles'), conffiles.join('\n') + '\n');
  await run(['dpkg-deb', '--root-owner-group', '-Zgzip', '--build', root, join(outDir, `${pkg.name}_${pkg.version}-${packageRelease('deb')}_amd64.deb`)]);
}

async function buildRpm(pkg: StandinPackage, outDir: string, scratch: string): Promise<void> {
  const top = join(scratch, `rpm-${pkg.name}-${pkg.version}`);
  const tree = join(top, 'TREE');
  await writeTree(pkg, tree);
  await mkdir(join(top, 'SPECS'), { recursive: true });
  const spec = join(top, 'SPECS', `${pkg.name}.spec`);
  await writeFile(spec, rpmSpec(pkg, tree));
  await run(['rpmbuild', '--quiet', '--define', `_topdir ${top}`, '--target', 'x86_64', '-bb', spec], {
    hint: `rpmbuild failed for ${pkg.name} ${pkg.version}`,
  });
  const built = join(top, 'RPMS', 'x86_64');
  for (const file of await readdir(built)) await copyFile(join(built, file), join(outDir, file));
}

/** A digest of the repository's package indexes, for messages and tests. */
export async function k8sRepoDigest(repo: string): Promise<string> {
  const hash = createHash('sha256');
  for (const stream of K8S_STREAMS) hash.update(await readFile(join(repo, streamDir(stream.minor, 'deb'), 'Packages')));
  return hash.digest('hex').slice(0, 16);
}
