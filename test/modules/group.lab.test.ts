import { expect } from 'chai';
import { group } from '../../modules/group.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 1, read back with getent over the OpenSSH client. ──

const PWNED = '/tmp/drover-pwned-group';
const G = 'drover-tg';

describe('group on a lab host', function () {
  let target: LabTarget;

  const getent = async (name: string): Promise<string> => (await onHost(target, `getent group ${name} || echo absent`)).stdout.trim();
  const cleanup = () => onHost(target, `userdel drover-tgu 2>/dev/null; for g in ${G} ${G}2; do groupdel $g 2>/dev/null; done; rm -f ${PWNED}; true`);

  before(async function () {
    target = (await labTargets(this, 2))[1]!;
    await cleanup();
  });
  after(async () => {
    await cleanup();
    await closeTargets();
  });

  it('creates, re-applies without change, predicts a gid change in check mode without touching the host, applies it, removes', async () => {
    const first = await applyModule(target, group, { name: G, gid: 23456 });
    expect(first.status, first.msg).to.equal('changed');
    expect(await getent(G)).to.equal(`${G}:x:23456:`);

    const again = await applyModule(target, group, { name: G, gid: 23456 });
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands).to.deep.equal([]);

    const check = await applyModule(target, group, { name: G, gid: 23457 }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([{ kind: 'value', name: `group ${G} gid`, before: '23456', after: '23457' }]);
    expect(check.commands.every((command) => !command.executed)).to.equal(true);
    expect(await getent(G)).to.equal(`${G}:x:23456:`);

    await predictThenApply(target, group, { name: G, gid: 23457 }, 'gid change');
    expect(await getent(G)).to.equal(`${G}:x:23457:`);

    const removed = await applyModule(target, group, { name: G, state: 'absent' });
    expect(removed.status, removed.msg).to.equal('changed');
    expect(await getent(G)).to.equal('absent');
    const removedAgain = await applyModule(target, group, { name: G, state: 'absent' });
    expect(removedAgain.status, removedAgain.msg).to.equal('ok');
  });

  it('creates a system group with a gid from the system range', async () => {
    const result = await applyModule(target, group, { name: `${G}2`, system: true });
    expect(result.status, result.msg).to.equal('changed');
    const gid = Number((await getent(`${G}2`)).split(':')[2]);
    const sysMax = Number((await onHost(target, 'awk \'$1 == "SYS_GID_MAX" { print $2 }\' /etc/login.defs')).stdout.trim() || 999);
    expect(gid).to.be.within(1, sysMax);
  });

  it('fails with the reason when the gid is taken or the group is a primary group, and changes nothing', async () => {
    const taken = await applyModule(target, group, { name: G, gid: 0 });
    expect(taken.status).to.equal('failed');
    expect(taken.msg).to.include('gid 0 is already used by group root');
    expect(await getent(G)).to.equal('absent');

    await onHost(target, `groupadd ${G} && useradd -M -g ${G} drover-tgu`);
    const primary = await applyModule(target, group, { name: G, state: 'absent' });
    expect(primary.status).to.equal('failed');
    expect(primary.msg).to.include(`group ${G} is the primary group of drover-tgu`);
    expect(primary.commands).to.deep.equal([]);
    expect(await getent(G)).to.match(new RegExp(`^${G}:x:\\d+:$`));
  });

  it('refuses hostile names before anything reaches the host', async () => {
    for (const name of [`x; touch ${PWNED}`, `$(touch ${PWNED})`, `\`touch ${PWNED}\``, '-f', 'a:b', 'new\nline', 'Ünïcødé']) {
      const result = await applyModule(target, group, { name });
      expect(result.status, name).to.equal('failed');
      expect(result.failure?.kind, name).to.equal('invalid-input');
      expect(result.msg, name).to.match(/invalid parameter for group: name: /);
      expect(result.commands).to.deep.equal([]);
    }
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });
});
