/**
 * file: the state of a path — a directory, an existing file's attributes, a symbolic link, an empty file,
 * or nothing — with mode, owner and group (recursively for directories if asked).
 *
 * @example
 *   await t.file('kubelet dir', { path: '/var/lib/kubelet', state: 'directory', mode: '0700' });
 *   await t.file('kubectl on PATH', { path: '/usr/local/bin/kubectl', state: 'link', src: '/opt/k8s/bin/kubectl' });
 *   await t.file('old config gone', { path: '/etc/default/old', state: 'absent' });
 *
 * Differences from Ansible, on purpose: `touch` creates a missing file but does not update the
 * timestamps of an existing one (Ansible's touch always reports a change; a module that always changes
 * cannot show that a second run does nothing) — it is Ansible's touch with `modification_time` and
 * `access_time` set to `preserve`. `state` defaults to `file`, which, as in Ansible, never creates a
 * file (use copy, template or touch). Hard links are not supported.
 */
import { posix } from 'node:path';
import { Script, sh } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type Change, type HostContext, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import type { Effect, PredictedPath } from '../runner/predicted-state.ts';
import { checkAccountsExist, metadataChanges, metadataEffect, notePredictedMetadata } from './lib/attributes.ts';
import { fileAttributeParams } from './lib/file-params.ts';
import { hostPath } from './lib/host-path.ts';
import { chmodMode, formatMode, parseMode } from './lib/mode.ts';
import { readFileState, type FileState } from './facts/file-state.ts';

const params = s
  .object({
    /** The path on the host (absolute). */
    path: hostPath({ what: 'an absolute path other than /', root: false }),
    /**
     * `file`: an existing file gets the attributes (never created); `directory`: created with parents if
     * missing; `link`: a symbolic link to `src`; `touch`: an empty file if missing; `absent`: removed,
     * directories recursively.
     */
    state: s.enum(['file', 'directory', 'link', 'touch', 'absent']).default('file'),
    /** For `link`: where the link points (stored as given; relative targets are relative to the link's directory). */
    src: s.string({ nonEmpty: true, what: 'a link target' }).optional(),
    ...fileAttributeParams,
    /** For `directory`: apply owner, group and mode to everything inside too (mode applies to files and directories alike). */
    recurse: s.boolean().default(false),
    /** For `link`: replace an existing regular file at path by the link (a directory is never replaced). */
    force: s.boolean().default(false),
    /** For `file`, `directory` and `touch`: when path is a symbolic link, act on what it points to (Ansible's default). */
    follow: s.boolean().default(true),
  })
  .rule((p) => (p.state === 'link' && p.src === undefined ? 'state=link needs src (where the link points)' : undefined))
  .rule((p) => (p.state !== 'link' && p.src !== undefined ? 'src is only used with state=link' : undefined))
  .rule((p) => (p.recurse && p.state !== 'directory' ? 'recurse is only used with state=directory' : undefined))
  .rule((p) => (p.state === 'absent' && (p.mode ?? p.owner ?? p.group) !== undefined ? 'mode, owner and group mean nothing with state=absent' : undefined));

export type FileParams = InputOf<typeof params>;
type Params = OutputOf<typeof params>;

export const file = defineModule({
  name: 'file',
  summary: 'Make a path a directory, a symbolic link, an empty file or absent, with mode, owner and group',
  params,
  async plan(p, host) {
    if (p.mode !== undefined) parseMode(p.mode);
    // Absent and link act on the path itself: removing a link removes the link, not its target.
    const follow = p.follow && p.state !== 'absent' && p.state !== 'link';
    const state = await readFileState(host, p.path, { follow, content: 'never' });
    if (p.state !== 'absent' && p.state !== 'link') notePredictedMetadata(p, state, host);
    const plan = withEffects(planFile(p, state), fileEffects(p, state));
    // (Below the directory, find itself reports an unknown user or group.)
    if (plan.changes.length > 0) await checkAccountsExist(p, state, host);
    if (p.recurse && state.kind === 'directory' && (p.mode ?? p.owner ?? p.group) !== undefined) {
      const recursive = await planRecursive(p, state.path, host);
      // Which entries below change is counted, not listed: their metadata is not predicted one by one.
      const below: Effect = { kind: 'unknown', domains: ['files'], under: state.path, what: `the mode and owner of what is in ${state.path}` };
      const changes = [...plan.changes, ...recursive.changes.map((change) => ({ ...change, effects: [below] }))];
      return { changes, reason: plan.changes.length || recursive.changes.length ? undefined : plan.reason };
    }
    return plan;
  },
});

/** The plan's first change carries what the path is afterwards (for a dry run's later tasks); the rest add nothing. */
function withEffects(plan: Plan, effects: Effect[]): Plan {
  return { ...plan, changes: plan.changes.map((change, index) => ({ ...change, effects: index === 0 ? effects : [] })) };
}

/** What the path is once the plan ran (a new path's unasked mode and owner come from the host: not predicted). */
export function fileEffects(p: Params, state: FileState): Effect[] {
  const asked = { mode: p.mode !== undefined ? formatMode(p.mode) : undefined, owner: p.owner, group: p.group };
  let after: PredictedPath;
  if (p.state === 'absent') after = { kind: 'absent' };
  else if (p.state === 'link') after = { kind: 'link', target: p.src! };
  else if (state.kind !== 'absent') return [metadataEffect(p, state)];
  else if (p.state === 'directory') after = { kind: 'directory', ...asked };
  else after = { kind: 'file', sha256: EMPTY_SHA256, size: 0, content: Buffer.alloc(0), ...asked };
  return [{ kind: 'path', path: state.path, state: after }];
}

/** sha256 of no bytes: what `touch` creates. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Pure: (params, probed state) → plan, for everything but the recursive part. Exported for table tests. */
export function planFile(p: Params, state: FileState): Plan {
  switch (p.state) {
    case 'absent':
      return planAbsent(state);
    case 'directory':
      return planDirectory(p, state);
    case 'file':
      return planExisting(p, state);
    case 'touch':
      return planTouch(p, state);
    case 'link':
      return planLink(p, state);
  }
}

function describe(state: FileState): string {
  if (state.kind === 'link') return `symbolic link to ${state.linkTarget}`;
  return state.kind === 'other' ? 'special file' : state.kind;
}

/**
 * The schema refuses `/` however it is written; this catches the path the probe resolved (a link followed
 * to `/`), so that no plan ever holds `rm -rf /` or a recursive chown of the whole host.
 */
function refuseRoot(path: string, action: string): void {
  if (path.replace(/\/+/g, '/') === '/')
    throw new ModuleError(`refusing to ${action} / (the root directory)`, 'give the path of what you mean to change, not /');
}

function planAbsent(state: FileState): Plan {
  if (state.kind === 'absent') return noChange(`${state.path} does not exist`);
  refuseRoot(state.path, 'remove');
  return {
    changes: [
      {
        summary: `remove ${describe(state)} ${state.path}`,
        diff: { kind: 'value', name: `${state.path} state`, before: describe(state), after: 'absent' },
        commands: [{ run: sh`rm -rf -- ${state.path}`, description: `remove ${state.path}` }],
      },
    ],
  };
}

/** Commands that set asked attributes on a path just created (mode after chown: chown can clear setuid bits). */
function attributeCommands(p: Params, path: string): Script[] {
  const steps: Script[] = [];
  const spec = `${p.owner ?? ''}${p.group !== undefined ? `:${p.group}` : ''}`;
  if (spec) steps.push(sh`chown ${spec} -- ${path}`);
  if (p.mode !== undefined) steps.push(sh`chmod ${chmodMode(p.mode)} -- ${path}`);
  return steps;
}

function creation(p: Params, path: string, what: string, create: Script): Change {
  const attributes = [p.mode !== undefined && `mode ${formatMode(p.mode)}`, p.owner && `owner ${p.owner}`, p.group && `group ${p.group}`].filter(Boolean);
  return {
    summary: `create ${what} ${path}${attributes.length ? ` (${attributes.join(', ')})` : ''}`,
    diff: { kind: 'value', name: `${path} state`, before: 'absent', after: what },
    commands: [{ run: Script.join([create, ...attributeCommands(p, path)]), description: `create ${what} ${path}` }],
  };
}

function planDirectory(p: Params, state: FileState): Plan {
  if (state.kind === 'absent') return { changes: [creation(p, state.path, 'directory', sh`mkdir -p -- ${state.path}`)] };
  if (state.kind !== 'directory') {
    throw new ModuleError(`${state.path} exists and is a ${describe(state)}, not a directory`, 'remove it first (state=absent) or choose another path');
  }
  return attributesOnly(p, state);
}

function planExisting(p: Params, state: FileState): Plan {
  if (state.kind === 'absent') {
    throw new ModuleError(`${state.path} does not exist`, 'state=file only changes an existing file; use state=touch, copy or template to create one');
  }
  if (state.kind === 'link') throw new ModuleError(`${state.path} is a dangling symbolic link to ${state.linkTarget}`, 'fix the link or set follow=false');
  return attributesOnly(p, state);
}

function planTouch(p: Params, state: FileState): Plan {
  if (state.kind === 'absent') {
    if (!state.parentExists) {
      throw new ModuleError(
        `cannot create ${state.path}: its directory ${posix.dirname(state.path)} does not exist`,
        'create the directory first (state=directory)',
      );
    }
    // `: >>` creates without truncating: if something created the file since the probe, it is kept.
    return { changes: [creation(p, state.path, 'file', sh`: >> ${state.path}`)] };
  }
  if (state.kind === 'link') throw new ModuleError(`${state.path} is a dangling symbolic link to ${state.linkTarget}`, 'fix the link or set follow=false');
  return attributesOnly(p, state);
}

function attributesOnly(p: Params, state: FileState): Plan {
  const changes = metadataChanges(p, state);
  return changes.length ? { changes } : noChange(`${state.path} is a ${state.kind} as asked${attributeText(p)}`);
}

function attributeText(p: Params): string {
  const parts = [p.mode !== undefined && `mode ${formatMode(p.mode)}`, p.owner && `owner ${p.owner}`, p.group && `group ${p.group}`].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function planLink(p: Params, state: FileState): Plan {
  const target = p.src!;
  const path = state.path;
  if (state.kind === 'link' && state.linkTarget === target) {
    return noChange(`${path} already links to ${target}`);
  }
  if (state.kind === 'directory')
    throw new ModuleError(`${path} is a directory; it is never replaced by a link`, 'remove it first (state=absent) or choose another path');
  if (state.kind === 'other') throw new ModuleError(`${path} is a special file`, 'remove it first (state=absent)');
  if (state.kind === 'file' && !p.force) {
    throw new ModuleError(`${path} is a regular file, not a link`, 'set force to replace the file by the link, or remove it first');
  }
  if (!state.parentExists) {
    throw new ModuleError(`cannot create ${path}: its directory ${posix.dirname(path)} does not exist`, 'create the directory first (state=directory)');
  }
  // The link is made beside the path and renamed over it, so the path is never missing in between. Its
  // name does not repeat the path's: a name near the 255-byte limit made the temporary name too long.
  const tmp = `${posix.dirname(path) === '/' ? '' : posix.dirname(path)}/.drover-link`;
  const owner = `${p.owner ?? ''}${p.group !== undefined ? `:${p.group}` : ''}`;
  return {
    changes: [
      {
        summary: `${state.kind === 'absent' ? 'create' : 'replace'} ${path} → ${target}${state.kind === 'absent' ? '' : ` (was ${describe(state)})`}`,
        diff: { kind: 'value', name: `${path} state`, before: state.kind === 'absent' ? 'absent' : describe(state), after: `symbolic link to ${target}` },
        commands: [
          {
            run: Script.join([
              sh`tmp=${tmp}.$$
trap 'rm -f -- "$tmp"' EXIT
ln -s -- ${target} "$tmp"`,
              ...(owner ? [sh`chown -h ${owner} -- "$tmp"`] : []),
              sh`mv -Tf -- "$tmp" ${path}`,
            ]),
            description: `link ${path} → ${target}`,
          },
        ],
      },
    ],
  };
}

/**
 * Recursive attributes: one probe counts the entries below the directory whose owner, group or mode
 * differ (`find`), and the change is one `chown -R` / `chmod -R` when any do.
 */
async function planRecursive(p: Params, path: string, host: HostContext): Promise<Plan> {
  refuseRoot(path, 'recursively change owner, group or mode under');
  // In a dry run, entries an earlier task would make below the directory (or the directory itself) are not
  // on the host yet: find failed on a directory still to be made, and missed a file still to be copied in.
  // Which entries would differ is then not known; the task depends on that task and plans the same commands.
  const under = host.predicted.pathsUnder(path);
  const predictedBy = under.unknownBy ?? under.paths.values().next().value?.by;
  if (predictedBy !== undefined) {
    host.predicted.dependsOn(predictedBy, `what is in ${path}`);
    return { changes: recursiveChanges(p, path, undefined) };
  }
  const tests: Array<[string, Script]> = [];
  if (p.owner !== undefined) tests.push(['owner', sh`find ${path} -mindepth 1 ! -type l ! -user ${p.owner} | wc -l`]);
  if (p.group !== undefined) tests.push(['group', sh`find ${path} -mindepth 1 ! -type l ! -group ${p.group} | wc -l`]);
  if (p.mode !== undefined) tests.push(['mode', sh`find ${path} -mindepth 1 ! -type l ! -perm ${formatMode(p.mode)} | wc -l`]);
  const output = await host.probe(Script.join(tests.map(([name, script]) => sh`echo ${name}=$(${script})`)));
  // find reports an unknown user or an unreadable directory on stderr while `| wc -l` still succeeds.
  if (output.exitCode !== 0 || output.stderr.trim() !== '') {
    throw new ModuleError(
      `cannot inspect the contents of ${path} on ${host.name}: ${output.stderr.trim()}`,
      'check that the owner and group exist and the directory is readable',
    );
  }
  const counts = new Map(
    output.stdout
      .trim()
      .split('\n')
      .map((line) => {
        const [name, count] = line.split('=');
        return [name!, Number(count?.trim())] as const;
      }),
  );
  return { changes: recursiveChanges(p, path, Object.fromEntries(counts)) };
}

/**
 * The recursive changes for the counts of entries that differ (`find`); counts undefined: a dry run that
 * cannot count them (entries still to be made), with the same commands and "entries" for the number.
 */
function recursiveChanges(p: Params, path: string, counts: Record<string, number> | undefined): Change[] {
  const count = (name: string): number => (counts ? (counts[name] ?? 0) : 1);
  const entries = (n: number) => (counts ? `${n} entr${n === 1 ? 'y' : 'ies'}` : 'the entries');
  const changes: Change[] = [];
  const ownership = ['owner', 'group'].filter((name) => (name === 'owner' ? p.owner : p.group) !== undefined && count(name) > 0);
  if (ownership.length > 0) {
    const spec = `${p.owner ?? ''}${p.group !== undefined ? `:${p.group}` : ''}`;
    const differing = entries(Math.max(count('owner'), count('group')));
    changes.push({
      summary: `set ${ownership.join(' and ')} of ${differing} under ${path} to ${spec}`,
      diff: { kind: 'value', name: `${path}/* owner`, before: `${differing} differ`, after: spec },
      // find, not chown -R: the same entries the probe counted, and never through a symbolic link.
      commands: [{ run: sh`find ${path} -mindepth 1 ! -type l -exec chown ${spec} -- {} +`, description: `chown -R ${spec} ${path}` }],
    });
  }
  if (p.mode !== undefined && count('mode') > 0) {
    const mode = formatMode(p.mode);
    const differing = entries(count('mode'));
    changes.push({
      summary: `set mode of ${differing} under ${path} to ${mode}`,
      diff: { kind: 'value', name: `${path}/* mode`, before: `${differing} differ`, after: mode },
      // -mindepth 1 and no symlinks, matching the probe: the directory itself is handled by planFile.
      commands: [{ run: sh`find ${path} -mindepth 1 ! -type l -exec chmod ${chmodMode(p.mode)} -- {} +`, description: `chmod -R ${mode} ${path}` }],
    });
  }
  return changes;
}
