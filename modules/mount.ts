/**
 * mount: a filesystem mounted (or not) at a mount point, and /etc/fstab kept in step — devices, bind
 * mounts, loop images, tmpfs and network filesystems.
 *
 * @example
 *   await t.mount('data disk', { path: '/var/lib/containerd', src: 'UUID=3f0c…', fstype: 'xfs', opts: 'defaults,noatime', state: 'mounted' });
 *   await t.mount('scratch', { path: '/mnt/scratch', src: 'tmpfs', fstype: 'tmpfs', opts: 'size=512m', state: 'mounted' });
 *   await t.mount('bind logs', { path: '/var/log/pods', src: '/data/pods', fstype: 'none', opts: 'bind', state: 'mounted' });
 *
 * States (Ansible's meanings, with the differences noted):
 *   - mounted: the mount point exists (created, with parents, when missing), the source is mounted there
 *     with these options, and fstab has the entry. Mounting happens BEFORE fstab is written, so a typo in a
 *     device never reaches fstab (where it could stop the next boot). When the fstab entry for an already
 *     mounted source changes (options, or no entry before), the mount is remounted with the new options
 *     (`mount -o remount,OPTS SRC PATH`: with both given, mount(8) ignores fstab). When something else is
 *     mounted at the path, it is unmounted and the wanted source mounted.
 *   - unmounted: not mounted (every mount stacked on the path is unmounted); fstab is not touched.
 *   - present: only the fstab entry; nothing is mounted or created.
 *   - absent: unmounted and the fstab entry removed. Unlike Ansible the mount point directory is kept:
 *     files hidden under a mount cannot be seen beforehand, and deleting directories is the file module's job.
 *   - remounted: `mount -o remount[,OPTS] PATH`, every run (changed); the path must be mounted. Without
 *     opts, mount(8) takes the options from /etc/fstab.
 * The fstab entry is found by mount point: other lines and comments are kept byte for byte (see
 * facts/fstab.ts). systemd regenerates its mount units from fstab at the next daemon-reload or boot; the
 * module does not reload systemd (an expensive, host-wide action) — use the systemd module's
 * `daemonReload: true` afterwards if a unit must see the new entry at once.
 */
import { posix } from 'node:path';
import { Script, sh } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type Change, type HostContext, type Plan } from '../runner/module.ts';
import type { Effect, PredictedView } from '../runner/predicted-state.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { hostPath } from './lib/host-path.ts';
import { planFileContentFrom } from './lib/file-content.ts';
import { decodeHostText, encodeHostText } from '../runner/host-text.ts';
import { fileStateScript, parseFileState, predictFileState, type FileState } from './facts/file-state.ts';
import { findFstabEntry, removeFstabEntry, setFstabEntry, type FstabEntry } from './facts/fstab.ts';
import { mountPointScript, parseMountPoint, type MountPointState, type MountedFs } from './facts/mount-point.ts';

/** No control characters: fstab, findmnt and mount's messages cannot carry them reliably. */
const NO_CONTROL = /^[^\x00-\x1f\x7f]+$/;

const params = s
  .object({
    /** The mount point, an absolute path such as `/mnt/data` (Ansible's `path`). */
    path: hostPath({ what: 'an absolute mount point path like /mnt/data (no control characters)', noControl: true }),
    /**
     * What to mount: a device (`/dev/sdb1`, `UUID=…`, `LABEL=…`), a directory (with opts `bind`), an image
     * file (a loop mount), `tmpfs`, or `host:/export`. Required for mounted and present.
     */
    src: s.string({ pattern: NO_CONTROL, what: 'a mount source (device, UUID=…, directory, image, tmpfs, host:/export)' }).optional(),
    /** Filesystem type: `ext4`, `xfs`, `tmpfs`, `nfs`, `none` (bind). Required for mounted and present. */
    fstype: s.string({ pattern: /^[A-Za-z0-9_.+-]+$/, what: 'a filesystem type like ext4, xfs, tmpfs or none' }).optional(),
    /** Mount options as in fstab, comma-separated, no blanks; default `defaults`. */
    opts: s.string({ pattern: /^[^\s\x00-\x1f\x7f]+$/, what: 'comma-separated mount options without blanks, like defaults,noatime' }).optional(),
    /** fstab's fifth field (dump); default 0. */
    dump: s.int({ min: 0, max: 9 }).default(0),
    /** fstab's sixth field (fsck order); default 0. */
    passno: s.int({ min: 0, max: 9 }).default(0),
    /** mounted, unmounted, present (fstab only), absent (unmounted and out of fstab), remounted. */
    state: s.enum(['mounted', 'unmounted', 'present', 'absent', 'remounted'] as const),
    /** The fstab file to keep in step; default /etc/fstab. */
    fstab: hostPath({ what: 'an absolute path to an fstab file', noControl: true }).default('/etc/fstab'),
  })
  .rule((p) =>
    (p.state === 'mounted' || p.state === 'present') && (p.src === undefined || p.fstype === undefined) ? `state ${p.state} needs src and fstype` : undefined,
  )
  .rule((p) =>
    p.path === '/' && p.state !== 'present' && p.state !== 'remounted' ? 'the root filesystem can only be present (fstab) or remounted' : undefined,
  );

export type MountParams = InputOf<typeof params>;
type Params = OutputOf<typeof params>;

/** One probe: what is mounted at the path, what the source is, and the fstab file with its bytes. */
export function mountProbeScript(p: Pick<Params, 'path' | 'src' | 'fstab'>): Script {
  return Script.join([mountPointScript(p.path, p.src), sh`echo @@fstab`, fileStateScript(p.fstab, { content: 'always' })]);
}

/** Splits the probe output into the mount point state and the fstab file state. Pure. */
export function parseMountProbe(p: Pick<Params, 'path' | 'fstab'>, stdout: string): { point: MountPointState; fstab: FileState } {
  const at = stdout.indexOf('\n@@fstab\n');
  if (at < 0) throw new ModuleError(`the mount probe for ${p.path} printed nothing usable: ${JSON.stringify(stdout.slice(0, 300))}`);
  return { point: parseMountPoint(p.path, stdout.slice(0, at + 1)), fstab: parseFileState(p.fstab, stdout.slice(at + '\n@@fstab\n'.length)) };
}

function isBind(p: { opts?: string }): boolean {
  return (p.opts ?? '').split(',').some((opt) => opt === 'bind' || opt === 'rbind');
}

/**
 * Whether the visible mount at the path is the wanted source: `same`, `different`, or `absent` when
 * nothing is mounted there. See facts/mount-point.ts for how each kind of source is recognised. Pure.
 */
export function mountedSource(p: { src?: string; fstype?: string; opts?: string }, point: MountPointState): 'same' | 'different' | 'absent' {
  const top = point.mounts.at(-1);
  if (!top) return 'absent';
  const source = point.source ?? { kind: 'name' as const };
  if (isBind(p) || source.kind === 'directory') {
    return source.kind === 'directory' && point.pathId !== undefined && point.pathId === source.id ? 'same' : 'different';
  }
  if (!fstypeMatches(p.fstype, top)) return 'different';
  switch (source.kind) {
    case 'block':
      return top.majMin === source.majMin ? 'same' : 'different';
    case 'file':
      return point.loopBackingFile !== undefined && point.loopBackingFile.replace(/ \(deleted\)$/, '') === source.realPath ? 'same' : 'different';
    case 'absent':
      return 'different';
    case 'name':
      return top.source === p.src ? 'same' : 'different';
  }
}

/** `auto` matches anything; `nfs` in fstab mounts as nfs4 with NFSv4. */
function fstypeMatches(wanted: string | undefined, top: MountedFs): boolean {
  if (wanted === undefined || wanted === 'auto' || wanted === top.fstype) return true;
  return wanted === 'nfs' && top.fstype === 'nfs4';
}

/** The pure planner: (params, probed mount point, probed fstab) → plan. Exported for table tests. */
export function planMount(p: Params, point: MountPointState, fstab: FileState): Plan {
  const opts = p.opts ?? 'defaults';
  const fstabText = fstab.kind === 'absent' ? '' : fstabContent(p.fstab, fstab);
  const oldEntry = findFstabEntry(fstabText, p.path);
  const mounted = point.mounts.length > 0;
  const top = point.mounts.at(-1);
  const changes: Change[] = [];
  const writeFstab = (text: string) => changes.push(...planFileContentFrom({ path: p.fstab, content: encodeHostText(text) }, fstab).changes);

  switch (p.state) {
    case 'present': {
      writeFstab(setFstabEntry(fstabText, entryOf(p, opts)));
      break;
    }
    case 'unmounted': {
      if (mounted) changes.push(unmountChange(p.path, point.mounts));
      break;
    }
    case 'absent': {
      if (mounted) changes.push(unmountChange(p.path, point.mounts));
      if (oldEntry) writeFstab(removeFstabEntry(fstabText, p.path));
      break;
    }
    case 'remounted': {
      if (!top) throw new ModuleError(`${p.path} is not mounted, so it cannot be remounted`, 'use state: mounted to mount it');
      const options = p.opts === undefined ? 'remount' : `remount,${p.opts}`;
      changes.push({
        summary: `remount ${p.path}${p.opts === undefined ? '' : ` with ${p.opts}`}`,
        diff: { kind: 'value', name: `${p.path} options`, before: top.options, after: p.opts === undefined ? `${top.options} (remounted)` : p.opts },
        commands: [{ run: sh`mount -o ${options} -- ${p.path}`, description: `remount ${p.path}` }],
        effects: [],
      });
      break;
    }
    case 'mounted': {
      const entry = entryOf(p, opts);
      const newText = setFstabEntry(fstabText, entry);
      const identity = mountedSource(p, point);
      if (identity !== 'same') {
        if (point.source?.kind === 'absent') {
          throw new ModuleError(
            `cannot mount ${p.src} on ${p.path}: ${p.src} does not exist`,
            'check the device or path name (lsblk, blkid), or create the image or directory first',
          );
        }
        if (identity === 'different') changes.push(unmountChange(p.path, point.mounts));
        const prepare = mountPointPreparation(p, point);
        if (prepare) changes.push(prepare);
        changes.push(mountChange(p, opts, top, identity));
      } else if (!oldEntry || oldEntry.opts !== opts) {
        changes.push(remountChange(p, opts, top!, oldEntry));
      }
      writeFstab(newText);
      break;
    }
  }
  if (changes.length === 0) return noChange(`${p.path}: ${describe(point)}; ${oldEntry ? `in ${p.fstab}` : `not in ${p.fstab}`}`);
  return { changes };
}

function fstabContent(path: string, state: FileState): string {
  if (state.kind !== 'file') throw new ModuleError(`${path} is not a regular file (${state.kind})`, 'give the path of the fstab file');
  if (!state.content) throw new ModuleError(`could not read ${path}`);
  return decodeHostText(state.content);
}

function entryOf(p: Params, opts: string): FstabEntry {
  return { src: p.src!, path: p.path, fstype: p.fstype!, opts, dump: p.dump, passno: p.passno };
}

function describe(point: MountPointState): string {
  const top = point.mounts.at(-1);
  return top ? `${top.source} (${top.fstype}, ${top.options}) mounted` : 'not mounted';
}

function unmountChange(path: string, mounts: MountedFs[]): Change {
  // Mounts can be stacked; each umount takes the top one off, and "not mounted" means none is left.
  const steps = mounts.map(() => sh`umount -- ${path}`);
  const top = mounts.at(-1)!;
  return {
    summary: `unmount ${top.source} from ${path}${mounts.length > 1 ? ` (and ${mounts.length - 1} mount(s) under it)` : ''}`,
    diff: { kind: 'value', name: `${path} mounted`, before: `${top.source} (${top.fstype}, ${top.options})`, after: 'not mounted' },
    commands: [{ run: Script.join(steps), description: `umount ${path}`, diagnose: sh`command -v fuser >/dev/null 2>&1 && fuser -vm -- ${path} 2>&1 || true` }],
    // What was under the mount shows again: not known from here.
    effects: [
      { kind: 'mount', path, state: { mounted: false } },
      { kind: 'unknown', domains: ['files'], under: path, what: `what is in ${path} once unmounted` },
    ],
  };
}

/** Creates a missing mount point: a directory, or an empty file when a single file is bind-mounted. */
function mountPointPreparation(p: Params, point: MountPointState): Change | undefined {
  if (point.pathKind !== 'absent') return undefined;
  const fileBind = isBind(p) && point.source?.kind === 'file';
  return {
    summary: `create mount point ${p.path}${fileBind ? ' (a file, for a file bind mount)' : ''}`,
    diff: { kind: 'value', name: p.path, before: 'absent', after: fileBind ? 'file' : 'directory' },
    commands: [
      {
        run: fileBind ? sh`mkdir -p -- ${posix.dirname(p.path)}\n: >> ${p.path}` : sh`mkdir -p -- ${p.path}`,
        description: `create ${p.path}`,
      },
    ],
    effects: [
      { kind: 'path', path: p.path, state: fileBind ? { kind: 'file', sha256: EMPTY_SHA256, size: 0, content: Buffer.alloc(0) } : { kind: 'directory' } },
    ],
  };
}

function mountChange(p: Params, opts: string, top: MountedFs | undefined, identity: 'different' | 'absent'): Change {
  return {
    summary: `mount ${p.src} on ${p.path} (${p.fstype}, ${opts})`,
    diff: {
      kind: 'value',
      name: `${p.path} mounted`,
      before: identity === 'different' && top ? `${top.source} (${top.fstype}, ${top.options})` : 'not mounted',
      after: `${p.src} (${p.fstype}, ${opts})`,
    },
    commands: [{ run: mountCommand(p.fstype!, opts, p.src!, p.path), description: `mount ${p.path}` }],
    effects: mountEffects(p, opts),
  };
}

function remountChange(p: Params, opts: string, top: MountedFs, oldEntry: FstabEntry | undefined): Change {
  return {
    summary: `remount ${p.path} with ${opts} (${oldEntry ? `fstab had ${oldEntry.opts}` : 'no fstab entry before'})`,
    diff: { kind: 'value', name: `${p.path} options`, before: top.options, after: opts },
    commands: [{ run: sh`mount -o ${`remount,${opts}`} -- ${p.src!} ${p.path}`, description: `remount ${p.path}` }],
    effects: [{ kind: 'mount', path: p.path, state: { mounted: true, source: p.src!, fstype: top.fstype, options: opts } }],
  };
}

/** sha256 of no bytes: an empty file made as a mount point. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * What a mount leaves: the source's files in place of what was at the path. A new tmpfs is empty; any
 * other filesystem's content is not known from here.
 */
function mountEffects(p: Params, opts: string): Effect[] {
  const content: Effect =
    p.fstype === 'tmpfs'
      ? { kind: 'path', path: p.path, state: { kind: 'absent' } }
      : { kind: 'unknown', domains: ['files'], under: p.path, what: `what ${p.src} holds` };
  return [
    content,
    { kind: 'path', path: p.path, state: { kind: 'directory' } },
    { kind: 'mount', path: p.path, state: { mounted: true, source: p.src!, fstype: p.fstype!, options: opts } },
  ];
}

/**
 * `mount -t TYPE -o OPTS -- SRC PATH`: with both source and mount point given, mount(8) does not read
 * fstab, so the mount is exactly what was asked whatever fstab says. Options mount(8) keeps for itself
 * (noauto, nofail, _netdev, x-*) are accepted and not passed to the kernel.
 */
export function mountCommand(fstype: string, opts: string, src: string, path: string): Script {
  return sh`mount -t ${fstype} -o ${opts} -- ${src} ${path}`;
}

/**
 * In a dry run: the mount point as the earlier tasks' planned changes would leave it (a directory made,
 * a filesystem mounted or unmounted). A predicted mount of the wanted source is recognised as the same
 * mount whatever kind of source it is.
 */
export function predictMountPoint(p: Pick<Params, 'path' | 'src'>, point: MountPointState, predicted: PredictedView): MountPointState {
  const mount = predicted.mount(p.path);
  if (mount) {
    const state = mount.known;
    if (!state.mounted) {
      const path = predicted.path(p.path);
      return { ...point, mounts: [], pathKind: path ? kindOf(path.known.kind) : point.pathKind };
    }
    const same = state.source === p.src;
    const source = point.source;
    return {
      ...point,
      mounts: [
        ...point.mounts.slice(0, -1),
        {
          target: p.path,
          source: state.source ?? '',
          fstype: state.fstype ?? '',
          options: state.options ?? '',
          majMin: same && source?.kind === 'block' ? source.majMin : '',
        },
      ],
      pathKind: 'directory',
      pathId: same && source?.kind === 'directory' ? source.id : undefined,
      loopBackingFile: same && source?.kind === 'file' ? source.realPath : undefined,
    };
  }
  if (point.mounts.length > 0) return point;
  const path = predicted.path(p.path);
  return path ? { ...point, pathKind: kindOf(path.known.kind) } : point;
}

function kindOf(kind: 'file' | 'directory' | 'link' | 'absent'): MountPointState['pathKind'] {
  return kind === 'link' ? 'other' : kind;
}

export const mount = defineModule({
  name: 'mount',
  summary: 'Mount or unmount a filesystem (device, bind, loop image, tmpfs, network) and keep /etc/fstab in step',
  params,
  async plan(p, host: HostContext): Promise<Plan> {
    const output = await host.probe(mountProbeScript(p));
    if (output.exitCode !== 0) {
      throw new ModuleError(
        `could not read the mount state of ${p.path} on ${host.name} (exit ${output.exitCode}): ${(output.stderr || output.stdout).trim()}`,
        'findmnt (util-linux) and GNU coreutils must be installed',
      );
    }
    const probed = parseMountProbe(p, output.stdout);
    return planMount(p, predictMountPoint(p, probed.point, host.predicted), predictFileState(host.predicted, probed.fstab, { content: 'always' }));
  },
});
