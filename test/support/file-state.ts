/**
 * FileState values (modules/facts/file-state.ts) for planners that take the state as an argument rather
 * than probing for it: what the parsed probe would give for a root-owned 0644 file, or for no file.
 */
import { createHash } from 'node:crypto';
import type { FileState } from '../../modules/facts/file-state.ts';

/** No file at `path`, in an existing directory. */
export function absentFileState(path: string): FileState {
  return { path, resolved: false, kind: 'absent', parentExists: true };
}

/**
 * A regular file at `path` holding `content`, mode 644, owned by root. `sha256` defaults to the content's
 * real hash. A placeholder that no content hashes to is not the same input: planFileContent compares
 * hashes, so with one the file never counts as already written (the repository tests rely on that).
 */
export function fileStateWith(path: string, content: string | Buffer, sha256?: string): FileState {
  const bytes = Buffer.from(content);
  return {
    path,
    resolved: false,
    kind: 'file',
    parentExists: true,
    mode: '644',
    uid: 0,
    gid: 0,
    owner: 'root',
    group: 'root',
    size: bytes.length,
    sha256: sha256 ?? createHash('sha256').update(bytes).digest('hex'),
    content: bytes,
  };
}
