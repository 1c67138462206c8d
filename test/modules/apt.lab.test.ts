import { expect } from 'chai';
import { apt, type AptParams } from '../../modules/apt.ts';
import { predictThenApplyAnyOutcome } from '../support/check-mode.ts';
import { executedCount } from '../support/executed.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

describe('apt on a lab host', function () {
  this.timeout(180_000);
  /** Packages of the lab's local repository that nothing else on the hosts uses. */
  const PACKAGES = ['hello', 'sl', 'drover-test-a', 'drover-test-b'];
  const PWNED = '/tmp/drover-test-apt-pwned';
  let target: LabTarget;

  /** dpkg's own record, read with the plain OpenSSH client: "name status version" per package. */
  async function installed(): Promise<Record<string, string>> {
    const output = await onHost(target, `dpkg-query -W -f='\${Package} \${db:Status-Status} \${Version}\\n' ${PACKAGES.join(' ')} 2>/dev/null || true`);
    const entries = output.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '));
    return Object.fromEntries(entries.filter(([, status]) => status === 'installed').map(([name, , version]) => [name!, version!]));
  }
  async function holds(): Promise<string[]> {
    return (await onHost(target, 'apt-mark showhold')).stdout
      .trim()
      .split('\n')
      .filter((name) => PACKAGES.includes(name));
  }
  /** What check mode must leave alone: the packages, the holds, the lists and the update stamp. */
  async function snapshot(): Promise<string> {
    const lists = await onHost(target, `find /var/lib/apt/lists -maxdepth 1 -printf '%f %s %T@\\n' | sort; stat -c %Y ${'/var/lib/apt/periodic/update-success-stamp'} 2>/dev/null || true`);
    return JSON.stringify({ installed: await installed(), holds: await holds(), lists: lists.stdout });
  }
  async function clean(): Promise<void> {
    const output = await onHost(target, `apt-mark unhold ${PACKAGES.join(' ')} >/dev/null 2>&1 || true; DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ${PACKAGES.join(' ')} >/dev/null 2>&1 || true; rm -f ${PWNED}`);
    expect(output.exitCode, output.stderr).to.equal(0);
  }

  before(async function () {
    const targets = await labTargets(this, 3);
    target = targets[Math.min(2, targets.length - 1)]!;
    await clean();
  });
  after(async () => {
    if (target) await clean();
  });

  it('refreshes the lists: check mode says it would, a real run leaves the stamp cacheValidTime trusts', async () => {
    const before = await snapshot();
    const check = await applyModule(target, apt, { updateCache: true }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.uncertain).to.equal(true);
    expect(await snapshot()).to.equal(before);
    const real = await applyModule(target, apt, { updateCache: true });
    expect(real.status, real.msg).to.be.oneOf(['ok', 'changed']);
    expect(executedCount(real)).to.equal(1);
    const stamp = await onHost(target, 'echo $(( $(date +%s) - $(stat -c %Y /var/lib/apt/periodic/update-success-stamp) ))');
    expect(Number(stamp.stdout.trim())).to.be.within(0, 60);
    const fresh = await applyModule(target, apt, { cacheValidTime: 3600 });
    expect(fresh.status, fresh.msg).to.equal('ok');
    expect(fresh.msg).to.equal('the apt package lists are fresh enough');
  });

  it('a pending refresh is rehearsed in a private directory: check mode names exact versions, leaves the lists and /var/tmp as they were', async () => {
    await clean();
    try {
      const before = await snapshot();
      const check = await applyModule(target, apt, { name: ['hello'], cacheValidTime: 0 }, { check: true });
      expect(check.status, check.msg).to.equal('changed');
      expect(check.uncertain, 'the refreshed candidate is known').to.equal(false);
      expect(check.changes).to.have.length(2);
      expect(check.changes[0]).to.match(/^refresh the apt package lists \((older than cacheValidTime 0 s|the lists were never updated)\)$/);
      expect(check.changes[1]).to.equal('install hello 2.10-3');
      expect(await snapshot()).to.equal(before);
      expect((await onHost(target, 'ls -d /var/tmp/drover-apt.* 2>/dev/null | wc -l')).stdout.trim(), 'rehearsal directories left').to.equal('0');
      // The apply does what was predicted, the version pinned as reviewed.
      const real = await applyModule(target, apt, { name: ['hello'], cacheValidTime: 0 });
      expect(real.status, real.msg).to.equal('changed');
      expect(real.changes).to.deep.equal(check.changes);
      expect(real.commands.map((command) => command.display).join('\n')).to.match(/apt-get install .* '?hello=2\.10-3'?$/m);
      expect(await installed()).to.deep.equal({ hello: '2.10-3' });
    } finally {
      await clean();
    }
  });

  it('installs all missing packages in one transaction, reads back, re-applies and checks without change', async () => {
    const params: AptParams = { name: ['hello', 'sl', 'drover-test-a=1.0'], cacheValidTime: 3600, installRecommends: false };
    const first = await applyModule(target, apt, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(first.diffs).to.deep.equal([
      { kind: 'value', name: 'package hello', before: null, after: '2.10-3' },
      { kind: 'value', name: 'package sl', before: null, after: '5.02-1+b1' },
      { kind: 'value', name: 'package drover-test-a', before: null, after: '1.0' },
    ]);
    expect(executedCount(first)).to.equal(1);
    expect(first.commands[0]!.display).to.include('apt-get install').and.include('hello=2.10-3 sl=5.02-1+b1 drover-test-a=1.0');
    expect(await installed()).to.deep.equal({ hello: '2.10-3', sl: '5.02-1+b1', 'drover-test-a': '1.0' });

    const again = await applyModule(target, apt, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(executedCount(again)).to.equal(0);

    const before = await snapshot();
    const check = await applyModule(target, apt, { name: ['drover-test-a', 'drover-test-b'], state: 'latest' }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([
      { kind: 'value', name: 'package drover-test-a', before: '1.0', after: '1.1' },
      { kind: 'value', name: 'package drover-test-b', before: null, after: '1.0' },
    ]);
    expect(executedCount(check)).to.equal(0);
    expect(await snapshot()).to.equal(before);
  });

  it('holds, refuses to move a held package unasked, upgrades it held, and releases it to downgrade', async () => {
    await applyModule(target, apt, { name: ['drover-test-a=1.0'] });
    const hold = await applyModule(target, apt, { name: ['drover-test-a'], hold: true });
    expect(hold.status, hold.msg).to.equal('changed');
    expect(hold.diffs).to.deep.equal([{ kind: 'value', name: 'drover-test-a held', before: 'no', after: 'yes' }]);
    expect(await holds()).to.deep.equal(['drover-test-a']);
    expect((await applyModule(target, apt, { name: ['drover-test-a'], hold: true })).status).to.equal('ok');

    const refused = await applyModule(target, apt, { name: ['drover-test-a'], state: 'latest' });
    expect(refused.status).to.equal('failed');
    expect(refused.msg).to.include('drover-test-a is held (apt-mark hold) and would have to change');
    expect(refused.failure?.hint).to.include('hold: true');

    const upgrade = await applyModule(target, apt, { name: ['drover-test-a'], state: 'latest', hold: true });
    expect(upgrade.status, upgrade.msg).to.equal('changed');
    expect(upgrade.diffs).to.deep.equal([{ kind: 'value', name: 'package drover-test-a', before: '1.0', after: '1.1' }]);
    expect(await installed()).to.include({ 'drover-test-a': '1.1' });
    expect(await holds()).to.deep.equal(['drover-test-a']);

    const back = await applyModule(target, apt, { name: ['drover-test-a=1.0'], hold: false });
    expect(back.status).to.equal('failed');
    expect(back.msg).to.include('drover-test-a 1.0 is older than the installed 1.1');
    const downgrade = await applyModule(target, apt, { name: ['drover-test-a=1.0'], hold: false, allowDowngrade: true });
    expect(downgrade.status, downgrade.msg).to.equal('changed');
    expect(downgrade.diffs).to.deep.equal([
      { kind: 'value', name: 'drover-test-a held', before: 'yes', after: 'no' },
      { kind: 'value', name: 'package drover-test-a', before: '1.1', after: '1.0' },
    ]);
    expect(await holds()).to.deep.equal([]);
    expect(await installed()).to.include({ 'drover-test-a': '1.0' });
  });

  it('removes and purges', async () => {
    await applyModule(target, apt, { name: ['hello', 'sl'] });
    const removed = await applyModule(target, apt, { name: ['hello', 'sl', 'drover-test-b'], state: 'absent' });
    expect(removed.status, removed.msg).to.equal('changed');
    expect(removed.diffs).to.deep.equal([
      { kind: 'value', name: 'package hello', before: '2.10-3', after: null },
      { kind: 'value', name: 'package sl', before: '5.02-1+b1', after: null },
    ]);
    expect(await installed()).not.to.have.any.keys('hello', 'sl');
    expect((await applyModule(target, apt, { name: ['hello', 'sl'], state: 'absent' })).status).to.equal('ok');
  });

  it('check mode predicts exactly what a real run then does (seeded sample)', async () => {
    const random = seededBelow(5);
    const specs = ['hello', 'sl', 'drover-test-a', 'drover-test-a=1.0', 'drover-test-a=1.1', 'drover-test-b'];
    const outcomes = new Set<string>();
    let previous: AptParams | undefined;
    for (let round = 0; round < 5; round++) {
      const state = (['present', 'latest', 'absent'] as const)[random(3)]!;
      const chosen = specs.filter(() => random(2) === 0).filter((spec) => state === 'present' || !spec.includes('='));
      const names = chosen.filter((spec, index) => chosen.findIndex((other) => other.split('=')[0] === spec.split('=')[0]) === index);
      if (names.length === 0) names.push('hello');
      const hold = state === 'absent' ? [undefined, false][random(2)] : [undefined, true, false][random(3)];
      const fresh: AptParams = { name: names, state, allowDowngrade: true, ...(hold === undefined ? {} : { hold }) };
      // A third of the rounds repeat the previous parameters, so rounds with nothing to change are sampled too.
      const params: AptParams = previous && random(3) === 0 ? previous : fresh;
      previous = params;
      const { real } = await predictThenApplyAnyOutcome(target, apt, params, snapshot, 'the host');
      outcomes.add(real.status);
    }
    // The sample must have exercised both a change and a no-change, or it proved little.
    expect([...outcomes]).to.include.members(['changed', 'ok']);
  });

  it('refuses hostile names and versions, and passes odd but valid versions literally', async () => {
    for (const name of [`hello; touch ${PWNED}`, `$(touch ${PWNED})`, `\`touch ${PWNED}\``, `hello=1.0$(touch ${PWNED})`, `hello\ntouch ${PWNED}`, "hello'", 'héllo']) {
      const result = await applyModule(target, apt, { name: [name] });
      expect(result.status, name).to.equal('failed');
      expect(result.failure?.kind, name).to.equal('invalid-input');
      expect(result.msg, name).to.include('is not a Debian package name');
    }
    const odd = await applyModule(target, apt, { name: ['hello=1:2~a+b.c-0'] });
    expect(odd.status).to.equal('failed');
    expect(odd.msg).to.include('no repository offers hello version 1:2~a+b.c-0 (available: 2.10-3)');
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it('names a package no repository has, in check mode and in a real run', async () => {
    await clean();
    for (const check of [true, false]) {
      const result = await applyModule(target, apt, { name: ['hello', 'drover-test-nonexistent'] }, { check });
      expect(result.status).to.equal('failed');
      expect(result.msg).to.include('no repository offers a package named drover-test-nonexistent');
      expect(result.failure?.hint).to.include('apt-cache policy NAME');
      expect(executedCount(result)).to.equal(0);
    }
    expect(await installed()).not.to.have.property('hello');
  });
});
