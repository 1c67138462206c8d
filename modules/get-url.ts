/**
 * getUrl: make a file on the host hold what a URL serves, verified by its sha256 — downloaded on the host
 * (curl, wget or python3, whichever it has), or, with `fromController`, once on the controller and pushed
 * to every host (air-gapped sites: only the controller reaches the server).
 *
 * Idempotent by checksum: the probe hashes the existing file; when it already has the asked sha256 nothing
 * is downloaded (only mode/owner/group are put right). Otherwise the download goes to a temp file beside
 * dest, is hashed, and is renamed into place only when the hash is the asked one: a mismatch fails the task
 * with the expected and actual sha256 and leaves the old file as it was. The write is the shared one
 * (modules/lib/write-command.ts): same temp naming, mode, owner, SELinux label, backup, rename.
 *
 * Check mode: nothing is downloaded on the host. With `fromController`, the controller does download
 * (once per run, into a temp directory) — that is what tells the dry run whether the URL and checksum
 * are right — and the plan is the same write as `copy src=`.
 *
 * The URL must be http or https, without credentials in it (they would be logged); it reaches the host
 * only as one quoted shell word, and the downloaders are told to refuse redirects to any other scheme.
 *
 * @example
 *   await t.getUrl('helm', {
 *     url: 'https://get.helm.sh/helm-v3.16.2-linux-amd64.tar.gz',
 *     dest: '/opt/dl/helm.tar.gz',
 *     sha256: '9318379b847e333460d33d291d4c088156299a26cd93d570a7f5d0c36e50b5bb',
 *     mode: '0644',
 *   });
 *   await t.getUrl('CNI plugins (air-gapped)', { url: 'http://mirror.corp/cni.tgz', dest: '/opt/cni.tgz', sha256, fromController: true });
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sh, type Script } from '../runner/command.ts';
import { ContentSource } from '../runner/content-source.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { readFileState, type FileState } from './facts/file-state.ts';
import { checkAccountsExist, metadataChanges, metadataEffect } from './lib/attributes.ts';
import { planFileContentFrom, type FileContentOptions } from './lib/file-content.ts';
import { fileAttributeParams, hostPath } from './lib/file-params.ts';
import { formatMode } from './lib/mode.ts';
import { writeCommand } from './lib/write-command.ts';

/** Why a URL is refused, or undefined when it is an http(s) URL drover will pass on. */
export function urlProblem(text: string): string | undefined {
  if (/[\x00-\x20\x7f]/.test(text)) return 'contains a space or a control character (percent-encode it)';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `has scheme ${url.protocol.replace(/:$/, '')}; only http and https are downloaded`;
  if (url.username || url.password) return 'holds credentials, which would be logged with the task; serve the file without them';
  if (!url.hostname) return 'has no host';
  return undefined;
}

const params = s.object({
  /** http or https URL of the file; no credentials in it, no spaces (percent-encode them). */
  url: s.string({ nonEmpty: true, what: 'an http or https URL' }).refine((text) => {
    const problem = urlProblem(text);
    return problem ? `URL ${JSON.stringify(text)} ${problem}` : undefined;
  }),
  /** Where the file goes on the host (absolute path of the file, not of a directory). */
  dest: hostPath({ file: true }),
  /**
   * The file's sha256 in hex (`sha256sum` prints it; a `sha256:` prefix is accepted). Required: it is what
   * makes a re-run download nothing and what refuses a tampered or truncated file.
   */
  sha256: s.string({ pattern: /^(sha256:)?[0-9a-fA-F]{64}$/, what: 'a sha256 in hex (64 characters)' }),
  /** Download on the controller (once per run, shared by every host) and push the file to each host. */
  fromController: s.boolean().default(false),
  /** Seconds a download may take, on the host or the controller (default 600). */
  timeout: s.int({ min: 1, max: 86_400 }).default(600),
  ...fileAttributeParams,
  /** Create dest's missing parent directories instead of failing. */
  createParents: s.boolean().default(false),
  /** Keep a timestamped copy of the old file before replacing it. */
  backup: s.boolean().default(false),
});

export type GetUrlParams = InputOf<typeof params>;
type Parsed = OutputOf<typeof params>;

export const getUrl = defineModule({
  name: 'getUrl',
  summary: 'Download a URL to a file on the host, sha256-verified and idempotent by checksum (on the host, or once on the controller)',
  params,
  async plan(p, host): Promise<Plan> {
    const sha256 = wantedSha256(p.sha256);
    const state = await readFileState(host, p.dest, { content: 'never' });
    const options = fileOptions(p);
    if (p.fromController && needsContent(state, sha256)) {
      const source = await controllerDownload(p.url, sha256, p.timeout);
      const plan = planFileContentFrom({ ...options, content: source }, state);
      if (plan.changes.length > 0) await checkAccountsExist(options, state, host);
      return plan;
    }
    const plan = planGetUrl(p, state);
    if (plan.changes.length > 0) await checkAccountsExist(options, state, host);
    return plan;
  },
});

function wantedSha256(text: string): string {
  return text.replace(/^sha256:/, '').toLowerCase();
}

function fileOptions(p: Parsed): Omit<FileContentOptions, 'content'> {
  return { path: p.dest, mode: p.mode, owner: p.owner, group: p.group, backup: p.backup, createParents: p.createParents };
}

/** Whether the host's file lacks the wanted bytes (a download is needed). */
function needsContent(state: FileState, sha256: string): boolean {
  return !(state.kind === 'file' && state.sha256 === sha256);
}

/** Pure: the probed state → the plan of a download on the host (or only metadata, or nothing). */
export function planGetUrl(p: Parsed, state: FileState): Plan {
  const sha256 = wantedSha256(p.sha256);
  const path = state.path;
  if (state.kind === 'directory') throw new ModuleError(`${path} is a directory, not a file`, 'give the path of the file to write as dest');
  if (state.kind === 'other') throw new ModuleError(`${path} is a device, FIFO or socket, not a regular file`, 'choose another dest');
  const options = fileOptions(p);
  if (!needsContent(state, sha256)) {
    const changes = metadataChanges(options, state).map((change, index) => ({ ...change, effects: index === 0 ? [metadataEffect(options, state)] : [] }));
    return changes.length ? { changes } : noChange(`${path} already has sha256 ${sha256.slice(0, 12)}…; nothing downloaded`);
  }
  if (!state.parentExists && !p.createParents) {
    throw new ModuleError(
      `cannot write ${path}: its directory ${posix.dirname(path)} does not exist`,
      'create the directory first (file state=directory) or set createParents',
    );
  }
  const action =
    state.kind === 'absent' ? 'download' : state.kind === 'link' ? 'replace symbolic link with download' : 'replace (sha256 differs) with download';
  const meta = [p.mode && `mode ${formatMode(p.mode)}`, p.owner && `owner ${p.owner}`, p.group && `group ${p.group}`].filter(Boolean).join(', ');
  const description = `download ${p.url} to ${path}`;
  const command = writeCommand({ ...options, content: '' }, state, { fill: downloadScript(p.url, sha256, p.timeout, path), description });
  return {
    changes: [
      {
        summary: `${action} ${p.url} → ${path} (sha256 ${sha256.slice(0, 12)}…${meta ? `, ${meta}` : ''})`,
        diff: {
          kind: 'file',
          path,
          before:
            state.kind === 'file'
              ? `(${state.size} bytes, sha256 ${state.sha256})`
              : state.kind === 'link'
                ? `(symbolic link to ${state.linkTarget ?? '?'})`
                : null,
          after: `(download of ${p.url}, sha256 ${sha256})`,
        },
        commands: [{ ...command, timeoutMs: (p.timeout + 60) * 1000 }],
        // The bytes are checked by sha256 but not held: a later task reading them depends on this one.
        effects: [{ kind: 'unknown', domains: ['files'], under: path, what: `the download of ${p.url}` }],
      },
    ],
  };
}

/**
 * Fills "$tmp" (made by the shared write) with the URL's bytes and checks their sha256; a wrong hash or a
 * failed download exits non-zero, so the shared write's trap removes the temp file and the old file stays.
 * The downloader runs in the background and is waited for, as the write's `cat` is, so a TERM stops it.
 * The URL is one quoted word, given after an option or `--`, never where it could be read as an option,
 * and sent as written: curl's `--globoff` keeps it from reading `{…}` and `[…]` as URL ranges to expand.
 */
export function downloadScript(url: string, sha256: string, timeout: number, dest: string): Script {
  return sh`url=${url}
want=${sha256}
if command -v curl >/dev/null 2>&1; then
  curl --globoff --fail --silent --show-error --location --proto '=http,https' --proto-redir '=http,https' --max-time ${timeout} --output "$tmp" --url "$url" &
elif command -v wget >/dev/null 2>&1; then
  wget --quiet --timeout=${timeout} --output-document="$tmp" -- "$url" &
elif command -v python3 >/dev/null 2>&1; then
  python3 -c '
import shutil, sys, urllib.request
class Redirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            raise urllib.error.URLError("redirect to a scheme other than http(s): " + newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)
opener = urllib.request.build_opener(Redirects)
with opener.open(sys.argv[1], timeout=float(sys.argv[3])) as answer, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(answer, out, 65536)
' "$url" "$tmp" ${timeout} &
else
  echo "drover: none of curl, wget or python3 is installed to download "${url}"" >&2
  exit 1
fi
pid=$!
wait "$pid" || { rc=$?; echo "drover: download of "${url}" failed (exit code $rc); nothing was changed" >&2; exit 1; }
pid=
if command -v sha256sum >/dev/null 2>&1; then
  got=$(sha256sum < "$tmp")
else
  got=$(python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$tmp")
fi
got=\${got%% *}
if [ "$got" != "$want" ]; then
  echo "drover: sha256 mismatch for "${url}": expected $want, got $got ($(stat -c %s -- "$tmp") bytes); "${dest}" was left as it was" >&2
  exit 1
fi`;
}

/** Controller downloads of this process (one run), by URL and sha256: 100 hosts share one download. */
const downloads = new Map<string, Promise<ContentSource>>();
let downloadDir: Promise<string> | undefined;

/**
 * The URL fetched once on the controller into a temp file, its sha256 checked, then shared by every host
 * as a streamed ContentSource (as `copy src=`). The temp directory is removed when the process exits.
 */
export function controllerDownload(url: string, sha256: string, timeoutSeconds: number): Promise<ContentSource> {
  const key = `${sha256} ${url}`;
  let known = downloads.get(key);
  if (!known) {
    known = fetchToTemp(url, sha256, timeoutSeconds);
    // A failure is not cached: the next host (or a retry) tries again.
    known.catch(() => downloads.delete(key));
    downloads.set(key, known);
  }
  return known;
}

async function fetchToTemp(url: string, sha256: string, timeoutSeconds: number): Promise<ContentSource> {
  downloadDir ??= mkdtemp(join(tmpdir(), 'drover-get-url-')).then((dir) => {
    // An exit handler runs to its end only what is synchronous: an async rm here never ran, and every
    // run left its downloads (kubeadm's binaries, say) in the controller's temp directory.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  });
  const dir = await downloadDir;
  const final = join(dir, sha256);
  const partial = join(dir, `${sha256}.${randomBytes(6).toString('hex')}.part`);
  let answer: Response;
  try {
    answer = await fetch(url, { signal: AbortSignal.timeout(timeoutSeconds * 1000), redirect: 'follow' });
  } catch (error) {
    throw new ModuleError(
      `could not download ${url} on the controller: ${(error as Error).message}`,
      'check that the controller reaches the URL (proxy, DNS), or raise timeout',
    );
  }
  if (!answer.ok || !answer.body) {
    throw new ModuleError(`could not download ${url} on the controller: HTTP ${answer.status} ${answer.statusText}`, 'check the URL');
  }
  if (urlProblem(answer.url) !== undefined) throw new ModuleError(`${url} redirected to ${answer.url}, which is not an http(s) URL`, 'give the final URL');
  const hash = createHash('sha256');
  try {
    await pipeline(
      Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(partial, { mode: 0o600 }),
    );
  } catch (error) {
    await rm(partial, { force: true });
    throw new ModuleError(`could not download ${url} on the controller: ${(error as Error).message}`, 'check the connection to the server, or raise timeout');
  }
  const got = hash.digest('hex');
  if (got !== sha256) {
    await rm(partial, { force: true });
    throw new ModuleError(
      `sha256 mismatch for ${url} (downloaded on the controller): expected ${sha256}, got ${got}; no host was changed`,
      'check the URL and the sha256 the publisher gives',
    );
  }
  await rename(partial, final);
  return ContentSource.fromFile(final);
}
