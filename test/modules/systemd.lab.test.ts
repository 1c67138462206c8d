import { expect } from 'chai';
import { systemd, type SystemdParams } from '../../modules/systemd.ts';
import { executedCount } from '../support/executed.ts';
import { runOnHost } from '../support/host-script.ts';
import { seededSampler } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, type LabTarget } from '../support/targets.ts';

describe('systemd on a lab host', function () {
  const PWNED = '/tmp/drover-test-systemd-pwned';
  const WEB = 'drover-test-web';
  const WEB_UNIT = '[Unit]\nDescription=drover test web\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';
  let target: LabTarget;

  const sh = (script: string): Promise<string> => runOnHost(target, script);

  /** What check mode must leave alone: state, enablement, reload flag and the files' bytes. */
  async function snapshot(): Promise<string> {
    return sh(`for u in /etc/systemd/system/drover-test-*; do echo "$u"; done
for u in ${WEB} drover-test-fail drover-test-simple; do systemctl show -p ActiveState,UnitFileState,NeedDaemonReload,MainPID $u.service; systemctl is-enabled $u 2>&1 || true; done
find /etc/systemd/system -path '*drover-test*' -type f -exec sha256sum {} + | sort`);
  }

  async function cleanUp(): Promise<void> {
    await sh(`for u in $(cd /etc/systemd/system && ls -d drover-test-* 2>/dev/null | sed 's/\\.d$//' | sort -u); do systemctl disable --now "$u" >/dev/null 2>&1 || true; systemctl unmask "$u" >/dev/null 2>&1 || true; done
rm -rf /etc/systemd/system/drover-test-* /run/systemd/system/drover-test-* ${PWNED}
systemctl daemon-reload
systemctl reset-failed 'drover-test-*' 2>/dev/null || true`);
  }

  before(async function () {
    const targets = await labTargets(this, 1);
    target = targets[0]!;
    await closeTargets();
    await cleanUp();
  });
  afterEach(async () => {
    await closeTargets();
  });
  after(async () => {
    if (target) await cleanUp();
  });

  it('writes a unit and a drop-in, starts and enables; reads back; re-applies without change; check mode changes nothing', async () => {
    const params: SystemdParams = { name: WEB, unitFile: WEB_UNIT, dropIns: { 'env.conf': '[Service]\nEnvironment=DROVER_TEST=1\n' }, state: 'started', enabled: true };
    const first = await applyModule(target, systemd, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(first.changes).to.deep.equal([
      `create /etc/systemd/system/${WEB}.service (${Buffer.byteLength(WEB_UNIT)} bytes)`,
      `create /etc/systemd/system/${WEB}.service.d/env.conf (36 bytes, creating /etc/systemd/system/${WEB}.service.d)`,
      // systemctl enable reloads systemd (the drop-in's Environment read back below shows it did).
      `enable ${WEB}.service (systemd reloads with it: its unit files changed)`,
      `start ${WEB}.service`,
    ]);
    expect(await sh(`systemctl is-active ${WEB}; systemctl is-enabled ${WEB}; systemctl show -p Environment,NeedDaemonReload ${WEB}`)).to.equal('active\nenabled\nEnvironment=DROVER_TEST=1\nNeedDaemonReload=no\n');
    expect(await sh(`cat /etc/systemd/system/${WEB}.service`)).to.equal(WEB_UNIT);

    const again = await applyModule(target, systemd, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(again.msg).to.equal(`${WEB}.service: active (running), enabled`);
    expect(executedCount(again)).to.equal(0);

    const before = await snapshot();
    const check = await applyModule(target, systemd, { ...params, dropIns: { 'env.conf': '[Service]\nEnvironment=DROVER_TEST=2\n' }, state: 'restarted', enabled: false }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.changes).to.deep.equal([`update /etc/systemd/system/${WEB}.service.d/env.conf (36 → 36 bytes)`, `disable ${WEB}.service (systemd reloads with it: its unit files changed)`, `restart ${WEB}.service`]);
    expect(executedCount(check)).to.equal(0);
    expect(await snapshot()).to.equal(before);
  });

  it('stops and disables in one task (systemctl disable --now), and again changes nothing', async () => {
    const off = await applyModule(target, systemd, { name: WEB, state: 'stopped', enabled: false });
    expect(off.status, off.msg).to.equal('changed');
    expect(off.changes).to.deep.equal([`disable ${WEB}.service`, `stop ${WEB}.service`]);
    expect(await sh(`systemctl is-active ${WEB} || true; systemctl is-enabled ${WEB} || true`)).to.equal('inactive\ndisabled\n');
    const again = await applyModule(target, systemd, { name: WEB, state: 'stopped', enabled: false });
    expect([again.status, executedCount(again)]).to.deep.equal(['ok', 0]);
  });

  it('daemonReload auto: reloads only when systemd (or a new drop-in) says so', async () => {
    // Only a loaded unit can be stale: systemd drops an inactive unit and reads it afresh when asked.
    expect((await applyModule(target, systemd, { name: WEB, state: 'started' })).status).to.equal('changed');
    await sh(`printf '# edited by hand\\n' >> /etc/systemd/system/${WEB}.service`);
    expect(await sh(`systemctl show -p NeedDaemonReload ${WEB}`)).to.equal('NeedDaemonReload=yes\n');
    const reload = await applyModule(target, systemd, { name: WEB, daemonReload: 'auto' });
    expect(reload.changes).to.deep.equal([`run systemctl daemon-reload (${WEB}.service: systemd reports its files changed on disk (NeedDaemonReload=yes))`]);
    expect(await sh(`systemctl show -p NeedDaemonReload ${WEB}`)).to.equal('NeedDaemonReload=no\n');
    const none = await applyModule(target, systemd, { name: WEB, daemonReload: 'auto' });
    expect([none.status, executedCount(none)]).to.deep.equal(['ok', 0]);

    // systemd 252 does not flag a drop-in added in a NAME.d directory it did not load from; the probe does.
    await sh(`mkdir -p /run/systemd/system/${WEB}.service.d && printf '[Unit]\\nDescription=by hand\\n' > /run/systemd/system/${WEB}.service.d/hand.conf`);
    expect(await sh(`systemctl show -p NeedDaemonReload ${WEB}`)).to.equal('NeedDaemonReload=no\n');
    const dropIn = await applyModule(target, systemd, { name: WEB, state: 'started' });
    expect(dropIn.changes).to.deep.equal([`run systemctl daemon-reload (${WEB}.service: drop-ins not loaded yet: /run/systemd/system/${WEB}.service.d/hand.conf)`]);
    expect(await sh(`systemctl show -p Description ${WEB}`)).to.equal('Description=by hand\n');
    await sh(`rm -r /run/systemd/system/${WEB}.service.d`);
    expect(await sh(`systemctl show -p NeedDaemonReload ${WEB}`)).to.equal('NeedDaemonReload=yes\n');
    const quiet = await applyModule(target, systemd, { name: WEB, state: 'started', daemonReload: false });
    expect([quiet.status, executedCount(quiet)]).to.deep.equal(['ok', 0]);
    await applyModule(target, systemd, { name: WEB, state: 'stopped', daemonReload: true });
  });

  it('restarted always restarts; masked and unmasked', async () => {
    await applyModule(target, systemd, { name: WEB, state: 'started' });
    const pid = async () => (await sh(`systemctl show -p MainPID ${WEB}`)).trim();
    const before = await pid();
    const restart = await applyModule(target, systemd, { name: WEB, state: 'restarted' });
    expect(restart.changes).to.deep.equal([`restart ${WEB}.service`]);
    const after = await pid();
    expect(after).to.not.equal(before);
    const again = await applyModule(target, systemd, { name: WEB, state: 'restarted' });
    expect(again.changed).to.equal(true);
    expect(await pid()).to.not.equal(after);

    // A unit whose file lives in /etc/systemd/system cannot be masked: said while planning.
    const refused = await applyModule(target, systemd, { name: WEB, masked: true, state: 'stopped' });
    expect(refused.status).to.equal('failed');
    expect(refused.msg).to.match(/cannot mask drover-test-web.service/);
    expect(await sh(`systemctl is-active ${WEB}`)).to.equal('active\n');

    const maskName = 'drover-test-masked';
    const mask = await applyModule(target, systemd, { name: maskName, masked: true });
    expect(mask.changes).to.deep.equal([`mask ${maskName}.service`]);
    expect(await sh(`systemctl is-enabled ${maskName} || true`)).to.equal('masked\n');
    expect((await applyModule(target, systemd, { name: maskName, masked: true, state: 'stopped' })).status).to.equal('ok');
    const started = await applyModule(target, systemd, { name: maskName, state: 'started' });
    expect(started.status).to.equal('failed');
    expect(started.msg).to.match(/masked and cannot be started/);
    const unmask = await applyModule(target, systemd, { name: maskName, masked: false });
    expect(unmask.changes).to.deep.equal([`unmask ${maskName}.service`]);
    expect(await sh(`systemctl is-enabled ${maskName} 2>&1 || true`)).to.match(/No such file|not-found/);
    // Unmasked and disabled, with no unit file under the mask: the disable has nothing to do (it failed
    // the task after the unmask had happened), and the dry run says the same as the run.
    await applyModule(target, systemd, { name: maskName, masked: true });
    const wanted = { name: maskName, masked: false, enabled: false };
    const expected = [`unmask ${maskName}.service`, `disable ${maskName}.service (if it has a unit file once unmasked)`];
    const predicted = await applyModule(target, systemd, wanted, { check: true });
    expect(predicted.changes).to.deep.equal(expected);
    const unmasked = await applyModule(target, systemd, wanted);
    expect(unmasked.status, unmasked.msg).to.equal('changed');
    expect(unmasked.changes).to.deep.equal(expected);
    expect(await sh(`systemctl is-enabled ${maskName} 2>&1 || true`)).to.match(/No such file|not-found/);
    expect((await applyModule(target, systemd, wanted)).status).to.equal('ok');
    await applyModule(target, systemd, { name: WEB, state: 'stopped' });
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    const { next: random, pick } = seededSampler(5150);
    const outcomes = new Set<boolean>();
    for (let round = 0; round < 8; round++) {
      const params: SystemdParams = { name: WEB, unitFile: WEB_UNIT };
      const state = pick([undefined, 'started', 'stopped', 'reloaded'] as const);
      const enabled = pick([undefined, true, false] as const);
      const dropIn = pick([undefined, 'A', 'B'] as const);
      if (state) params.state = state;
      if (enabled !== undefined) params.enabled = enabled;
      if (dropIn) params.dropIns = { 'env.conf': `[Service]\nEnvironment=DROVER_TEST=${dropIn}\n` };
      if (random() < 0.3) params.daemonReload = 'auto';
      const label = `round ${round}: ${JSON.stringify(params)}`;
      const predicted = await applyModule(target, systemd, params, { check: true });
      const real = await applyModule(target, systemd, params);
      // reloaded on a running unit without ExecReload is refused in both runs alike.
      expect(real.status, `${label}: ${real.msg}`).to.be.oneOf(['ok', 'changed', 'failed']);
      expect(predicted.status, label).to.equal(real.status === 'ok' ? 'ok' : real.status);
      expect(predicted.changed, label).to.equal(real.changed);
      expect(predicted.diffs, label).to.deep.equal(real.diffs);
      expect(predicted.changes, label).to.deep.equal(real.changes);
      if (real.status !== 'failed') outcomes.add(real.changed);
      await closeTargets();
      // The same task again: predicted and real agree on "nothing to do".
      const repeatPredicted = await applyModule(target, systemd, params, { check: true });
      const repeat = await applyModule(target, systemd, params);
      expect([repeatPredicted.changed, repeatPredicted.status], `${label} (again)`).to.deep.equal([repeat.changed, repeat.status]);
      if (real.status !== 'failed') {
        expect(repeat.changed, `${label} (again): ${repeat.msg}`).to.equal(false);
        outcomes.add(repeat.changed);
      }
      await closeTargets();
    }
    expect([...outcomes].sort()).to.deep.equal([false, true]);
    await applyModule(target, systemd, { name: WEB, state: 'stopped' });
  });

  it('hostile strings arrive literally in files or are rejected, never executed', async () => {
    const hostile = [`; touch ${PWNED}`, `$(touch ${PWNED})`, `\`touch ${PWNED}\``, `'"; touch ${PWNED}; echo "'`, 'with  spaces\nand a newline', 'ünïcødé ☃'];
    // One task, one drop-in per value (and so one daemon-reload for all).
    const dropIns = Object.fromEntries(hostile.map((value, index) => [`hostile-${index}.conf`, `[Unit]\nDescription=${value}\n`]));
    const result = await applyModule(target, systemd, { name: WEB, dropIns });
    expect(result.status, result.msg).to.equal('changed');
    for (const [file, content] of Object.entries(dropIns)) {
      expect(await sh(`cat /etc/systemd/system/${WEB}.service.d/${file}`)).to.equal(content);
    }
    for (const name of [`x; touch ${PWNED}`, `$(touch ${PWNED})`, `\`touch ${PWNED}\``, 'a b', '-x']) {
      const result = await applyModule(target, systemd, { name, state: 'started' });
      expect(result.status, name).to.equal('failed');
      expect(result.failure?.kind).to.equal('invalid-input');
      expect(result.msg).to.match(/name: .* is not a systemd unit name/);
    }
    const badDropIn = await applyModule(target, systemd, { name: WEB, dropIns: { [`x.conf; touch ${PWNED}`]: '[Unit]\n' } });
    expect(badDropIn.msg).to.match(/must be a plain file name ending in .conf/);
    expect(await sh(`test -e ${PWNED} && echo pwned || echo clean`)).to.equal('clean\n');
    await sh(`rm -f /etc/systemd/system/${WEB}.service.d/hostile-*.conf && systemctl daemon-reload`);
  });

  it('a unit that fails to start fails the task with its journal; a missing unit is a clear error', async () => {
    const fail = await applyModule(target, systemd, {
      name: 'drover-test-fail',
      unitFile: '[Service]\nType=oneshot\nExecStart=/bin/sh -c "echo drover-test-boom >&2; exit 3"\n',
      state: 'started',
    });
    expect(fail.status).to.equal('failed');
    expect(fail.failure?.kind).to.equal('command-failed');
    expect(fail.msg).to.match(/command exited with 1: systemctl start drover-test-fail.service/);
    expect(fail.msg).to.match(/diagnosis:\n[\s\S]*drover-test-boom/);

    // Type=simple: systemctl start itself succeeds; the module notices the unit failed right after.
    const simple = await applyModule(target, systemd, { name: 'drover-test-simple', unitFile: '[Service]\nExecStart=/nonexistent/drover-test-binary\n', state: 'started' });
    expect(simple.status).to.equal('failed');
    expect(simple.msg).to.match(/drover-test-simple.service failed right after start/);
    expect(simple.msg).to.match(/diagnosis:\n[\s\S]*drover-test-binary/);

    const missing = await applyModule(target, systemd, { name: 'drover-test-nonexistent', state: 'started' });
    expect(missing.status).to.equal('failed');
    expect(missing.msg).to.include('command exited with 1: check that drover-test-nonexistent.service exists');
    expect(missing.msg).to.include('unit drover-test-nonexistent.service does not exist: install the package that provides it');
    // Only the guard ran: nothing was enabled or started.
    expect(missing.commands.filter((command) => command.executed).map((command) => command.display)).to.satisfy((displays: string[]) => displays.length === 1 && displays[0]!.startsWith('systemctl cat -- drover-test-nonexistent.service'));
    const predicted = await applyModule(target, systemd, { name: 'drover-test-nonexistent', state: 'started' }, { check: true });
    expect(predicted).to.include({ status: 'changed', uncertain: true });
    const stopMissing = await applyModule(target, systemd, { name: 'drover-test-nonexistent', state: 'stopped', enabled: false });
    expect(stopMissing.status).to.equal('ok');
    expect(stopMissing.msg).to.match(/not found/);
  });

  it('the reload riding on systemctl disable: the restart after it runs the new drop-in, and systemd has nothing left to reload', async () => {
    const name = 'drover-test-reload';
    const dropIn = (value: number) => ({ 'env.conf': `[Service]\nEnvironment=DROVER_TEST=${value}\n` });
    const on = await applyModule(target, systemd, { name, unitFile: WEB_UNIT, dropIns: dropIn(1), state: 'started', enabled: true });
    expect(on.changes.slice(2)).to.deep.equal([`enable ${name}.service (systemd reloads with it: its unit files changed)`, `start ${name}.service`]);
    const off = await applyModule(target, systemd, { name, dropIns: dropIn(2), state: 'restarted', enabled: false });
    expect(off.changes.slice(1)).to.deep.equal([`disable ${name}.service (systemd reloads with it: its unit files changed)`, `restart ${name}.service`]);
    const pid = (await sh(`systemctl show -p MainPID --value ${name}`)).trim();
    expect(await sh(`systemctl is-active ${name}; systemctl is-enabled ${name} || true; systemctl show -p Environment,NeedDaemonReload ${name}; tr '\\0' '\\n' < /proc/${pid}/environ | grep ^DROVER_TEST=`)).to.equal(
      'active\ndisabled\nEnvironment=DROVER_TEST=2\nNeedDaemonReload=no\nDROVER_TEST=2\n',
    );
  });
});
