/**
 * `planFileContent(options, host)`: "this path must have exactly this content", for any module that writes
 * a whole file (copy, template, sysctl, modprobe, hosts, systemd units, lineinfile). Give it `{ path,
 * content, mode?, owner?, group?, backup?, createParents?, follow? }`; it probes the path once (existence,
 * mode, owner, group, sha256, and the bytes when small enough to show), and returns a Plan:
 *   - nothing to do when content, mode and owner already match;
 *   - a `{kind:'file'}` diff and ONE command that writes atomically (see write-command.ts);
 *   - `{kind:'value'}` diffs and chmod/chown commands when only mode or owner differ.
 * Content may be a string, a Buffer, a ContentSource (a controller file streamed to each host, see
 * runner/content-source.ts) or a Secret; a Secret's content is never fetched from or shown for the host:
 * the diff says "(secret content)". Content is hashed once and shared by every host, never copied per host. A module that already read the file (an editor such as
 * lineinfile needs its text) passes that state as the third argument to save the second probe.
 *
 * @example
 *   return planFileContent({ path: '/etc/modules-load.d/k8s.conf', content: 'br_netfilter\n', mode: '0644' }, host);
 */
import { posix } from 'node:path';
import { ContentSource } from '../../runner/content-source.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { noChange, type Change, type HostContext, type Plan } from '../../runner/module.ts';
import type { Effect } from '../../runner/predicted-state.ts';
import { Secret } from '../../runner/secret.ts';
import { DIFF_CONTENT_LIMIT, readFileState, type FileState } from '../facts/file-state.ts';
import { checkAccountsExist, metadataChanges, metadataEffect, notePredictedMetadata } from './attributes.ts';
import { formatMode, parseMode } from './mode.ts';
import { showable } from './showable.ts';
import { writeCommand } from './write-command.ts';

/** What `planFileContent` needs: the path, its wanted content and, optionally, its metadata. */
export interface FileContentOptions {
  /** Absolute path on the host. */
  path: string;
  /** The exact bytes wanted. A Secret is written but never shown or compared as text. */
  content: string | Buffer | Secret | ContentSource;
  /** Octal permission bits, e.g. "0644"; default: keep the existing file's, or 0666 minus umask for a new file. */
  mode?: string;
  /** User name or uid; default: keep the existing file's, or the connecting (become) user for a new file. */
  owner?: string;
  /** Group name or gid; default as for owner. */
  group?: string;
  /** Keep a timestamped copy of the old file beside it before replacing it. */
  backup?: boolean;
  /** Create missing parent directories (mode from umask) instead of failing. */
  createParents?: boolean;
  /** When the path is a symbolic link: write to where it points (true) or replace the link by a file (false, Ansible's default). */
  follow?: boolean;
  /** Only write when the path does not exist yet (Ansible's `force: no`). */
  onlyIfMissing?: boolean;
}

/** Shown instead of content that came from a secret, before and after. */
export const SECRET_CONTENT = '(secret content)';

/**
 * Plans "this path must have exactly this content". One probe (none when `known` is given), at most one
 * more when an owner or group name must be checked to exist.
 */
export async function planFileContent(options: FileContentOptions, host: HostContext, known?: FileState): Promise<Plan> {
  checkOptions(options);
  const state =
    known ??
    (await readFileState(host, options.path, {
      follow: options.follow,
      content: options.content instanceof Secret ? 'never' : 'small',
    }));
  notePredictedMetadata(options, state, host);
  const plan = planFileContentFrom(options, state);
  if (plan.changes.length > 0) await checkAccountsExist(options, state, host);
  return plan;
}

function checkOptions(options: FileContentOptions): void {
  if (!posix.isAbsolute(options.path)) {
    throw new ModuleError(`path ${JSON.stringify(options.path)} is not absolute`, 'give the full path on the host, starting with /');
  }
  if (options.mode !== undefined) parseMode(options.mode);
}

/** Pure: (wanted content and metadata, probed state) → plan. Exported for table tests. */
export function planFileContentFrom(options: FileContentOptions, state: FileState): Plan {
  const path = state.path;
  if (state.kind === 'directory') {
    throw new ModuleError(`${path} is a directory, not a file`, 'remove it first (file state=absent) or choose another path');
  }
  if (state.kind === 'other') {
    throw new ModuleError(`${path} is a device, FIFO or socket, not a regular file`, 'choose another path');
  }
  if (state.kind !== 'absent' && options.onlyIfMissing) return noChange(`${path} exists; left as it is (force is off)`);
  if (!state.parentExists && !options.createParents) {
    throw new ModuleError(
      `cannot write ${path}: its directory ${posix.dirname(path)} does not exist`,
      'create the directory first (file state=directory) or set createParents',
    );
  }

  const wanted = contentSource(options.content);
  const secret = options.content instanceof Secret;
  const sha256 = wanted.sha256;

  if (state.kind === 'file' && state.sha256 === sha256) {
    const changes = metadataChanges(options, state);
    if (changes.length === 0) return noChange(`${path} already has the wanted content${secret ? '' : ` (${wanted.size} bytes)`}${describeMeta(options)}`);
    return { changes: changes.map((change, index) => (index === 0 ? { ...change, effects: [metadataEffect(options, state)] } : { ...change, effects: [] })) };
  }

  const write = writeCommand(options, state, wanted);
  const action = state.kind === 'absent' ? 'create' : state.kind === 'link' ? 'replace symbolic link' : 'update';
  // A secret's length is a hint about it too: summaries (logged) leave it out.
  const sizes = secret ? 'secret content' : state.kind === 'file' ? `${state.size} → ${wanted.size} bytes` : `${wanted.size} bytes`;
  const parents = state.parentExists ? '' : `, creating ${posix.dirname(path)}`;
  const change: Change = {
    summary: `${action} ${path} (${sizes}${describeMeta(options)}${parents}${options.backup && state.kind === 'file' ? ', with a backup' : ''})`,
    diff: { kind: 'file', path, before: beforeText(state, secret), after: secret ? SECRET_CONTENT : afterText(wanted) },
    commands: [write],
    effects: writtenEffects(options, state, wanted, secret),
  };
  return { changes: [change] };
}

/**
 * What the write leaves, for a dry run's later tasks: the file with the wanted bytes (kept when small and
 * not secret, for a later editor or diff), the asked metadata or the replaced file's, and any parent
 * directories it creates. A new file's mode and owner come from the host's umask and user: not predicted.
 */
function writtenEffects(options: FileContentOptions, state: FileState, wanted: ContentSource, secret: boolean): Effect[] {
  const kept = state.kind === 'file';
  const content = !secret && wanted.bytes && wanted.size <= DIFF_CONTENT_LIMIT ? wanted.bytes : undefined;
  return [
    {
      kind: 'path',
      path: state.path,
      state: {
        kind: 'file',
        sha256: wanted.sha256,
        size: wanted.size,
        ...(content && { content }),
        mode: options.mode !== undefined ? formatMode(options.mode) : kept ? state.mode : undefined,
        owner: options.owner ?? (kept ? state.owner : undefined),
        group: options.group ?? (kept ? state.group : undefined),
      },
    },
  ];
}
/** One source per content, shared by every host: a text or file is converted and hashed once, not per host. */
function contentSource(content: string | Buffer | Secret | ContentSource): ContentSource {
  if (content instanceof ContentSource) return content;
  // A secret is small (one line or a rendered config) and must not outlive the task in a shared cache.
  if (content instanceof Secret) return ContentSource.fromBytes(content.revealBytes());
  return typeof content === 'string' ? ContentSource.fromText(content) : ContentSource.fromBytes(content);
}

/** The wanted content for a diff: itself when small text, else size and the hash already computed. */
function afterText(wanted: ContentSource): string {
  if (wanted.size > DIFF_CONTENT_LIMIT || !wanted.bytes) return `(${wanted.size} bytes, sha256 ${wanted.sha256}; too large to show)`;
  return showable(wanted.bytes);
}

function beforeText(state: FileState, secret: boolean): string | null {
  if (state.kind === 'absent') return null;
  if (state.kind === 'link') return `(symbolic link to ${state.linkTarget ?? '?'})`;
  if (secret) return SECRET_CONTENT;
  if (state.content) return showable(state.content);
  return `(${state.size} bytes, sha256 ${state.sha256}; too large to show)`;
}
function describeMeta(options: FileContentOptions): string {
  const parts: string[] = [];
  if (options.mode !== undefined) parts.push(`mode ${formatMode(options.mode)}`);
  if (options.owner !== undefined) parts.push(`owner ${options.owner}`);
  if (options.group !== undefined) parts.push(`group ${options.group}`);
  return parts.length ? `, ${parts.join(', ')}` : '';
}
