/** Parameter schemas every module that writes a file declares alike, and their translation to planFileContent options. */
import { s } from '../../runner/schema.ts';
import type { FileContentOptions } from './file-content.ts';

/** Parameter schemas shared by every module that sets a file's mode, owner and group. */
export const fileAttributeParams = {
  /** Permission bits as a quoted octal string, e.g. `"0644"`; default: keep the existing file's, umask for a new one. */
  mode: s.string({ pattern: /^0?[0-7]{3,4}$/, what: 'an octal mode as a quoted string, e.g. "0644"' }).optional(),
  /** User that owns the file (a name or a uid); default: keep the existing owner, the running user for a new file. */
  owner: s.string({ pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/, what: 'a user name or uid' }).optional(),
  /** Group of the file (a name or a gid); default as for owner. */
  group: s.string({ pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/, what: 'a group name or gid' }).optional(),
};

/** How copy and template replace dest: backup, force, follow, createParents (read by destinationOptions). */
export const destinationParams = {
  /** Keep a timestamped copy (`DEST.PID.YYYY-MM-DD@HH:MM:SS~`) of the old file before replacing it. */
  backup: s.boolean().default(false),
  /** Replace an existing file whose content differs (Ansible's `force`); false: only create a missing file. */
  force: s.boolean().default(true),
  /** When dest is a symbolic link, write where it points instead of replacing the link by a file. */
  follow: s.boolean().default(false),
  /** Create dest's missing parent directories instead of failing. */
  createParents: s.boolean().default(false),
};

/** Schema for an absolute path on the host, normalised (see host-path.ts). */
export { hostPath } from './host-path.ts';

/** The parameters copy and template share (dest, attributes, backup, force, follow, createParents) as planFileContent options. */
export interface DestinationParams {
  dest: string;
  mode?: string;
  owner?: string;
  group?: string;
  backup: boolean;
  force: boolean;
  follow: boolean;
  createParents: boolean;
}

/** copy's and template's parameters, with the content they produced, as planFileContent options. */
export function destinationOptions(p: DestinationParams, content: FileContentOptions['content']): FileContentOptions {
  return {
    path: p.dest,
    content,
    mode: p.mode,
    owner: p.owner,
    group: p.group,
    backup: p.backup,
    createParents: p.createParents,
    follow: p.follow,
    onlyIfMissing: !p.force,
  };
}
