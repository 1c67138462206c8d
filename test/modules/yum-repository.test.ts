import { expect } from 'chai';
import { parseRepoFile, planRepoFile, renderRepoSection, updateRepoFile, yumRepository, type YumRepositoryParams } from '../../modules/yum-repository.ts';
import { parseFileState, type FileState } from '../../modules/facts/file-state.ts';
import { renderCommand } from '../../runner/command.ts';
import { SchemaError } from '../../runner/schema.ts';
import { executedCount } from '../support/executed.ts';
import { fileStateWith } from '../support/file-state.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

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
    expect(renderCommand(plan.changes[0]!.commands[0]!).display).to.include("chmod 0644 -- \"$tmp\"");
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

describe('yumRepository on a lab host', function () {
  this.timeout(180_000);
  const DIR = '/etc/yum.repos.d';
  const NAME = 'drover-test-yumrepo';
  const PATH = `${DIR}/${NAME}.repo`;
  const PWNED = '/tmp/drover-test-yumrepo-pwned';
  let target: LabTarget;

  const read = async (): Promise<string> => (await onHost(target, `cat ${PATH} 2>/dev/null || echo '(absent)'`)).stdout;

  before(async function () {
    const targets = await labTargets(this, 3);
    target = targets[Math.min(2, targets.length - 1)]!;
    await onHost(target, `rm -f ${DIR}/drover-test-yumrepo*.repo ${PWNED}`);
  });
  after(async () => {
    if (target) await onHost(target, `rm -f ${DIR}/drover-test-yumrepo*.repo ${PWNED}`);
  });

  it('writes the file, dnf reads it, a re-run and check mode change nothing', async () => {
    const input: YumRepositoryParams = { name: NAME, description: 'drover test', baseurl: ['file:///srv/drover-rpm'], gpgcheck: false, exclude: ['kube*'], enabled: false };
    const first = await applyModule(target, yumRepository, input);
    expect(first.status, first.msg).to.equal('changed');
    const text = await read();
    expect(text).to.equal(`[${NAME}]\nname=drover test\nbaseurl=file:///srv/drover-rpm\nenabled=0\ngpgcheck=0\nexclude=kube*\n`);
    expect((await onHost(target, `stat -c %a ${PATH}`)).stdout.trim()).to.equal('644');
    const repolist = await onHost(target, 'dnf -q repolist --all 2>/dev/null');
    expect(repolist.stdout).to.match(new RegExp(`^${NAME}\\s+drover test\\s+disabled$`, 'm'));

    const again = await applyModule(target, yumRepository, input);
    expect(again.status, again.msg).to.equal('ok');
    expect(executedCount(again)).to.equal(0);

    const check = await applyModule(target, yumRepository, { ...input, enabled: true }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([{ kind: 'file', path: PATH, before: text, after: text.replace('enabled=0', 'enabled=1') }]);
    expect(executedCount(check)).to.equal(0);
    expect(await read()).to.equal(text);
  });

  it('keeps other sections of a shared file, and removes the file with the last one', async () => {
    const shared = `${DIR}/drover-test-yumrepo-shared.repo`;
    await onHost(target, `printf '# hand-written\\n[other]\\nname=Other\\nbaseurl=file:///nowhere\\nenabled=0\\n' > ${shared}`);
    const added = await applyModule(target, yumRepository, { name: NAME, file: 'drover-test-yumrepo-shared', baseurl: ['file:///srv/drover-rpm'], enabled: false });
    expect(added.status, added.msg).to.equal('changed');
    expect((await onHost(target, `cat ${shared}`)).stdout).to.equal(`# hand-written\n[other]\nname=Other\nbaseurl=file:///nowhere\nenabled=0\n\n[${NAME}]\nname=${NAME}\nbaseurl=file:///srv/drover-rpm\nenabled=0\n`);
    const removed = await applyModule(target, yumRepository, { name: NAME, file: 'drover-test-yumrepo-shared', state: 'absent' });
    expect(removed.status, removed.msg).to.equal('changed');
    expect((await onHost(target, `cat ${shared}`)).stdout).to.equal('# hand-written\n[other]\nname=Other\nbaseurl=file:///nowhere\nenabled=0\n');
    const other = await applyModule(target, yumRepository, { name: 'other', file: 'drover-test-yumrepo-shared', state: 'absent' });
    expect(other.status, other.msg).to.equal('changed');
    expect((await onHost(target, `test -e ${shared} && echo present || echo absent`)).stdout.trim()).to.equal('absent');
    const gone = await applyModule(target, yumRepository, { name: 'other', file: 'drover-test-yumrepo-shared', state: 'absent' });
    expect(gone.status).to.equal('ok');
  });

  it('check mode predicts exactly what a real run then does (seeded sample)', async () => {
    const random = seededBelow(20260523);
    const outcomes = new Set<string>();
    let previous: YumRepositoryParams | undefined;
    for (let round = 0; round < 6; round++) {
      const fresh: YumRepositoryParams = {
        name: NAME,
        baseurl: [['file:///srv/drover-rpm', 'http://mirror.invalid/$releasever/'][random(2)]!],
        enabled: random(2) === 0,
        ...(random(2) ? { gpgcheck: random(2) === 0 } : {}),
        ...(random(2) ? { exclude: ['kube*', 'cri-tools'].slice(0, 1 + random(2)) } : {}),
        ...(random(3) === 0 ? { state: 'absent' as const } : {}),
      };
      // A third of the rounds repeat the previous parameters, so rounds with nothing to change are sampled too.
      const input: YumRepositoryParams = previous && random(3) === 0 ? previous : fresh;
      previous = input;
      const before = await read();
      const predicted = await applyModule(target, yumRepository, input, { check: true });
      expect(await read(), 'check mode changed the file').to.equal(before);
      const real = await applyModule(target, yumRepository, input);
      expect(real.changed, JSON.stringify(input)).to.equal(predicted.changed);
      expect(real.diffs, JSON.stringify(input)).to.deep.equal(predicted.diffs);
      outcomes.add(real.status);
    }
    expect([...outcomes]).to.include.members(['changed', 'ok']);
  });

  it('writes hostile text literally, never running it', async () => {
    const description = `; touch ${PWNED} $(touch ${PWNED}) \`touch ${PWNED}\` 'q' "dq" ü`;
    const result = await applyModule(target, yumRepository, { name: NAME, description, baseurl: [`file:///srv/$(touch${PWNED})`], enabled: false });
    expect(result.status, result.msg).to.equal('changed');
    expect(await read()).to.equal(`[${NAME}]\nname=${description}\nbaseurl=file:///srv/$(touch${PWNED})\nenabled=0\n`);
    const newline = await applyModule(target, yumRepository, { name: NAME, description: `x\n[evil]\nbaseurl=file:///x`, baseurl: ['file:///x'] });
    expect(newline.status).to.equal('failed');
    expect(newline.msg).to.match(/description: .* is not one line of text/);
    const badName = await applyModule(target, yumRepository, { name: `x; touch ${PWNED}`, baseurl: ['file:///x'] });
    expect(badName.status).to.equal('failed');
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it('fails clearly when the directory does not exist', async () => {
    const result = await applyModule(target, yumRepository, { name: NAME, baseurl: ['file:///x'], reposdir: '/nonexistent/drover-test-yumrepo' });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.include('/nonexistent/drover-test-yumrepo does not exist');
  });
});
