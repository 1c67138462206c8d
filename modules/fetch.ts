/**
 * fetch: copy a file from each host to the controller, into `dest/<host>/<path on the host>` (one
 * directory per host), or with `flat` to `dest` itself. The file is streamed to the controller (never
 * whole in memory), checked against the sha256 read on the host, and renamed into place only when it
 * matches. Idempotent by checksum: when the controller's copy already has the host file's sha256 nothing
 * is copied and the task is ok. Check mode reports what would be copied and writes nothing.
 *
 * @example
 *   await t.fetch('admin kubeconfig', { src: '/etc/kubernetes/admin.conf', dest: 'fetched' });
 *   // → fetched/cp-1/etc/kubernetes/admin.conf on the controller (relative to the working directory)
 *   await t.fetch('CA', { src: '/etc/kubernetes/pki/ca.crt', dest: 'out/ca.crt', flat: true });
 *
 * The copy gets mode 0644, or 0600 when the file on the host is not readable by everyone (a key stays
 * private on the controller too). A symbolic link at `src` is followed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { sh, type Script } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type HostContext, type Plan } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { hostPath } from './lib/file-params.ts';
import { predictedRead, type PredictedReadState } from './lib/predicted-read.ts';
import { field, parseFieldLines } from './lib/probe-output.ts';

/** What a fetch task returns to the playbook. */
export interface FetchValue {
  /** Where the copy is on the controller (absolute). */
  dest: string;
  sha256: string;
  size: number;
}

const params = s.object({
  /** The file on the host (absolute; a link is followed). */
  src: hostPath(),
  /** On the controller: the directory that gets one directory per host, or with `flat` the file itself (a `dest` ending in `/` then gets src's file name). Relative to the working directory. */
  dest: s.string({ nonEmpty: true, what: 'a path on the controller' }),
  /** Store the file at `dest` itself instead of `dest/<host>/<src>`; with several hosts they would overwrite each other. */
  flat: s.boolean().default(false),
  /** A missing src fails the task (default); false: the task is ok and copies nothing. */
  failOnMissing: s.boolean().default(true),
});

export type FetchParams = InputOf<typeof params>;

/** Named fetchModule in code so that it does not hide the global `fetch`; `t.fetch` in playbooks. */
export const fetchModule = defineModule({
  name: 'fetch',
  summary: 'Copy a file from each host to the controller (dest/<host>/<path>, or flat), streamed and sha256-checked; idempotent',
  params,
  async plan(p, host): Promise<Plan<FetchValue>> {
    const src = p.src; // normalised by the hostPath schema
    const dest = controllerPath(p.dest, src, host.name, p.flat);
    const { lookup, predicted } = predictedRead(host, src);
    const found = predicted ? fetchPredicted(src, host, predicted.state, predicted.by) : await probeFetch(host, src, lookup);
    if (found === 'absent') {
      if (p.failOnMissing) throw new ModuleError(`no file at ${src} on ${host.name}`, 'check the path, or set failOnMissing: false to skip hosts without it');
      return noChange(`${src} does not exist on ${host.name}: nothing fetched`);
    }
    const value: FetchValue = { dest, sha256: found.sha256, size: found.size };
    const current = await controllerSha256(dest);
    if (current === found.sha256) return { changes: [], reason: `${dest} is up to date (sha256 ${found.sha256.slice(0, 12)}…)`, value };
    return {
      changes: [
        {
          summary: `fetch ${src} to ${dest}`,
          // Writes on the controller only: the host is as it was.
          effects: [],
          diff: { kind: 'value', name: `${dest} sha256`, before: current, after: found.sha256 },
          commands: [
            {
              run: sh`exec cat < ${src}`,
              description: `fetch ${src} to ${dest}`,
              stdoutTo: { path: dest, sha256: found.sha256, mode: found.worldReadable ? 0o644 : 0o600 },
            },
          ],
        },
      ],
      value,
    };
  },
});

/**
 * Where the copy goes on the controller. The host's inventory name becomes a directory, so a name that
 * could climb out of `dest` (`..`, a `/`) is refused; src is absolute and normalised, and its `..`
 * components are refused too, so it cannot climb out of the host's directory.
 */
export function controllerPath(dest: string, src: string, hostName: string, flat: boolean): string {
  if (flat) return dest.endsWith('/') ? resolve(dest, basename(src)) : resolve(dest);
  if (hostName === '' || hostName === '.' || hostName === '..' || hostName.includes('/') || hostName.includes('\0')) {
    throw new ModuleError(
      `host name ${JSON.stringify(hostName)} cannot be a directory name under ${dest}`,
      'rename the host in the inventory, or use flat with a dest per host',
    );
  }
  if (src.split('/').includes('..'))
    throw new ModuleError(`src ${src} has a ".." component: its place under ${dest}/${hostName} would be ambiguous`, 'give the path without ".."');
  return resolve(dest, hostName, `.${src}`);
}

/** One probe: is src a regular file (links followed), its size, whether everyone may read it, its sha256. */
export function fetchProbe(src: string): Script {
  return sh`p=${src}
if [ ! -e "$p" ]; then echo kind=absent; exit 0; fi
if [ ! -f "$p" ]; then echo kind=other; exit 0; fi
echo kind=file
echo "stat=$(stat -L -c '%s %a' -- "$p")"
echo "sha256=$(sha256sum < "$p" | cut -d' ' -f1)"
`;
}

async function probeFetch(host: HostContext, src: string, lookup: string): Promise<ReturnType<typeof parseFetchProbe>> {
  const output = await host.probe(fetchProbe(lookup));
  return parseFetchProbe(src, host.name, output.stdout, output.exitCode, output.stderr);
}

/** In a dry run, the file an earlier task would leave (predicted-read.ts): its hash and size are known. */
function fetchPredicted(src: string, host: HostContext, state: PredictedReadState, by: string): ReturnType<typeof parseFetchProbe> {
  if (state.kind === 'absent') return 'absent';
  if (state.kind === 'directory') {
    throw new ModuleError(`${src} on ${host.name} is not a regular file once "${by}" has run`, 'fetch copies one file; for a directory, make an archive first');
  }
  // Readability decides the copy's mode on the controller. A new file written without a mode gets the
  // host's umask, which no prediction gives: the copy's mode is then not known, and the task says so.
  if (state.mode === undefined) host.predicted.dependsOn(by, `the mode of ${src}`);
  const worldReadable = state.mode !== undefined && (Number.parseInt(state.mode, 8) & 0o004) !== 0;
  return { size: state.size, sha256: state.sha256, worldReadable };
}

/** Pure: the probe's output → the file's size, sha256 and readability, or 'absent'. */
export function parseFetchProbe(
  src: string,
  hostName: string,
  stdout: string,
  exitCode: number,
  stderr: string,
): 'absent' | { size: number; sha256: string; worldReadable: boolean } {
  const fields = parseFieldLines(stdout);
  const kind = field(fields, 'kind');
  if (kind === 'absent') return 'absent';
  if (kind === 'other') throw new ModuleError(`${src} on ${hostName} is not a regular file`, 'fetch copies one file; for a directory, make an archive first');
  const stat = /^(\d+) ([0-7]+)$/.exec(field(fields, 'stat') ?? '');
  const sha256 = field(fields, 'sha256') ?? '';
  if (exitCode !== 0 || kind !== 'file' || !stat || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new ModuleError(
      `could not read ${src} on ${hostName}: ${stderr.trim() || JSON.stringify(stdout.slice(0, 200))}`,
      'check that the file is readable by the connecting user, or use become',
    );
  }
  return { size: Number(stat[1]), sha256, worldReadable: (Number.parseInt(stat[2]!, 8) & 0o004) !== 0 };
}

/** sha256 of the controller's copy, streamed; null when there is none. A directory in its place fails. */
async function controllerSha256(path: string): Promise<string | null> {
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
    throw new ModuleError(`cannot read ${path} on the controller: ${error.message}`);
  });
  if (found === null) return null;
  if (!found.isFile()) throw new ModuleError(`${path} on the controller is not a regular file`, 'remove it or choose another dest');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
