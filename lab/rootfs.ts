/**
 * Builds the lab's Debian root filesystem once with mmdebstrap and keeps it in the cache under a name
 * that is the hash of its recipe (lab/recipe.ts). A build goes to a temporary directory and is renamed
 * into place only when complete, so an interrupted build never looks like a finished one.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.ts';
import type { LabPaths } from './paths.ts';
import { mirrorSources, recipeKey, stableJson, type CustomizeStep, type RootfsRecipe } from './recipe.ts';

export interface BuiltRootfs {
  key: string;
  path: string;
  /** False when it came from the cache. */
  built: boolean;
}

export function rootfsPath(paths: LabPaths, recipe: RootfsRecipe): string {
  return join(paths.cacheDir, `rootfs-${recipeKey(recipe)}`);
}

export async function ensureRootfs(paths: LabPaths, recipe: RootfsRecipe, log: (line: string) => void): Promise<BuiltRootfs> {
  const key = recipeKey(recipe);
  const path = rootfsPath(paths, recipe);
  if (existsSync(join(path, 'etc', 'os-release'))) return { key, path, built: false };

  await mkdir(paths.cacheDir, { recursive: true });
  const temporary = `${path}.building-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  log(`building the lab root filesystem (Debian ${recipe.suite}, recipe ${key}) with mmdebstrap — once, then cached in ${paths.cacheDir}`);
  const started = Date.now();
  try {
    await run(
      [
        'mmdebstrap',
        '--quiet',
        `--variant=${recipe.variant}`,
        `--include=${recipe.packages.join(',')}`,
        recipe.suite,
        temporary,
        ...mirrorSources(recipe.suite),
      ],
      {
        hint: 'mmdebstrap could not build the root filesystem: check that apt can reach deb.debian.org (or set DROVER_LAB_MIRROR) and that mmdebstrap is installed (bash .ci/lab-prereqs.sh)',
      },
    );
    for (const step of recipe.customize) await applyStep(temporary, step);
    await writeFile(join(temporary, '.drover-recipe.json'), stableJson(recipe) + '\n');
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
  log(`root filesystem built in ${((Date.now() - started) / 1000).toFixed(0)} s: ${path}`);
  return { key, path, built: true };
}

async function applyStep(root: string, step: CustomizeStep): Promise<void> {
  switch (step.kind) {
    case 'write': {
      const target = join(root, step.path);
      await writeFile(target, step.content);
      await chmod(target, step.mode);
      return;
    }
    case 'remove':
      for (const path of step.paths) await rm(join(root, path), { recursive: true, force: true });
      return;
    case 'mkdir':
      await mkdir(join(root, step.path), { recursive: true });
      await chmod(join(root, step.path), step.mode);
      return;
    case 'chroot':
      await run(['chroot', root, ...step.argv], {
        ...(step.input !== undefined ? { input: step.input } : {}),
        hint: `customizing the lab root filesystem failed at: ${step.argv.join(' ')}`,
      });
      return;
  }
}
