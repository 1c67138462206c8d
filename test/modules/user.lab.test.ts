import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { user, type UserParams } from '../../modules/user.ts';
import { secret } from '../../runner/secret.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 2. Read back with getent, id, stat and by logging in with the OpenSSH client. ──

const U = 'drover-tu';
const G1 = 'drover-tug1';
const G2 = 'drover-tug2';
const PWNED = '/tmp/drover-pwned-user';

describe('user on a lab host', function () {
  let target: LabTarget;
  let keyDir = '';
  const keys: Record<'a' | 'b', { path: string; pub: string }> = { a: { path: '', pub: '' }, b: { path: '', pub: '' } };
  let hash = '';

  const sh = async (script: string): Promise<string> => {
    const output = await onHost(target, script);
    expect(output.exitCode, `${script}: ${output.stderr}`).to.equal(0);
    return output.stdout.trim();
  };
  /** The account as the host's own tools report it. */
  const account = async () => sh(`getent passwd ${U} || echo absent; id -Gn ${U} 2>/dev/null || true; getent shadow ${U} | cut -d: -f2`);
  /** Logs in as the user with the OpenSSH client and one key; the exit code says whether sshd let it in. */
  const loginWith = (key: 'a' | 'b'): { status: number | null; stdout: string } => {
    const result = spawnSync(
      'ssh',
      ['-i', keys[key].path, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${target.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', `${U}@${target.address}`, 'id -un'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    return { status: result.status, stdout: result.stdout.trim() };
  };
  const cleanup = () => onHost(target, `userdel -r ${U} 2>/dev/null; rm -rf /home/${U} /srv/${U}; for g in ${U} ${G1} ${G2}; do groupdel $g 2>/dev/null; done; rm -f ${PWNED}; true`);

  before(async function () {
    target = (await labTargets(this, 3))[2]!;
    keyDir = mkdtempSync(join(tmpdir(), 'drover-user-test-'));
    for (const key of ['a', 'b'] as const) {
      keys[key].path = join(keyDir, key);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `drover-test-${key}`, '-f', keys[key].path]);
      keys[key].pub = readFileSync(`${keys[key].path}.pub`, 'utf8').trim();
    }
    hash = execFileSync('openssl', ['passwd', '-6', '-salt', 'droversa', 'not-a-real-password']).toString().trim();
    await cleanup();
    await sh(`groupadd ${G1} && groupadd ${G2}`);
  });
  after(async () => {
    await cleanup();
    await closeTargets();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('creates a user with groups, shell, comment, password hash and a key; re-applies without change', async () => {
    const params = { name: U, groups: [G1], shell: '/bin/bash', comment: 'drover test', password: secret(hash), authorizedKeys: [keys.a.pub] };
    const check = await applyModule(target, user, params, { check: true });
    expect(check.status, check.msg).to.equal('changed');
    expect(await account()).to.match(/^absent/);

    const first = await applyModule(target, user, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(first.diffs).to.deep.equal(check.diffs);
    expect(first.changes).to.have.length(4);
    for (const command of first.commands) expect(command.line + command.display).to.not.include(hash);
    const [passwd, groups, shadow] = (await account()).split('\n');
    expect(passwd).to.match(new RegExp(`^${U}:x:\\d+:\\d+:drover test:/home/${U}:/bin/bash$`));
    expect(groups!.split(' ').sort()).to.deep.equal([U, G1].sort());
    expect(shadow).to.equal(hash);
    expect(await sh(`stat -c '%a %U %G' /home/${U}/.ssh /home/${U}/.ssh/authorized_keys; cat /home/${U}/.ssh/authorized_keys`)).to.equal(`700 ${U} ${U}\n600 ${U} ${U}\n${keys.a.pub}`);
    expect(loginWith('a')).to.deep.equal({ status: 0, stdout: U });
    expect(loginWith('b').status).to.equal(255);

    const again = await applyModule(target, user, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands).to.deep.equal([]);
  });

  it('check mode predicts a shell and groups change exactly and leaves the host alone; append then exact', async () => {
    const before = await account();
    const check = await applyModule(target, user, { name: U, shell: '/bin/sh', groups: [G2], append: true }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.changes).to.deep.equal([`change groups of ${U} +${G2}`, `set shell of ${U} /bin/bash → /bin/sh`]);
    expect(check.diffs).to.deep.equal([
      { kind: 'value', name: `user ${U} groups`, before: G1, after: [G1, G2].sort().join(',') },
      { kind: 'value', name: `user ${U} shell`, before: '/bin/bash', after: '/bin/sh' },
    ]);
    expect(check.commands.every((command) => !command.executed)).to.equal(true);
    expect(await account()).to.equal(before);

    await predictThenApply(target, user, { name: U, shell: '/bin/sh', groups: [G2], append: true }, 'append');
    expect((await sh(`id -Gn ${U}`)).split(' ').sort()).to.deep.equal([U, G1, G2].sort());
    expect(await sh(`getent passwd ${U} | cut -d: -f7`)).to.equal('/bin/sh');

    const { real } = await predictThenApply(target, user, { name: U, groups: [G2] }, 'exact');
    expect(real.changes).to.deep.equal([`change groups of ${U} -${G1}`]);
    expect((await sh(`id -Gn ${U}`)).split(' ').sort()).to.deep.equal([U, G2].sort());
    expect((await applyModule(target, user, { name: U, groups: [G2] })).status).to.equal('ok');
  });

  it('authorized keys: added beside others, then exclusive, as sshd sees them', async () => {
    const added = await applyModule(target, user, { name: U, authorizedKeys: [keys.b.pub] });
    expect(added.status, added.msg).to.equal('changed');
    expect(added.diffs).to.deep.equal([{ kind: 'file', path: `/home/${U}/.ssh/authorized_keys`, before: `${keys.a.pub}\n`, after: `${keys.a.pub}\n${keys.b.pub}\n` }]);
    expect(loginWith('a').status).to.equal(0);
    expect(loginWith('b').status).to.equal(0);

    const { real } = await predictThenApply(target, user, { name: U, authorizedKeys: [keys.b.pub], authorizedKeysExclusive: true }, 'exclusive');
    expect(real.changed).to.equal(true);
    expect(loginWith('a').status).to.equal(255);
    expect(loginWith('b')).to.deep.equal({ status: 0, stdout: U });
    expect(await sh(`stat -c '%a %U' /home/${U}/.ssh/authorized_keys`)).to.equal(`600 ${U}`);
    expect((await applyModule(target, user, { name: U, authorizedKeys: [keys.b.pub], authorizedKeysExclusive: true })).status).to.equal('ok');

    // A latin-1 comment line stays the host's bytes when a key is added (it became U+FFFD).
    await sh(`printf '# caf\\351\\n' >> /home/${U}/.ssh/authorized_keys`);
    const kept = await applyModule(target, user, { name: U, authorizedKeys: [keys.a.pub] });
    expect(kept.status, kept.msg).to.equal('changed');
    const bytes = Buffer.from((await sh(`base64 -w0 < /home/${U}/.ssh/authorized_keys`)).trim(), 'base64');
    expect(bytes.equals(Buffer.concat([Buffer.from(`${keys.b.pub}\n# caf`), Buffer.from([0xe9]), Buffer.from(`\n${keys.a.pub}\n`)]))).to.equal(true);
    expect((await applyModule(target, user, { name: U, authorizedKeys: [keys.a.pub] })).status).to.equal('ok');
    // Back to key b alone, which the tests after this one start from.
    expect((await applyModule(target, user, { name: U, authorizedKeys: [keys.b.pub], authorizedKeysExclusive: true })).status).to.equal('changed');
  });

  it('locks and unlocks the password, keeping the hash; a new hash keeps the lock', async () => {
    const locked = await applyModule(target, user, { name: U, locked: true });
    expect(locked.diffs).to.deep.equal([{ kind: 'value', name: `user ${U} locked`, before: 'no', after: 'yes' }]);
    expect(await sh(`getent shadow ${U} | cut -d: -f2`)).to.equal(`!${hash}`);
    expect((await applyModule(target, user, { name: U, locked: true, password: secret(hash) })).status).to.equal('ok');

    const other = execFileSync('openssl', ['passwd', '-6', '-salt', 'droversb', 'another']).toString().trim();
    const { real } = await predictThenApply(target, user, { name: U, password: secret(other) }, 'new hash while locked');
    expect(real.changes).to.deep.equal([`change the password of ${U} (locked)`]);
    expect(await sh(`getent shadow ${U} | cut -d: -f2`)).to.equal(`!${other}`);

    await predictThenApply(target, user, { name: U, locked: false }, 'unlock');
    expect(await sh(`getent shadow ${U} | cut -d: -f2`)).to.equal(other);
  });

  it('moves the home with its keys, and check mode predicts the keys at the new place', async () => {
    await sh(`mkdir -p /srv`);
    const params = { name: U, home: `/srv/${U}/`, moveHome: true, authorizedKeys: [keys.b.pub], authorizedKeysExclusive: true };
    const { real } = await predictThenApply(target, user, params, 'move home');
    expect(real.changes).to.deep.equal([`set home of ${U} /home/${U} → /srv/${U}, moving its contents`]);
    expect(await sh(`getent passwd ${U} | cut -d: -f6; test -e /home/${U} && echo old-still-there || echo old-gone; cat /srv/${U}/.ssh/authorized_keys`)).to.equal(`/srv/${U}\nold-gone\n${keys.b.pub}`);
    expect(loginWith('b').status).to.equal(0);
    expect((await applyModule(target, user, params)).status).to.equal('ok');
  });

  it('fails, naming it, for a group that does not exist, and changes nothing', async () => {
    const before = await account();
    const result = await applyModule(target, user, { name: U, groups: [G2, 'drover-no-such-group'] });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.include('group drover-no-such-group (asked for user drover-tu) does not exist');
    expect(result.failure?.hint).to.match(/create it first with the group module/);
    expect(result.commands).to.deep.equal([]);
    expect(await account()).to.equal(before);

    const plain = await applyModule(target, user, { name: U, password: 'not-a-hash' });
    expect(plain.status).to.equal('failed');
    expect(plain.msg)
      .to.match(/not a crypt\(3\) hash/)
      .and.not.include('not-a-hash');
  });

  it('refuses hostile strings before anything reaches the host', async () => {
    const hostile: Array<UserParams> = [
      { name: `x; touch ${PWNED}` },
      { name: `$(touch ${PWNED})` },
      { name: `\`touch ${PWNED}\`` },
      { name: '--help' },
      { name: U, groups: [`x,$(touch ${PWNED})`] },
      { name: U, comment: `x:0:0::/root:/bin/sh\nroot2` },
      { name: U, shell: `/bin/sh:${PWNED}` },
      { name: U, authorizedKeys: [`${keys.a.pub}\ncommand="touch ${PWNED}" ${keys.b.pub}`] },
    ];
    const before = await account();
    for (const input of hostile) {
      const result = await applyModule(target, user, input);
      expect(result.status, JSON.stringify(input)).to.equal('failed');
      expect(result.failure?.kind, JSON.stringify(input)).to.equal('invalid-input');
      expect(result.commands).to.deep.equal([]);
    }
    const notAKey = await applyModule(target, user, { name: U, authorizedKeys: [`command="touch ${PWNED}" not-a-key`] });
    expect(notAKey.status).to.equal('failed');
    expect(notAKey.msg).to.match(/is not a public key line/);
    expect(await sh(`test -e ${PWNED} && echo pwned || echo clean`)).to.equal('clean');
    expect(await account()).to.equal(before);
  });

  it('never writes through a symbolic link the user planted in its home', async () => {
    const rootKeys = async () => sh('sha256sum /root/.ssh/authorized_keys; stat -c %a/%U /root/.ssh/authorized_keys');
    const before = await rootKeys();
    await sh(`mv /srv/${U}/.ssh /srv/${U}/.ssh.real && ln -s /root/.ssh /srv/${U}/.ssh`);
    const throughDir = await applyModule(target, user, { name: U, authorizedKeys: [keys.a.pub], authorizedKeysExclusive: true });
    expect(throughDir.status).to.equal('failed');
    expect(throughDir.msg).to.include(`/srv/${U}/.ssh exists and is a symbolic link to /root/.ssh, not a directory`);
    expect(await rootKeys()).to.equal(before);

    await sh(`rm /srv/${U}/.ssh && mv /srv/${U}/.ssh.real /srv/${U}/.ssh && ln -sf /root/.ssh/authorized_keys /srv/${U}/.ssh/authorized_keys`);
    const overFile = await applyModule(target, user, { name: U, authorizedKeys: [keys.a.pub], authorizedKeysExclusive: true });
    expect(overFile.status, overFile.msg).to.equal('changed');
    expect(overFile.changes[0]).to.match(/^replace symbolic link \/srv\/drover-tu\/.ssh\/authorized_keys/);
    expect(await rootKeys()).to.equal(before);
    expect(await sh(`stat -c '%F %a %U' /srv/${U}/.ssh/authorized_keys; cat /srv/${U}/.ssh/authorized_keys`)).to.equal(`regular file 600 ${U}\n${keys.a.pub}`);
    expect(loginWith('a')).to.deep.equal({ status: 0, stdout: U });
  });

  it('removes the user keeping the home, then (re-created) with its home', async () => {
    const kept = await applyModule(target, user, { name: U, state: 'absent' });
    expect(kept.status, kept.msg).to.equal('changed');
    expect(await sh(`getent passwd ${U} || echo absent; test -d /srv/${U} && echo home-kept`)).to.equal('absent\nhome-kept');
    expect((await applyModule(target, user, { name: U, state: 'absent' })).status).to.equal('ok');

    await sh(`rm -rf /srv/${U}`);
    expect((await applyModule(target, user, { name: U })).status).to.equal('changed');
    expect(await sh(`test -d /home/${U} && echo home-made`)).to.equal('home-made');
    const { real } = await predictThenApply(target, user, { name: U, state: 'absent', remove: true }, 'remove with home');
    expect(real.diffs[0]).to.deep.include({ after: 'absent, home removed' });
    expect(await sh(`getent passwd ${U} || echo absent; test -e /home/${U} && echo home-left || echo home-gone`)).to.equal('absent\nhome-gone');
  });
});
