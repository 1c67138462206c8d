import { expect } from 'chai';
import { mount, type MountParams } from '../../modules/mount.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { executedCount } from '../support/executed.ts';
import { runOnHost } from '../support/host-script.ts';
import { seededSampler } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

describe('mount on a lab host', function () {
  const PWNED = '/tmp/drover-test-mount-pwned';
  const DIR = '/etc/drover-test-mount';
  const FSTAB_PATH = `${DIR}/fstab`;
  const BIND_SRC = '/srv/lab-data/drover-test-mount';
  let target: LabTarget;

  const sh = (script: string): Promise<string> => runOnHost(target, script);
  const findmnt = (path: string) => sh(`findmnt -rn -o SOURCE,FSTYPE,OPTIONS --mountpoint '${path}' || true`);

  /** What check mode must leave alone: every test mount and both fstab files, byte for byte. */
  async function snapshot(): Promise<string> {
    return sh(`findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS | grep drover-test || true; ls -d /mnt/drover-test-* 2>/dev/null || true; sha256sum /etc/fstab; cat ${FSTAB_PATH} 2>/dev/null || true`);
  }

  async function cleanUp(): Promise<void> {
    await sh(`for i in 1 2 3; do findmnt -rn -o TARGET | grep '^/mnt/drover-test-' | sort -r | while IFS= read -r m; do umount "$(printf '%b' "$m")" 2>/dev/null || true; done; done
rm -rf /mnt/drover-test-* ${DIR} ${BIND_SRC} ${PWNED}
sed -i '/\\/mnt\\/drover-test-/d' /etc/fstab`);
  }

  before(async function () {
    const targets = await labTargets(this, 2);
    target = targets[1]!;
    await closeTargets();
    expect(await sh('findmnt -n -o TARGET --mountpoint /srv/lab-data')).to.equal('/srv/lab-data\n');
  });
  beforeEach(async () => {
    await cleanUp();
    await sh(`mkdir -p ${DIR} ${BIND_SRC}/a ${BIND_SRC}/b && : > ${FSTAB_PATH}`);
  });
  afterEach(async () => {
    await closeTargets();
  });
  after(async () => {
    if (target) await cleanUp();
  });

  it('mounts a tmpfs with /etc/fstab in step; re-applies without change; check mode changes nothing; remounts on new options', async () => {
    const original = await sh('cat /etc/fstab');
    const path = '/mnt/drover-test-tmp';
    const params: MountParams = { path, src: 'drover-test-tmpfs', fstype: 'tmpfs', opts: 'size=1m,mode=0750', state: 'mounted' };
    const size = Buffer.byteLength(original);
    const line = Buffer.byteLength(`drover-test-tmpfs ${path} tmpfs size=1m,mode=0750 0 0\n`);
    const first = await applyModule(target, mount, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(first.changes).to.deep.equal([`create mount point ${path}`, `mount drover-test-tmpfs on ${path} (tmpfs, size=1m,mode=0750)`, `update /etc/fstab (${size} → ${size + line} bytes)`]);
    expect(await findmnt(path)).to.equal('drover-test-tmpfs tmpfs rw,relatime,size=1024k,mode=750\n');
    expect(await sh('cat /etc/fstab')).to.equal(`${original}drover-test-tmpfs ${path} tmpfs size=1m,mode=0750 0 0\n`);

    const again = await applyModule(target, mount, params);
    expect([again.status, executedCount(again)], again.msg).to.deep.equal(['ok', 0]);

    const before = await snapshot();
    const check = await applyModule(target, mount, { ...params, opts: 'size=2m,mode=0750' }, { check: true });
    expect(check.changes).to.deep.equal([`remount ${path} with size=2m,mode=0750 (fstab had size=1m,mode=0750)`, `update /etc/fstab (${size + line} → ${size + line} bytes)`]);
    expect(executedCount(check)).to.equal(0);
    expect(await snapshot()).to.equal(before);

    const bigger = await applyModule(target, mount, { ...params, opts: 'size=2m,mode=0750' });
    expect(bigger.status, bigger.msg).to.equal('changed');
    expect(await findmnt(path)).to.equal('drover-test-tmpfs tmpfs rw,relatime,size=2048k,mode=750\n');
    expect((await applyModule(target, mount, { ...params, opts: 'size=2m,mode=0750' })).status).to.equal('ok');

    const unmounted = await applyModule(target, mount, { path, state: 'unmounted' });
    expect(unmounted.changes).to.deep.equal([`unmount drover-test-tmpfs from ${path}`]);
    expect(await findmnt(path)).to.equal('');
    expect(await sh('cat /etc/fstab')).to.equal(`${original}drover-test-tmpfs ${path} tmpfs size=2m,mode=0750 0 0\n`);
    expect((await applyModule(target, mount, { path, state: 'unmounted' })).status).to.equal('ok');

    const absent = await applyModule(target, mount, { path, state: 'absent' });
    expect(absent.changes).to.deep.equal([`update /etc/fstab (${size + line} → ${size} bytes)`]);
    expect(await sh('cat /etc/fstab')).to.equal(original);
    expect(await sh(`test -d ${path} && echo kept`)).to.equal('kept\n');
  });

  it('bind-mounts a directory of /srv/lab-data, remounts read-only, and moves to another source', async () => {
    const path = '/mnt/drover-test-bind';
    const params: MountParams = { path, src: `${BIND_SRC}/a`, fstype: 'none', opts: 'bind', state: 'mounted', fstab: FSTAB_PATH };
    expect((await applyModule(target, mount, params)).status).to.equal('changed');
    expect(await sh(`stat -c %d:%i ${BIND_SRC}/a ${path} | uniq | wc -l`)).to.equal('1\n');
    expect(await sh(`cat ${FSTAB_PATH}`)).to.equal(`${BIND_SRC}/a ${path} none bind 0 0\n`);
    expect((await applyModule(target, mount, params)).status).to.equal('ok');

    const ro = await applyModule(target, mount, { ...params, opts: 'bind,ro' });
    expect(ro.changes[0]).to.equal(`remount ${path} with bind,ro (fstab had bind)`);
    expect((await onHost(target, `touch ${path}/x`)).stderr).to.match(/Read-only file system/);
    expect((await applyModule(target, mount, { ...params, opts: 'bind,ro' })).status).to.equal('ok');

    const moved = await applyModule(target, mount, { ...params, src: `${BIND_SRC}/b` });
    expect(moved.changes[0]).to.match(new RegExp(`^unmount /dev/\\S+\\[\\S+/drover-test-mount/a\\] from ${path}$`));
    expect(moved.changes.slice(1)).to.deep.equal([`mount ${BIND_SRC}/b on ${path} (none, bind)`, `update ${FSTAB_PATH} (73 → 70 bytes)`]);
    expect(await sh(`stat -c %d:%i ${BIND_SRC}/b ${path} | uniq | wc -l`)).to.equal('1\n');
    expect((await applyModule(target, mount, { path, state: 'absent', fstab: FSTAB_PATH })).status).to.equal('changed');
    expect(await sh(`cat ${FSTAB_PATH}`)).to.equal('');
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    const { pick } = seededSampler(2718);
    const outcomes = new Set<boolean>();
    for (let round = 0; round < 10; round++) {
      const params: MountParams = {
        path: pick(['/mnt/drover-test-r1', '/mnt/drover-test-r2']),
        state: pick(['mounted', 'mounted', 'unmounted', 'present', 'absent'] as const),
        src: pick(['drover-test-a', 'drover-test-b']),
        fstype: 'tmpfs',
        fstab: FSTAB_PATH,
      };
      const opts = pick([undefined, 'size=1m', 'size=2m'] as const);
      if (opts) params.opts = opts;
      const label = `round ${round}: ${JSON.stringify(params)}`;
      const { predicted, real } = await predictThenApply(target, mount, params, label);
      expect(predicted.changes, label).to.deep.equal(real.changes);
      outcomes.add(real.changed);
      const repeat = await applyModule(target, mount, params);
      expect([repeat.status, executedCount(repeat)], `${label} (again): ${repeat.msg}`).to.deep.equal(['ok', 0]);
      outcomes.add(repeat.changed);
    }
    expect([...outcomes].sort()).to.deep.equal([false, true]);
  });

  it('hostile strings arrive literally or are rejected, never executed', async () => {
    const path = `/mnt/drover-test-h $(touch ${PWNED}) \`touch ${PWNED}\`; 'q' "d" ünï`;
    const src = `'"; touch ${PWNED}; echo "' $(touch ${PWNED})`;
    const result = await applyModule(target, mount, { path, src, fstype: 'tmpfs', opts: 'size=1m', state: 'mounted', fstab: FSTAB_PATH });
    expect(result.status, result.msg).to.equal('changed');
    const listed = JSON.parse(await sh('findmnt -J -l -o TARGET,SOURCE')) as { filesystems: Array<{ target: string; source: string }> };
    expect(listed.filesystems.find((fs) => fs.target === path)?.source).to.equal(src);
    expect(await sh(`cat ${FSTAB_PATH}`)).to.equal(`${src.replace(/ /g, '\\040')} ${path.replace(/ /g, '\\040')} tmpfs size=1m 0 0\n`);
    expect((await applyModule(target, mount, { path, src, fstype: 'tmpfs', opts: 'size=1m', state: 'mounted', fstab: FSTAB_PATH })).status).to.equal('ok');
    expect((await applyModule(target, mount, { path, state: 'absent', fstab: FSTAB_PATH })).status).to.equal('changed');

    // Options are one word for mount: a hostile one is passed literally and refused by the kernel.
    const opts = await applyModule(target, mount, { path: '/mnt/drover-test-o', src: 'x', fstype: 'tmpfs', opts: `size=1m,$(touch$IFS${PWNED})`, state: 'mounted', fstab: FSTAB_PATH });
    expect(opts.status).to.equal('failed');
    expect(opts.msg).to.match(/command exited with \d+: mount \/mnt\/drover-test-o/);
    for (const bad of [{ path: '/mnt/drover-test-n\ntouch x' }, { opts: 'size=1m touch' }, { fstype: 'tmpfs;touch' }]) {
      const refused = await applyModule(target, mount, { path: '/mnt/drover-test-n', src: 'x', fstype: 'tmpfs', state: 'mounted', fstab: FSTAB_PATH, ...bad });
      expect([refused.status, refused.failure?.kind], JSON.stringify(bad)).to.deep.equal(['failed', 'invalid-input']);
    }
    expect(await sh(`test -e ${PWNED} && echo pwned || echo clean`)).to.equal('clean\n');
    expect(await sh(`cat ${FSTAB_PATH}`)).to.equal('');
  });

  it('fails clearly for a missing device, and a mount that fails never reaches fstab', async () => {
    const missing = await applyModule(target, mount, { path: '/mnt/drover-test-dev', src: '/dev/drover-test-missing', fstype: 'ext4', state: 'mounted', fstab: FSTAB_PATH });
    expect(missing.status).to.equal('failed');
    expect(missing.msg).to.equal('cannot mount /dev/drover-test-missing on /mnt/drover-test-dev: /dev/drover-test-missing does not exist');
    expect(missing.failure?.hint).to.match(/lsblk, blkid/);

    // Loop images: the lab's nspawn hosts have no loop devices (no /dev/loop-control), so mounting an
    // image fails there; the failure is mount's own message, and fstab is left as it was.
    await sh(`truncate -s 4M ${DIR}/disk.img && mkfs.ext4 -q -F ${DIR}/disk.img`);
    const loop = await applyModule(target, mount, { path: '/mnt/drover-test-loop', src: `${DIR}/disk.img`, fstype: 'ext4', state: 'mounted', fstab: FSTAB_PATH });
    const loopDevices = (await sh('test -e /dev/loop-control && echo yes || echo no')).trim();
    if (loopDevices === 'no') {
      expect(loop.status).to.equal('failed');
      expect(loop.msg).to.match(/command exited with \d+: mount \/mnt\/drover-test-loop[\s\S]*(Operation not permitted|failed to setup loop device)/);
      expect(await sh(`cat ${FSTAB_PATH}`)).to.equal('');
    } else {
      expect(loop.status, loop.msg).to.equal('changed');
      expect((await applyModule(target, mount, { path: '/mnt/drover-test-loop', src: `${DIR}/disk.img`, fstype: 'ext4', state: 'mounted', fstab: FSTAB_PATH })).status).to.equal('ok');
      await applyModule(target, mount, { path: '/mnt/drover-test-loop', state: 'absent', fstab: FSTAB_PATH });
    }
  });
});
