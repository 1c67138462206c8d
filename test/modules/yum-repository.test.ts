import { expect } from 'chai';
import { parseRepoFile, planRepoFile, renderRepoSection, updateRepoFile, yumRepository, type YumRepositoryParams } from '../../modules/yum-repository.ts';
import { parseFileState, type FileState } from '../../modules/facts/file-state.ts';
import { renderCommand } from '../../runner/command.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileStateWith } from '../support/file-state.ts';
import { RecordedHost } from '../support/recorded-host.ts';

function params(input: YumRepositoryParams) {
  return yumRepository.params.parse(input, 'yumRepository');
}

/** The reference's kubernetes.repo (k8s-node-prep.md, step 9), as the module renders it. */
const KUBERNETES = `[kubernetes]
name=Kubernetes
baseurl=https://mirror.example/kubernetes/yum/repos/kubernetes-el7-x86_64
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=https://mirror.example/yum-key.gpg https://mirror.example/rpm-package-key.gpg
exclude=kube*
`;

const KUBERNETES_PARAMS: YumRepositoryParams = {
  name: 'kubernetes',
  description: 'Kubernetes',
  baseurl: ['https://mirror.example/kubernetes/yum/repos/kubernetes-el7-x86_64'],
  gpgcheck: true,
  repoGpgcheck: true,
  gpgkey: ['https://mirror.example/yum-key.gpg', 'https://mirror.example/rpm-package-key.gpg'],
  exclude: ['kube*'],
};

function fileState(path: string, content: string | null): FileState {
  if (content === null) return parseFileState(path, 'parent=yes\nkind=absent\n');
  return fileStateWith(path, content, 'x'.repeat(64));
}

describe('yumRepository: rendering (pure)', () => {
  it('renders the reference kubernetes.repo byte for byte', () => {
    expect(renderRepoSection(params(KUBERNETES_PARAMS))).to.equal(KUBERNETES);
  });

  it('renders every key in a fixed order, booleans as 1/0, unset ones left out', () => {
    const text = renderRepoSection(
      params({
        name: 'lab',
        mirrorlist: 'https://mirrors.example/?repo=$releasever&arch=$basearch',
        enabled: false,
        includepkgs: ['containerd*', 'runc'],
        priority: 10,
        sslverify: false,
        skipIfUnavailable: true,
        metadataExpire: '6h',
        moduleHotfixes: true,
      }),
    );
    expect(text).to.equal(
      '[lab]\nname=lab\nmirrorlist=https://mirrors.example/?repo=$releasever&arch=$basearch\nenabled=0\nincludepkgs=containerd* runc\npriority=10\nsslverify=0\nskip_if_unavailable=1\nmetadata_expire=6h\nmodule_hotfixes=1\n',
    );
  });

  it('refuses values that would break out of their line, and incomplete repositories', () => {
    expect(() => params({ ...KUBERNETES_PARAMS, description: 'Kubernetes\n[evil]\nbaseurl=http://evil' })).to.throw(SchemaError, /one line of text/);
    expect(() => params({ ...KUBERNETES_PARAMS, baseurl: ['http://a b'] })).to.throw(SchemaError, /URL without spaces/);
    expect(() => params({ ...KUBERNETES_PARAMS, name: 'kube]\n[x' })).to.throw(SchemaError, /repository id/);
    expect(() => params({ ...KUBERNETES_PARAMS, file: '../../etc/passwd' })).to.throw(SchemaError, /file name without \//);
    expect(() => params({ name: 'x' })).to.throw(SchemaError, /needs baseurl, mirrorlist or metalink/);
    expect(params({ name: 'x', state: 'absent' }).state).to.equal('absent');
    expect(params({ name: 'x', baseurl: ['file:///srv'], repo_gpgcheck: false } as YumRepositoryParams).repoGpgcheck).to.equal(false);
  });
});

describe('yumRepository: editing a file with several sections (pure)', () => {
  const FILE = `# Managed by hand
[base]
name=Base
baseurl=http://base

# the kubernetes repository
[kubernetes]
name=old
baseurl=http://old

# extras follow
[extras]
name=Extras
baseurl=http://extras
`;

  it('replaces only its section, keeping the others and their comments', () => {
    expect(updateRepoFile(FILE, 'kubernetes', '[kubernetes]\nname=new\nbaseurl=http://new\n')).to.equal(FILE.replace('name=old\nbaseurl=http://old', 'name=new\nbaseurl=http://new'));
  });

  it('appends a new section after a blank line, and creates a file from nothing', () => {
    expect(updateRepoFile('[base]\nname=Base\n', 'k', '[k]\nname=k\n')).to.equal('[base]\nname=Base\n\n[k]\nname=k\n');
    expect(updateRepoFile('', 'k', '[k]\nname=k\n')).to.equal('[k]\nname=k\n');
  });

  it('removes its section, keeping the comment that introduces the next one', () => {
    const removed = updateRepoFile(FILE, 'kubernetes', null);
    expect(removed).to.equal(`# Managed by hand
[base]
name=Base
baseurl=http://base

# extras follow
[extras]
name=Extras
baseurl=http://extras
`);
    expect(parseRepoFile(removed).sections.map((section) => section.id)).to.deep.equal(['base', 'extras']);
    expect(updateRepoFile(FILE, 'missing', null)).to.equal(FILE);
  });
});

describe('yumRepository: planning (recorded host)', () => {
  const path = '/etc/yum.repos.d/kubernetes.repo';
  const host = new RecordedHost([]);

  it('creates a new file with mode 0644', async () => {
    const plan = await planRepoFile(params(KUBERNETES_PARAMS), fileState(path, null), host);
    expect(plan.changes).to.have.length(1);
    expect(plan.changes[0]!.diff).to.deep.equal({ kind: 'file', path, before: null, after: KUBERNETES });
    expect(renderCommand(plan.changes[0]!.commands[0]!).display).to.include('chmod 0644 -- "$tmp"');
  });

  it('changes nothing when the file is as rendered, and rewrites only what differs', async () => {
    const same = { ...fileState(path, KUBERNETES) };
    const { createHash } = await import('node:crypto');
    same.sha256 = createHash('sha256').update(KUBERNETES).digest('hex');
    expect((await planRepoFile(params(KUBERNETES_PARAMS), same, host)).changes).to.deep.equal([]);
    const old = KUBERNETES.replace('exclude=kube*\n', '');
    const plan = await planRepoFile(params(KUBERNETES_PARAMS), fileState(path, old), host);
    expect(plan.changes[0]!.diff).to.deep.equal({ kind: 'file', path, before: old, after: KUBERNETES });
  });

  it('removes the file with its last section, and nothing when absent', async () => {
    const plan = await planRepoFile(params({ name: 'kubernetes', state: 'absent' }), fileState(path, KUBERNETES), host);
    expect(plan.changes.map((change) => change.summary)).to.deep.equal([`remove ${path} (its last section was [kubernetes])`]);
    expect(renderCommand(plan.changes[0]!.commands[0]!).display).to.equal(`rm -f -- ${path}`);
    expect((await planRepoFile(params({ name: 'kubernetes', state: 'absent' }), fileState(path, null), host)).reason).to.equal(`${path} does not exist`);
  });
});
