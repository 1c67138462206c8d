/**
 * Which checkout a lab instance belongs to. The hosts of an instance are machine-wide
 * (/var/lib/drover-lab-N, one bridge, one network), but the key they trust and the known_hosts that trusts
 * them live in the checkout that brought them up (`.lab/`). A second checkout running `up` on the same
 * instance would write its own key into the hosts and lock the first one out mid-run: every test of that
 * run then fails with "Permission denied (publickey)". So `up` records its checkout here and refuses an
 * instance whose running hosts belong to another checkout that still exists; `down` frees it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LAB_INSTANCE, type LabPaths } from './paths.ts';

function ownerFile(paths: Pick<LabPaths, 'runDir'>): string {
  return join(paths.runDir, 'owner');
}

/** The checkout's lab state directory that owns the instance, or undefined. */
export async function instanceOwner(paths: Pick<LabPaths, 'runDir'>): Promise<string | undefined> {
  const recorded = (await readFile(ownerFile(paths), 'utf8').catch(() => '')).trim();
  return recorded === '' ? undefined : recorded;
}

/**
 * Why this checkout may not bring the instance up, or undefined (it is then recorded as the owner). An
 * owner whose checkout is gone, or an instance with no host running, is taken over.
 */
export async function claimInstance(paths: Pick<LabPaths, 'runDir' | 'stateDir'>, hostsRunning: boolean): Promise<string | undefined> {
  const owner = await instanceOwner(paths);
  if (hostsRunning && owner !== undefined && owner !== paths.stateDir && existsSync(owner)) {
    return (
      `lab instance ${LAB_INSTANCE} is in use by another checkout (${owner}): its hosts trust that checkout's key, and bringing them ` +
      `up from here would lock it out of them. Use another instance (DROVER_LAB_INSTANCE=1…9), or take this one down from there ` +
      `(cd ${owner.replace(/\/\.lab(-\d)?$/, '')} && ${LAB_INSTANCE === 0 ? '' : `DROVER_LAB_INSTANCE=${LAB_INSTANCE} `}npm run lab -- down)`
    );
  }
  await mkdir(paths.runDir, { recursive: true });
  await writeFile(ownerFile(paths), `${paths.stateDir}\n`);
  return undefined;
}

/** `down`: the instance belongs to no checkout any more. */
export async function releaseInstance(paths: Pick<LabPaths, 'runDir'>): Promise<void> {
  await rm(ownerFile(paths), { force: true });
}
