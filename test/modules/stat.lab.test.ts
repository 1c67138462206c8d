import { expect } from 'chai';
import { stat } from '../../modules/stat.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 0, compared with GNU stat and sha256sum read over the OpenSSH client. ──

const DIR = '/tmp/drover-stat';
// No slash in the name: $(touch drover-stat-pwned) would create the marker in the shell's directory (~ or /).
const HOSTILE = `${DIR}/a'b $(touch drover-stat-pwned) \`id\`\nc`;
const PWNED = '~/drover-stat-pwned /drover-stat-pwned';

describe('stat on a lab host', function () {
  let target: LabTarget;

  before(async function () {
    target = (await labTargets(this, 1))[0]!;
    const setup = await onHost(
      target,
      `rm -rf ${DIR} ${PWNED}; mkdir -m 0750 ${DIR} && printf 'hello\\n' > ${DIR}/f && chmod 0640 ${DIR}/f && chown 1234:daemon ${DIR}/f && ln -s f ${DIR}/l && ln -s /nowhere ${DIR}/dangling && touch -d @1700000000 ${DIR}/f && printf x > "$(printf '${DIR}/a%sb $(touch drover-stat-pwned) \`id\`\\nc' "'")"`,
    );
    expect(setup.exitCode, setup.stderr).to.equal(0);
  });
  after(() => onHost(target, `rm -rf ${DIR} ${PWNED}`));

  it('a file: type, mode, ids and names, size, mtime and sha256 as GNU stat and sha256sum read them', async () => {
    const result = await applyModule(target, stat, { path: `${DIR}//f`, checksum: true });
    expect(result.status, result.msg).to.equal('ok');
    expect(result.changed).to.equal(false);
    const hash = (await onHost(target, `sha256sum < ${DIR}/f | cut -d' ' -f1`)).stdout.trim();
    expect(result.value).to.deep.equal({
      path: `${DIR}/f`,
      exists: true,
      type: 'file',
      mode: '0640',
      uid: 1234,
      gid: 1,
      group: 'daemon',
      size: 6,
      mtime: 1700000000,
      sha256: hash,
    });
    expect(result.msg).to.equal('file 0640 1234:daemon 6 bytes');
  });

  it('a directory, a link (itself, then followed), a dangling link and a missing path', async () => {
    const dir = await applyModule(target, stat, { path: DIR });
    expect(dir.value).to.include({ exists: true, type: 'directory', mode: '0750', owner: 'root' });

    const link = await applyModule(target, stat, { path: `${DIR}/l` });
    expect(link.value).to.include({ type: 'link', linkTarget: 'f', size: 1 });
    const followed = await applyModule(target, stat, { path: `${DIR}/l`, follow: true, checksum: true });
    expect(followed.value).to.include({ type: 'file', linkTarget: 'f', size: 6, mode: '0640' });
    expect(followed.value?.sha256).to.match(/^[0-9a-f]{64}$/);
    // Without follow a link is not hashed: its content is not the link's.
    const linkHash = await applyModule(target, stat, { path: `${DIR}/l`, checksum: true });
    expect(linkHash.value?.sha256).to.equal(undefined);

    const dangling = await applyModule(target, stat, { path: `${DIR}/dangling`, follow: true });
    expect(dangling.value).to.deep.equal({ path: `${DIR}/dangling`, exists: false, type: 'absent', linkTarget: '/nowhere' });
    const missing = await applyModule(target, stat, { path: `${DIR}/nothing/deeper` });
    expect(missing.status, missing.msg).to.equal('ok');
    expect(missing.value).to.deep.equal({ path: `${DIR}/nothing/deeper`, exists: false, type: 'absent' });
    const underFile = await applyModule(target, stat, { path: `${DIR}/f/under` });
    expect(underFile.value?.exists).to.equal(false);
  });

  it('runs in check mode too (it only reads) and returns the same value', async () => {
    const check = await applyModule(target, stat, { path: `${DIR}/f` }, { check: true });
    expect(check.status, check.msg).to.equal('ok');
    expect(check.checkMode).to.equal(true);
    expect(check.value).to.include({ exists: true, size: 6 });
  });

  it('a hostile file name is examined as one path; nothing in it runs', async () => {
    const result = await applyModule(target, stat, { path: HOSTILE });
    expect(result.status, result.msg).to.equal('ok');
    expect(result.value).to.include({ exists: true, type: 'file', size: 1 });
    expect((await onHost(target, `ls ${PWNED} 2>/dev/null | grep -q . && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it('a path the become user may not search fails with the reason, not as absent', async () => {
    // The lab logs in as root, which may search anything: become a user that may not.
    const setup = await onHost(target, `id drover-stat-nobody >/dev/null 2>&1 || useradd -M drover-stat-nobody; chmod 0700 ${DIR}`);
    expect(setup.exitCode, setup.stderr).to.equal(0);
    try {
      const result = await applyModule(target, stat, { path: `${DIR}/f` }, { become: { user: 'drover-stat-nobody' } });
      expect(result.status, result.msg).to.equal('failed');
      expect(result.msg).to.match(/could not examine \/tmp\/drover-stat\/f on lab-1: stat: cannot statx .*Permission denied/);
      expect(result.failure?.hint).to.match(/may search every directory/);
    } finally {
      await onHost(target, `chmod 0750 ${DIR}; userdel drover-stat-nobody 2>/dev/null; true`);
    }
  });
});
