/**
 * The file-state probe run for real: through /bin/sh (dash on Debian) and bash (/bin/sh on RHEL), with the
 * transport's strict prelude, against files made here. What it reports is compared with what Node sees of
 * the same files, so the shell expansions that replaced dirname, a second stat and cut (issue 13) are held
 * to the answers those programs gave, including at the edges: the root, trailing and doubled slashes,
 * links followed or not, and names with blanks and newlines.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileStateScript, parseFileState, readFactAndFileState, readFileState, type FileStateOptions } from '../../../modules/facts/file-state.ts';
import { sysctlValues } from '../../../modules/facts/sysctl-values.ts';
import { STRICT_PRELUDE, type Script, sh } from '../../../runner/command.ts';
import { type Fact, FactError } from '../../../runner/facts.ts';
import { ModuleError } from '../../../runner/module-error.ts';
import type { HostContext } from '../../../runner/module.ts';
import { NOTHING_PREDICTED } from '../../../runner/predicted-state.ts';
import { RecordedHost } from '../../support/recorded-host.ts';

const SHELLS = ['/bin/sh', '/bin/bash'].filter((shell) => existsSync(shell));

function probe(shell: string, path: string, options: FileStateOptions = {}): { exitCode: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(shell, ['-c', STRICT_PRELUDE + fileStateScript(path, options).text], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { exitCode: 0, stdout, stderr: '' };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { exitCode: failed.status, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** dirname's answer for an absolute path: trailing slashes dropped, then the last component, "/" at the top. */
function parentOf(path: string): string {
  const trimmed = path.replace(/(.)\/+$/, '$1');
  return posix.dirname(trimmed);
}

describe('facts: file-state probe, run by real shells against real files', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-file-state-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'f'), 'hello\n');
    writeFileSync(join(dir, 'blank name'), 'a b');
    writeFileSync(join(dir, 'new\nline'), 'x');
    writeFileSync(join(dir, 'big'), Buffer.alloc(5000, 7));
    symlinkSync('sub/f', join(dir, 'link'));
    symlinkSync('nowhere', join(dir, 'dangling'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const shell of SHELLS) {
    describe(shell, () => {
      const cases = (): string[] => [
        '/',
        dir,
        `${dir}/`,
        `${dir}//`,
        join(dir, 'sub', 'f'),
        `${dir}//sub//f`,
        `${dir}/sub/`,
        join(dir, 'blank name'),
        join(dir, 'new\nline'),
        join(dir, 'big'),
        join(dir, 'fifo'),
        join(dir, 'absent'),
        join(dir, 'no', 'such', 'parent'),
        `${dir}/sub/f/`,
      ];

      it('kind, parent, mode, owner, size, sha256 and content agree with the files', () => {
        for (const path of cases()) {
          const output = probe(shell, path);
          expect(output.exitCode, `${path}: ${output.stderr}`).to.equal(0);
          const state = parseFileState(path, output.stdout);
          expect(state.parentExists, `parent of ${JSON.stringify(path)}`).to.equal(existsSync(parentOf(path)));
          const seen = (() => {
            try {
              return lstatSync(path);
            } catch {
              return undefined;
            }
          })();
          const kind = !seen ? 'absent' : seen.isSymbolicLink() ? 'link' : seen.isFile() ? 'file' : seen.isDirectory() ? 'directory' : 'other';
          expect(state.kind, JSON.stringify(path)).to.equal(kind);
          if (seen && (kind === 'file' || kind === 'directory')) {
            expect(state.mode, path).to.equal((seen.mode & 0o7777).toString(8));
            expect(state.uid, path).to.equal(seen.uid);
          }
          if (kind === 'file') {
            const bytes = readFileSync(path);
            expect(state.size, path).to.equal(bytes.length);
            expect(state.sha256, path).to.equal(createHash('sha256').update(bytes).digest('hex'));
            expect(state.content?.equals(bytes), `content of ${path}`).to.equal(true);
          }
        }
      });

      it('links: described as links, or followed to what they resolve to', () => {
        const link = parseFileState(join(dir, 'link'), probe(shell, join(dir, 'link')).stdout);
        expect(link).to.include({ kind: 'link', linkTarget: 'sub/f', resolved: false });
        const followed = parseFileState(join(dir, 'link'), probe(shell, join(dir, 'link'), { follow: true }).stdout);
        expect(followed).to.include({ kind: 'file', path: join(dir, 'sub', 'f'), resolved: true, size: 6, parentExists: true });
        const dangling = parseFileState(join(dir, 'dangling'), probe(shell, join(dir, 'dangling'), { follow: true }).stdout);
        expect(dangling).to.include({ kind: 'absent', path: join(dir, 'nowhere'), parentExists: true });
      });

      it('content is fetched within the size limit only; the size decides it', () => {
        const big = join(dir, 'big');
        expect(parseFileState(big, probe(shell, big, { maxBytes: 4999 }).stdout).content).to.equal(undefined);
        expect(parseFileState(big, probe(shell, big, { maxBytes: 5000 }).stdout).content?.length).to.equal(5000);
        expect(parseFileState(big, probe(shell, big, { content: 'never' }).stdout).content).to.equal(undefined);
        expect(parseFileState(big, probe(shell, big, { content: 'always', maxBytes: 1 }).stdout).content?.length).to.equal(5000);
      });

      it('reads a file once: its bytes when fetched (the controller hashes them), else sha256sum', () => {
        const big = join(dir, 'big');
        const fetched = probe(shell, big).stdout;
        expect(fetched)
          .to.match(/^content=/m)
          .and.not.match(/^sha256=/m);
        const hashed = probe(shell, big, { maxBytes: 4999 }).stdout;
        expect(hashed)
          .to.match(/^sha256=[0-9a-f]{64}$/m)
          .and.not.match(/^content=/m);
        expect(parseFileState(big, fetched).sha256).to.equal(parseFileState(big, hashed).sha256);
      });
    });
  }

  it('owner and group names arrive as the host has them, backslashes too (dash’s echo would read \\c as "stop here")', () => {
    const fakes = mkdtempSync(join(tmpdir(), 'drover-fake-stat-'));
    try {
      // A stat that answers for a directory service's names, as sssd or winbind users look.
      writeFileSync(join(fakes, 'stat'), "#!/bin/sh\nprintf '%s\\n' '640 1000 1000 6 DOM\\cuser DOM\\nadmins'\n", { mode: 0o755 });
      for (const shell of SHELLS) {
        for (const path of [join(dir, 'sub', 'f'), join(dir, 'sub')]) {
          const stdout = execFileSync(shell, ['-c', STRICT_PRELUDE + fileStateScript(path).text], { encoding: 'utf8', env: { ...process.env, PATH: `${fakes}:${process.env.PATH}` } });
          expect(parseFileState(path, stdout), `${shell} ${path}`).to.include({ owner: 'DOM\\cuser', group: 'DOM\\nadmins', mode: '640' });
        }
      }
    } finally {
      rmSync(fakes, { recursive: true, force: true });
    }
  });

  it('a file the probe cannot read stops it with the shell’s own message, not a half answer', function () {
    if (process.getuid?.() !== 0) this.skip();
    // The directory can be searched by anyone; only the file is closed.
    chmodSync(dir, 0o755);
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'x', { mode: 0o600 });
    const output = (() => {
      try {
        execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/sh', '-c', STRICT_PRELUDE + fileStateScript(secret).text], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        return { exitCode: 0, stderr: '' };
      } catch (error) {
        return error as { status: number; stderr: string };
      }
    })();
    expect('status' in output ? output.status : 0).to.not.equal(0);
    expect(output.stderr).to.match(/Permission denied/);
    expect(statSync(secret).size).to.equal(1);
  });
});

/** A host that is this machine, read-only: each probe runs in `shell` with the transport's strict prelude. */
function shellHost(shell: string): HostContext & { probes: number } {
  const host = {
    name: 'local-shell',
    vars: {},
    predicted: NOTHING_PREDICTED,
    probes: 0,
    fact: async <T>(fact: Fact<T>): Promise<T> => fact.parse(await host.probe(fact.script)),
    probe: async (script: Script) => {
      host.probes++;
      const result = spawnSync(shell, ['-c', STRICT_PRELUDE + script.text], { encoding: 'utf8' });
      return { exitCode: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
    },
  };
  return host;
}

describe('facts: a fact and a file read in one probe (readFactAndFileState), run by real shells', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-fact-and-file-'));
    writeFileSync(join(dir, 'k.conf'), 'net.ipv4.ip_forward = 1\n');
    symlinkSync('k.conf', join(dir, 'link'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A fact whose output is exactly `stdout`, whatever it ends with. */
  const echoFact = (stdout: string, status = 0): Fact<string> => ({
    key: `echo:${stdout}`,
    script: sh`printf '%s' ${stdout}; if [ ${String(status)} != 0 ]; then echo "fact part failed" >&2; exit ${String(status)}; fi`,
    parse: (output) => {
      if (output.exitCode !== 0) throw new FactError('echo', `the probe failed (exit ${output.exitCode}): ${output.stderr.trim()}`);
      return output.stdout;
    },
  });

  for (const shell of SHELLS) {
    it(`answers what the fact and the file read alone answer, in one probe (${shell})`, async () => {
      const paths = ['net/ipv4/ip_forward', 'net/ipv4/nope'];
      const alone = shellHost(shell);
      const liveAlone = await alone.fact(sysctlValues(paths));
      const fileAlone = await readFileState(alone, join(dir, 'link'), { content: 'always', follow: true });
      const together = shellHost(shell);
      const [live, file] = await readFactAndFileState(together, sysctlValues(paths), join(dir, 'link'), { content: 'always', follow: true });
      expect(together.probes).to.equal(1);
      expect(live).to.deep.equal(liveAlone);
      expect(file).to.deep.equal(fileAlone);
      expect(file).to.include({ kind: 'file', path: join(dir, 'k.conf'), resolved: true });
    });

    it(`gives the fact its output exactly, with or without a last newline (${shell})`, async () => {
      for (const stdout of ['a=1\nb=2\n', 'a=1', '', '\n\n']) {
        const [value, file] = await readFactAndFileState(shellHost(shell), echoFact(stdout), join(dir, 'k.conf'));
        expect(value, JSON.stringify(stdout)).to.equal(stdout);
        expect(file.size).to.equal(24);
      }
    });

    it(`a fact part that fails is the fact's error, with its status and stderr (${shell})`, async () => {
      const error = await readFactAndFileState(shellHost(shell), echoFact('a=1\n', 3), join(dir, 'k.conf')).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(FactError);
      expect((error as Error).message).to.equal('fact echo: the probe failed (exit 3): fact part failed');
    });
  }

  for (const shell of SHELLS) {
    it(`refuses to follow a loop of links, which a writer used to replace with a file; follows a link into a missing directory (${shell})`, async () => {
      symlinkSync('loop-b', join(dir, 'loop-a'));
      symlinkSync('loop-a', join(dir, 'loop-b'));
      symlinkSync('/nonexistent-drover-dir/target', join(dir, 'far'));
      try {
        const error = await readFileState(shellHost(shell), join(dir, 'loop-a'), { content: 'always', follow: true }).catch((caught: unknown) => caught);
        expect(error).to.be.instanceOf(ModuleError);
        expect((error as Error).message).to.equal(`${join(dir, 'loop-a')} on local-shell is a symbolic link that cannot be followed (a loop of links): nothing was written through it`);
        // Without follow it is the link itself, as before.
        expect(await readFileState(shellHost(shell), join(dir, 'loop-a'), { follow: false })).to.include({ kind: 'link', resolved: false });
        // Where the link leads, though its directory does not exist (as Ansible's realpath): a writer then says
        // the directory is missing, and `file state=directory` makes it. It was described as the link itself.
        const far = await readFileState(shellHost(shell), join(dir, 'far'), { content: 'always', follow: true });
        expect(far).to.include({ kind: 'absent', path: '/nonexistent-drover-dir/target', resolved: true, parentExists: false });
      } finally {
        for (const name of ['loop-a', 'loop-b', 'far']) rmSync(join(dir, name));
      }
    });
  }

  it('a file part that fails is the file’s error, naming the path and the host', async () => {
    const host = new RecordedHost([
      { match: 'tool=', output: { stdout: 'tool=yes\n' } },
      { match: 'sha256sum', output: { exitCode: 1, stderr: 'stat: cannot statx: Input/output error\n' } },
    ]);
    const error = await readFactAndFileState(host, sysctlValues([]), '/etc/sysctl.d/k.conf').catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as Error).message).to.equal('cannot read /etc/sysctl.d/k.conf on recorded (exit 1): stat: cannot statx: Input/output error');
  });
});
