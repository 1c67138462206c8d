import { expect } from 'chai';
import { yumRepository, type YumRepositoryParams } from '../../modules/yum-repository.ts';
import { executedCount } from '../support/executed.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

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
