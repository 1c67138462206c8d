/**
 * unarchive on a real lab host: archives built on the controller with python3's tarfile and zipfile (so
 * hostile members can be made at all), extracted from the controller (streamed) and from the host, read
 * back over plain SSH. Each format: apply → read back → re-apply → nothing → a member changed on the host
 * → check mode shows exactly that member and changes nothing → apply puts it right.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unarchive } from '../../modules/unarchive.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

const BASE = '/tmp/drover-unarchive';
// Shell syntax in the destination and in member names: each must reach the host as bytes, never run.
const DEST = `${BASE}/d'st $(touch ${BASE}/pwned-dest) \`id\``;
const QDEST = `'${DEST.replace(/'/g, `'\\''`)}'`;
// No slash in the member's name: tar would make its parents as directories that are not members.
const HOSTILE_MEMBER = `odd 'name' $(touch drover-unarchive-pwned);\nline2`;
const PWNED = `/drover-unarchive-pwned ~/drover-unarchive-pwned ${BASE}/pwned-dest`;

/** Builds the test archives on the controller (python3's tarfile/zipfile: hostile members need them). */
const BUILDER = String.raw`
import io, os, sys, tarfile, time, zipfile
out, hostile = sys.argv[1], sys.argv[2]
def tar(path, mode, members):
    with tarfile.open(path, mode) as t:
        for name, kind, data in members:
            info = tarfile.TarInfo(name); info.mtime = 1700000000
            if kind == "dir": info.type = tarfile.DIRTYPE; info.mode = 0o755; t.addfile(info)
            elif kind == "sym": info.type = tarfile.SYMTYPE; info.linkname = data; t.addfile(info)
            elif kind == "hard": info.type = tarfile.LNKTYPE; info.linkname = data; t.addfile(info)
            else: info.size = len(data); info.mode = 0o640; t.addfile(info, io.BytesIO(data))
good = [("app", "dir", None), ("app/bin", "dir", None), ("app/bin/tool", "file", b"#!/bin/sh\necho tool\n"),
        ("app/README", "file", b"read me\n" * 100), ("app/current", "sym", "bin/tool"), ("app/" + hostile, "file", b"hostile\n")]
tar(out + "/good.tar.gz", "w:gz", good)
tar(out + "/good.tar.xz", "w:xz", good)
tar(out + "/good.tar", "w", good)
with zipfile.ZipFile(out + "/good.zip", "w") as z:
    for name, kind, data in good:
        if kind == "dir": z.writestr(zipfile.ZipInfo(name + "/"), b"")
        elif kind == "sym":
            info = zipfile.ZipInfo(name); info.external_attr = (0o120777 << 16); z.writestr(info, data)
        else:
            info = zipfile.ZipInfo(name); info.external_attr = (0o100640 << 16); z.writestr(info, data)
tar(out + "/big.tar.gz", "w:gz", [("big", "dir", None), ("big/random", "file", os.urandom(3 << 20)), ("big/small", "file", b"small\n")])
tar(out + "/dotdot.tar", "w", [("ok", "file", b"ok\n"), ("../escaped-dotdot", "file", b"x\n")])
tar(out + "/absolute.tar", "w", [("ok", "file", b"ok\n"), ("/tmp/drover-unarchive/escaped-absolute", "file", b"x\n")])
tar(out + "/symlink.tar", "w", [("ok", "file", b"ok\n"), ("esc", "sym", "/tmp/drover-unarchive"), ("esc/escaped-symlink", "file", b"x\n")])
tar(out + "/climb.tar", "w", [("ok", "file", b"ok\n"), ("sub", "dir", None), ("sub/up", "sym", "../../..")])
tar(out + "/hardlink.tar", "w", [("ok", "file", b"ok\n"), ("h", "hard", "../../../etc/shadow")])
with zipfile.ZipFile(out + "/dotdot.zip", "w") as z:
    z.writestr("ok", b"ok\n"); z.writestr("../escaped-zip", b"x\n")
`;

describe('unarchive on lab hosts', function () {
  let host: LabTarget;
  let local: string;
  const read = async (script: string) => {
    const output = await onHost(host, script);
    expect(output.exitCode, output.stderr).to.equal(0);
    return output.stdout;
  };
  /** Every member as the host has it: type, mode, size or link target, and content hash. */
  const listing = (dest: string) => read(`cd ${dest} && find . -mindepth 1 -printf '%y %m %s %l %p\\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum`);

  before(async function () {
    [host] = (await labTargets(this, 1)) as [LabTarget];
    local = mkdtempSync(join(tmpdir(), 'drover-unarchive-'));
    const built = spawnSync('python3', ['-c', BUILDER, local, HOSTILE_MEMBER], { encoding: 'utf8' });
    expect(built.status, built.stderr).to.equal(0);
    const prep = await onHost(host, `rm -rf ${BASE} && mkdir -p ${BASE} ${QDEST} && command -v xz >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xz-utils >/dev/null; }`);
    expect(prep.exitCode, prep.stderr).to.equal(0);
  });
  after(async () => {
    rmSync(local, { recursive: true, force: true });
    await onHost(host, `rm -rf ${BASE}`);
  });

  for (const file of ['good.tar.gz', 'good.tar.xz', 'good.tar', 'good.zip']) {
    it(`${file} from the controller: extracts, re-run does nothing, check mode shows the one changed member and changes nothing`, async () => {
      const dest = `${DEST}/${file}`;
      const qdest = `${QDEST}/${file}`;
      await read(`mkdir -p ${qdest}`);
      const params = { src: join(local, file), dest };
      const first = await applyModule(host, unarchive, params);
      expect(first.status, first.msg).to.equal('changed');
      expect(first.msg).to.match(/\(\d+ absent of 6 members\)|\(\d+ absent of 7 members\)/);
      expect(await read(`cat ${qdest}/app/bin/tool; readlink ${qdest}/app/current; stat -c %a ${qdest}/app/bin/tool`)).to.equal('#!/bin/sh\necho tool\nbin/tool\n640\n');
      expect(await read(`cat ${qdest}/app/'odd '\\''name'\\'' $(touch drover-unarchive-pwned);\nline2'`)).to.equal('hostile\n');
      expect(await read(`ls ${PWNED} 2>/dev/null | grep -q . && echo pwned || echo clean; find / -xdev -name drover-unarchive-pwned 2>/dev/null | grep -c . || true`)).to.equal('clean\n0\n');
      const before = await listing(qdest);

      const again = await applyModule(host, unarchive, params);
      expect(again.status, again.msg).to.equal('ok');
      expect(again.msg).to.match(/already holds the \d+ members/);
      expect(again.commands.filter((command) => command.executed && !command.display.includes('--compare') && !command.display.includes('compare "$src"'))).to.deep.equal([]);

      await read(`printf 'changed\\n' > ${qdest}/app/README && rm ${qdest}/app/current`);
      const changed = await listing(qdest);
      const check = await applyModule(host, unarchive, params, { check: true });
      expect(check.status, check.msg).to.equal('changed');
      expect(check.msg).to.include('1 absent, 1 differing of');
      const diff = check.diffs[0]!;
      expect(diff.before).to.match(/^app\/README {2}\(.*(?:size differs|contents differ)/m);
      expect(diff.after).to.include('app/current -> bin/tool').and.include('app/README ');
      expect(diff.after).not.to.include('app/bin/tool ');
      expect(await listing(qdest)).to.equal(changed);

      const fix = await applyModule(host, unarchive, params);
      expect(fix.status, fix.msg).to.equal('changed');
      expect(await listing(qdest)).to.equal(before);
    });
  }

  it('a large controller archive (3 MiB, over the in-memory limit) is streamed to the comparison and the extraction', async () => {
    await read(`mkdir -p ${BASE}/big`);
    const params = { src: join(local, 'big.tar.gz'), dest: `${BASE}/big` };
    const first = await applyModule(host, unarchive, params);
    expect(first.status, first.msg).to.equal('changed');
    const [expected] = spawnSync('python3', ['-c', `import hashlib, tarfile; print(hashlib.sha256(tarfile.open("${join(local, 'big.tar.gz')}").extractfile("big/random").read()).hexdigest())`], { encoding: 'utf8' }).stdout.split('\n');
    expect(await read(`sha256sum < ${BASE}/big/big/random | cut -d' ' -f1`)).to.equal(`${expected}\n`);
    const again = await applyModule(host, unarchive, params);
    expect(again.status, again.msg).to.equal('ok');
  });

  it('remoteSrc: an archive on the host (format found from its bytes), and creates skips the comparison', async () => {
    const archive = `${BASE}/on host.tar.xz`;
    await read(`base64 -d > '${archive}' <<'EOF'\n${readFileSync(join(local, 'good.tar.xz')).toString('base64')}\nEOF`);
    await read(`mkdir -p ${BASE}/remote`);
    const params = { remoteSrc: archive, dest: `${BASE}/remote`, creates: `${BASE}/remote/app/bin/tool` };
    const first = await applyModule(host, unarchive, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(await read(`cat ${BASE}/remote/app/bin/tool`)).to.equal('#!/bin/sh\necho tool\n');
    await read(`echo edited > ${BASE}/remote/app/README`);
    const guarded = await applyModule(host, unarchive, params);
    expect(guarded.status, guarded.msg).to.equal('ok');
    expect(guarded.msg).to.include('exists; nothing extracted');
    const unguarded = await applyModule(host, unarchive, { remoteSrc: archive, dest: `${BASE}/remote` });
    expect(unguarded.status, unguarded.msg).to.equal('changed');
    expect(await read(`cat ${BASE}/remote/app/README | head -1`)).to.equal('read me\n');
  });

  it('owner and group apply to every member; a re-run checks them and changes nothing', async () => {
    await read(`mkdir -p ${BASE}/owned`);
    const params = { src: join(local, 'good.tar.gz'), dest: `${BASE}/owned`, owner: 'daemon', group: 'daemon' };
    const first = await applyModule(host, unarchive, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(await read(`cd ${BASE}/owned && find app -printf '%u:%g\\n' | sort -u`)).to.equal('daemon:daemon\n');
    const again = await applyModule(host, unarchive, params);
    expect(again.status, again.msg).to.equal('ok');
    await read(`chown -h root ${BASE}/owned/app/current`);
    const fix = await applyModule(host, unarchive, params);
    expect(fix.status, fix.msg).to.equal('changed');
    expect(fix.msg).to.include('set owner of 1 members');
    expect(await read(`stat -c %U ${BASE}/owned/app/current`)).to.equal('daemon\n');
  });

  for (const [file, why] of [
    ['dotdot.tar', /"\.\.\/escaped-dotdot" has a \.\. component/],
    ['absolute.tar', /"\/tmp\/drover-unarchive\/escaped-absolute" is an absolute path/],
    ['symlink.tar', /"esc\/escaped-symlink" lies below the archive's symbolic link "esc"/],
    ['climb.tar', /"sub\/up" is a symbolic link to "\.\.\/\.\.\/\.\."/],
    ['hardlink.tar', /tar would rewrite names: Removing leading `\.\.\/\.\.\/\.\.\/' from hard link targets/],
    ['dotdot.zip', /"\.\.\/escaped-zip" has a \.\. component/],
  ] as const) {
    it(`refuses ${file}: members escaping dest are named and nothing is written, in check mode or not`, async () => {
      const dest = `${BASE}/jail/${file}/inner`;
      await read(`mkdir -p ${dest}`);
      for (const check of [true, false]) {
        const result = await applyModule(host, unarchive, { src: join(local, file), dest }, { check });
        expect(result.status, result.msg).to.equal('failed');
        expect(result.msg).to.match(why).and.include('nothing was extracted');
      }
      expect(await read(`ls -A ${dest} | wc -l; ls ${BASE} ${BASE}/jail/${file} | grep -c escaped || true`)).to.equal('0\n0\n');
    });
  }

  it('a missing dest or host archive: check mode says it would run (an earlier task may make them), a real run fails naming it', async () => {
    const check = await applyModule(host, unarchive, { src: join(local, 'good.tar'), dest: `${BASE}/nowhere` }, { check: true });
    expect(check.status, check.msg).to.equal('changed');
    expect(check.uncertain).to.equal(true);
    expect(check.changes[0]).to.equal(`check that dest ${BASE}/nowhere exists by then (it does not yet; an earlier task may make it)`);
    expect(check.diffs[0]!.after).to.include('app/bin/tool  rw-r----- 20 bytes');
    const noDest = await applyModule(host, unarchive, { src: join(local, 'good.tar'), dest: `${BASE}/nowhere` });
    expect(noDest.status).to.equal('failed');
    expect(noDest.msg).to.include(`dest ${BASE}/nowhere is not a directory on ${host.name}: create it first`);
    expect(await read(`test -e ${BASE}/nowhere && echo made || echo absent`)).to.equal('absent\n');

    const checkSrc = await applyModule(host, unarchive, { remoteSrc: `${BASE}/none.tar`, dest: BASE }, { check: true });
    expect(checkSrc.status, checkSrc.msg).to.equal('changed');
    expect(checkSrc.uncertain).to.equal(true);
    expect(checkSrc.msg).to.match(/^would run: extract .*none\.tar into .* \(the archive does not exist yet/);
    const noSrc = await applyModule(host, unarchive, { remoteSrc: `${BASE}/none.tar`, dest: BASE });
    expect(noSrc.status).to.equal('failed');
    expect(noSrc.msg).to.include(`${BASE}/none.tar is not a file on ${host.name}`);
    await read(`echo 'not an archive' > ${BASE}/bad.tar.gz`);
    const bad = await applyModule(host, unarchive, { remoteSrc: `${BASE}/bad.tar.gz`, dest: BASE, format: 'tar.gz' });
    expect(bad.status).to.equal('failed');
    expect(bad.msg).to.match(/cannot read .*bad\.tar\.gz as tar\.gz/);
  });
});
