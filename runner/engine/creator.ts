/**
 * Who creates a file when a task's command does (the task's become user, or the login user), and with
 * which umask: a dry run predicts a new path's owner, group and mode from it, as the real run's `mktemp`
 * + `chmod` of the umask form and `mkdir -p` would give them. One probe per host and user, cached.
 */
import { sh } from '../command.ts';
import { FactError, type Fact } from '../facts.ts';
import type { Effect } from '../predicted-state.ts';

export interface Creator {
  uid: number;
  gid: number;
  user: string;
  group: string;
  /** The umask as a number (0o022). */
  umask: number;
}

export const creatorFact: Fact<Creator> = {
  key: 'creator',
  script: sh`printf 'uid=%s\\ngid=%s\\nuser=%s\\ngroup=%s\\numask=%s\\n' "$(id -u)" "$(id -g)" "$(id -un)" "$(id -gn)" "$(umask)"`,
  parse: (output) => {
    const fields = new Map(
      output.stdout.split('\n').flatMap((line) => (line.includes('=') ? [[line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const] : [])),
    );
    const uid = Number(fields.get('uid'));
    const gid = Number(fields.get('gid'));
    const umask = Number.parseInt(fields.get('umask') ?? '', 8);
    if (output.exitCode !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid) || !Number.isInteger(umask)) {
      throw new FactError('creator', `unexpected output of id and umask: ${JSON.stringify(output.stdout.slice(0, 200))}`);
    }
    return { uid, gid, user: fields.get('user') || String(uid), group: fields.get('group') || String(gid), umask };
  },
};

/** Whether an effect creates a file or directory whose mode, owner or group the module could not say. */
export function needsCreator(effects: readonly Effect[]): boolean {
  return effects.some(
    (effect) =>
      effect.kind === 'path' &&
      (effect.state.kind === 'file' || effect.state.kind === 'directory') &&
      (effect.state.mode === undefined || effect.state.owner === undefined || effect.state.group === undefined),
  );
}

/** The effects with what the creator gives a new path filled in (asked or kept values stay). */
export function withCreator(effects: readonly Effect[], creator: Creator): Effect[] {
  return effects.map((effect) => {
    if (effect.kind !== 'path' || (effect.state.kind !== 'file' && effect.state.kind !== 'directory')) return effect;
    const full = effect.state.kind === 'file' ? 0o666 : 0o777;
    const state = {
      ...effect.state,
      mode: effect.state.mode ?? (full & ~creator.umask).toString(8).padStart(4, '0'),
      ...(effect.state.owner === undefined && { owner: creator.user, uid: creator.uid }),
      ...(effect.state.group === undefined && { group: creator.group, gid: creator.gid }),
    };
    return { ...effect, state };
  });
}
