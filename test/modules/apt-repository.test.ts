import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptRepository, loadKey, planAptRepository, renderDeb822, renderOneLine, repositoryPaths, type AptRepositoryParams } from '../../modules/apt-repository.ts';
import { parseFileState, type FileState } from '../../modules/facts/file-state.ts';
import { renderCommand } from '../../runner/command.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileStateWith } from '../support/file-state.ts';
import { RecordedHost } from '../support/recorded-host.ts';

function params(input: AptRepositoryParams) {
  return aptRepository.params.parse(input, 'aptRepository');
}

/** A throwaway ed25519 public key made for these tests (gpg --quick-gen-key; the secret half was discarded). */
const KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEawQxsBYJKwYBBAHaRw8BAQdAbDlliXRqWq5PlFuAKXB5YPpw9544eECNdbW1
lOGrIam0LGRyb3ZlciB0ZXN0IHJlcG9zaXRvcnkgPHRlc3RAZHJvdmVyLmludmFs
aWQ+iJAEExYIADgWIQSwBoOrQ6hg/+vcaf+ouRghMg+jPAUCawQxsAIbAwULCQgH
AgYVCgkICwIEFgIDAQIeAQIXgAAKCRCouRghMg+jPLKGAQDrDqTG665HqpgVXnH1
5nxESMYH2Eq8F29EfFoPnQ+QBgD/UKjPFUynYBo6II9iL1NsJ7FLzykYER5u80d9
t27ulwM=
=S7GA
-----END PGP PUBLIC KEY BLOCK-----
`;

const absent = (path: string): FileState => parseFileState(path, 'parent=yes\nkind=absent\n');
const present = (path: string, content: string | Buffer): FileState => fileStateWith(path, content, 'f'.repeat(64));

describe('aptRepository: rendering and keys (pure)', () => {
  it('adds signed-by to a one-line entry, keeping its options', () => {
    expect(renderOneLine('deb https://download.docker.com/linux/debian bookworm stable', '/etc/apt/keyrings/docker.asc')).to.equal('deb [signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian bookworm stable\n');
    expect(renderOneLine('deb [arch=amd64 trusted=no]  http://x  bookworm main', '/k.gpg')).to.equal('deb [arch=amd64 trusted=no signed-by=/k.gpg] http://x  bookworm main\n');
    expect(renderOneLine('  deb http://x ./  ', null)).to.equal('deb http://x ./\n');
  });

  it('renders a deb822 stanza, leaving unset fields out', () => {
    const kubernetes = params({ name: 'kubernetes', uris: ['https://pkgs.k8s.io/core:/stable:/v1.29/deb/'], suites: ['/'] });
    expect(renderDeb822(kubernetes, '/etc/apt/keyrings/kubernetes.asc')).to.equal('Types: deb\nURIs: https://pkgs.k8s.io/core:/stable:/v1.29/deb/\nSuites: /\nSigned-By: /etc/apt/keyrings/kubernetes.asc\n');
    const full = params({ name: 'd', types: ['deb', 'deb-src'], uris: ['http://a', 'http://b'], suites: ['bookworm', 'bookworm-updates'], components: ['main', 'contrib'], architectures: ['amd64'], trusted: true, enabled: false });
    expect(renderDeb822(full, null)).to.equal('Types: deb deb-src\nURIs: http://a http://b\nSuites: bookworm bookworm-updates\nComponents: main contrib\nArchitectures: amd64\nTrusted: yes\nEnabled: no\n');
  });

  it('refuses contradictory or line-breaking parameters', () => {
    expect(() => params({ name: 'x' })).to.throw(SchemaError, /exactly one of repo .* and uris/);
    expect(() => params({ name: 'x', repo: 'deb http://x ./', uris: ['http://x'], suites: ['./'] })).to.throw(SchemaError, /exactly one of repo/);
    expect(() => params({ name: 'x', repo: 'deb http://x ./\ndeb http://evil ./' })).to.throw(SchemaError, /one-line source/);
    expect(() => params({ name: 'x', repo: 'rm -rf / ./' })).to.throw(SchemaError, /one-line source/);
    expect(() => params({ name: 'x', repo: 'deb [signed-by=/k] http://x ./', signedBy: KEY })).to.throw(SchemaError, /either as signed-by= in repo or as signedBy/);
    expect(() => params({ name: 'x', repo: 'deb http://x ./', suites: ['bookworm'] })).to.throw(SchemaError, /go with uris/);
    expect(() => params({ name: 'x', uris: ['http://x'] })).to.throw(SchemaError, /uris need suites/);
    expect(() => params({ name: 'x', uris: ['http://x'], suites: ['./'], components: ['main'] })).to.throw(SchemaError, /takes no components/);
    expect(() => params({ name: 'x', uris: ['http://x'], suites: ['bookworm'] })).to.throw(SchemaError, /need components/);
    expect(() => params({ name: '../x', uris: ['http://x'], suites: ['./'] })).to.throw(SchemaError, /file name/);
    expect(() => params({ name: 'x', uris: ['http://x y'], suites: ['./'] })).to.throw(SchemaError, /URI without spaces/);
    expect(params({ name: 'x', state: 'absent' }).state).to.equal('absent');
  });

  it('loads a key given inline, or from an armored or binary file, and refuses anything else', async () => {
    expect(await loadKey(KEY)).to.deep.equal({ bytes: Buffer.from(KEY), extension: 'asc' });
    const dir = mkdtempSync(join(tmpdir(), 'drover-test-apt-repository-'));
    try {
      writeFileSync(join(dir, 'key.asc'), KEY);
      writeFileSync(join(dir, 'key.gpg'), Buffer.from([0x98, 0x33, 0x04, 0x6b]));
      writeFileSync(join(dir, 'key.txt'), 'not a key');
      expect((await loadKey(join(dir, 'key.asc'))).extension).to.equal('asc');
      expect(await loadKey(join(dir, 'key.gpg'))).to.deep.equal({ bytes: Buffer.from([0x98, 0x33, 0x04, 0x6b]), extension: 'gpg' });
      let error: unknown = await loadKey(join(dir, 'key.txt')).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(ModuleError).with.property('message').that.includes('is not an OpenPGP public key');
      error = await loadKey(join(dir, 'missing.asc')).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(ModuleError).with.property('message').that.includes('cannot read the key file').and.includes('ENOENT');
      error = await loadKey('garbage\nmore garbage').catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(ModuleError).with.property('message').that.includes('neither an armored key');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('aptRepository: planning (recorded host)', () => {
  const paths = repositoryPaths('kubernetes');
  const host = new RecordedHost([]);
  const input: AptRepositoryParams = { name: 'kubernetes', uris: ['https://pkgs.k8s.io/core:/stable:/v1.29/deb/'], suites: ['/'], signedBy: KEY };
  const sources = `Types: deb\nURIs: https://pkgs.k8s.io/core:/stable:/v1.29/deb/\nSuites: /\nSigned-By: ${paths.asc}\n`;
  const states = (overrides: Record<string, FileState> = {}) => new Map([paths.list, paths.sources, paths.asc, paths.gpg].map((path) => [path, overrides[path] ?? absent(path)]));

  it('writes the key, then the source, then refreshes the lists', async () => {
    const plan = await planAptRepository(params(input), states(), await loadKey(KEY), host);
    expect(plan.changes.map((change) => change.summary)).to.deep.equal([
      `create ${paths.asc} (${KEY.length} bytes, mode 0644)`,
      `create ${paths.sources} (${sources.length} bytes, mode 0644)`,
      'refresh the apt package lists (apt-get update)',
    ]);
    expect(plan.changes[1]!.diff).to.deep.equal({ kind: 'file', path: paths.sources, before: null, after: sources });
    expect(renderCommand(plan.changes[2]!.commands[0]!).display).to.include('apt-get update');
    expect(host.probes).to.deep.equal([]);
  });

  it('removes the other format and the other key kind when switching', async () => {
    const plan = await planAptRepository(
      params({ name: 'kubernetes', repo: 'deb https://pkgs.k8s.io/core:/stable:/v1.29/deb/ /', signedBy: KEY, updateCache: false }),
      states({ [paths.sources]: present(paths.sources, sources), [paths.gpg]: present(paths.gpg, Buffer.from([0x99, 1, 2])) }),
      await loadKey(KEY),
      host,
    );
    expect(plan.changes.map((change) => change.summary)).to.deep.equal([
      `create ${paths.asc} (${KEY.length} bytes, mode 0644)`,
      `remove ${paths.gpg}`,
      `create ${paths.list} (${`deb [signed-by=${paths.asc}] https://pkgs.k8s.io/core:/stable:/v1.29/deb/ /\n`.length} bytes, mode 0644)`,
      `remove ${paths.sources}`,
    ]);
    expect(plan.changes[3]!.diff).to.deep.equal({ kind: 'file', path: paths.sources, before: sources, after: null });
  });

  it('removes every file of the source when absent, and nothing twice', async () => {
    const plan = await planAptRepository(params({ name: 'kubernetes', state: 'absent' }), states({ [paths.list]: present(paths.list, 'deb http://x ./\n'), [paths.asc]: present(paths.asc, KEY) }), null, host);
    expect(plan.changes.map((change) => change.summary)).to.deep.equal([`remove ${paths.list}`, `remove ${paths.asc}`, 'refresh the apt package lists (apt-get update)']);
    const none = await planAptRepository(params({ name: 'kubernetes', state: 'absent' }), states(), null, host);
    expect(none.reason).to.equal('no files of source kubernetes exist');
  });
});
