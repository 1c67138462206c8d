/** A path's mode, owner and group: the changes that set them, and the check that the accounts exist. */
import { Script, sh } from '../../runner/command.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Change, HostContext } from '../../runner/module.ts';
import type { Effect } from '../../runner/predicted-state.ts';
import type { FileState } from '../facts/file-state.ts';
import { chmodMode, formatMode, parseMode } from './mode.ts';

/** Whether an asked owner ("root" or "0") is the probed one. */
export function sameAccount(wanted: string, id: number | undefined, name: string | undefined): boolean {
  return /^\d+$/.test(wanted) ? Number(wanted) === id : wanted === name;
}
/** The attributes a caller may ask for on a path. */
export interface PathAttributes {
  mode?: string;
  owner?: string;
  group?: string;
}

/** Mode/owner/group changes on an existing file or directory (for files: whose content is already right). */
export function metadataChanges(options: PathAttributes, state: FileState): Change[] {
  const changes: Change[] = [];
  const path = state.path;
  if (options.mode !== undefined && parseMode(options.mode) !== Number.parseInt(state.mode ?? '', 8)) {
    const before = formatMode(state.mode ?? '0');
    const after = formatMode(options.mode);
    changes.push({
      summary: `set mode of ${path} ${before} → ${after}`,
      diff: { kind: 'value', name: `${path} mode`, before, after },
      commands: [{ run: sh`chmod ${chmodMode(options.mode)} -- ${path}`, description: `chmod ${after} ${path}` }],
    });
  }
  const ownerWrong = options.owner !== undefined && !sameAccount(options.owner, state.uid, state.owner);
  const groupWrong = options.group !== undefined && !sameAccount(options.group, state.gid, state.group);
  if (ownerWrong || groupWrong) {
    const before = `${state.owner}:${state.group}`;
    const after = `${ownerWrong ? options.owner : state.owner}:${groupWrong ? options.group : state.group}`;
    const spec = `${ownerWrong ? options.owner : ''}${groupWrong ? `:${options.group}` : ''}`;
    changes.push({
      summary: `set owner of ${path} ${before} → ${after}`,
      diff: { kind: 'value', name: `${path} owner`, before, after },
      commands: [{ run: sh`chown ${spec} -- ${path}`, description: `chown ${spec} ${path}` }],
    });
  }
  return changes;
}
/**
 * A chown to a user that does not exist would fail half-way through a run; say so while planning. Costs
 * one probe, and only when a name differs from the current owner or group.
 */
export async function checkAccountsExist(options: PathAttributes, state: Pick<FileState, 'owner' | 'group'>, host: HostContext): Promise<void> {
  const checks: Array<['passwd' | 'group', string]> = [];
  if (options.owner !== undefined && !/^\d+$/.test(options.owner) && options.owner !== state.owner) checks.push(['passwd', options.owner]);
  if (options.group !== undefined && !/^\d+$/.test(options.group) && options.group !== state.group) checks.push(['group', options.group]);
  if (checks.length === 0) return;
  const script = Script.join(checks.map(([db, name]) => sh`getent ${db} ${name} >/dev/null || echo missing=${db}`));
  const output = await host.probe(script);
  for (const [db, name] of checks) {
    if (output.stdout.includes(`missing=${db}`)) {
      const what = db === 'passwd' ? 'user' : 'group';
      throw new ModuleError(`${what} ${JSON.stringify(name)} does not exist on ${host.name}`, `create the ${what} first, or give a numeric id`);
    }
  }
}

/** What metadata changes leave behind: the path as it was, with the asked mode, owner and group. */
export function metadataEffect(options: PathAttributes, state: FileState): Effect {
  const meta = {
    mode: options.mode !== undefined ? formatMode(options.mode) : state.mode,
    owner: options.owner ?? state.owner,
    group: options.group ?? state.group,
  };
  if (state.kind === 'file' && state.sha256 !== undefined) {
    return {
      kind: 'path',
      path: state.path,
      state: { kind: 'file', sha256: state.sha256, size: state.size ?? 0, ...(state.content && { content: state.content }), ...meta },
    };
  }
  return { kind: 'path', path: state.path, state: { kind: 'directory', ...meta } };
}

/**
 * In a dry run, a path an earlier task would create has no predicted mode or owner (they come from the
 * host's umask and user): a task that asks for them depends on that task's outcome, which drover cannot know.
 */
export function notePredictedMetadata(options: PathAttributes, state: FileState, host: HostContext): void {
  if (!state.predictedBy) return;
  const unknown = [
    options.mode !== undefined && state.mode === undefined && 'mode',
    options.owner !== undefined && state.owner === undefined && 'owner',
    options.group !== undefined && state.group === undefined && 'group',
  ].filter(Boolean);
  if (unknown.length > 0) host.predicted.dependsOn(state.predictedBy, `the ${unknown.join(' and ')} of ${state.path}`);
}
