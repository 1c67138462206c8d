import { expect } from 'chai';
import { SYSCTL_FILE_HEADER, sysctl, type SysctlParams } from '../../modules/sysctl.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { executedCount } from '../support/executed.ts';
import { pickBelow, seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 1 (net.* keys only: they are per network namespace, so per lab host) ──

const KEYS = ['net.ipv4.ip_forward', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.ip_local_port_range', 'net.ipv4.conf.all.rp_filter'] as const;
const TEST_FILE = 'drover-test-sysctl.conf';
const TEST_PATH = `/etc/sysctl.d/${TEST_FILE}`;
const PWNED = '/tmp/drover-pwned-sysctl';

describe('sysctl on a lab host', function () {
  let target: LabTarget;
  let original: Record<string, string> = {};

  async function live(): Promise<Record<string, string>> {
    const output = await onHost(target, `for k in ${KEYS.join(' ')}; do printf '%s=' "$k"; sysctl -n "$k"; done`);
    expect(output.exitCode, output.stderr).to.equal(0);
    return Object.fromEntries(
      output.stdout
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  }

  /** The state check mode must leave alone: live values and the file's bytes. */
  async function snapshot(): Promise<string> {
    const file = await onHost(target, `cat ${TEST_PATH} 2>/dev/null || echo '(absent)'`);
    return JSON.stringify({ live: await live(), file: file.stdout });
  }

  async function restore(): Promise<void> {
    const sets = KEYS.map((key) => `sysctl -q -w '${key}=${original[key]}'`).join(' && ');
    const output = await onHost(target, `${sets} && rm -f /etc/sysctl.d/drover-test-*.conf ${PWNED}`);
    expect(output.exitCode, output.stderr).to.equal(0);
  }

  before(async function () {
    const targets = await labTargets(this, 2);
    target = targets[1]!;
    // Each test is a new run: facts cached by an earlier test's session must not survive onHost's changes.
    await closeTargets();
    original = await live();
    await onHost(target, `rm -f /etc/sysctl.d/drover-test-*.conf ${PWNED}`);
  });
  afterEach(async () => {
    await restore();
    await closeTargets();
  });

  it('applies, reads back, re-applies without change, and check mode changes nothing', async () => {
    const forward = original['net.ipv4.ip_forward'] === '1' ? '0' : '1';
    const settings = { 'net.ipv4.ip_forward': forward, 'net.ipv4.tcp_keepalive_time': 600, 'net.ipv4.ip_local_port_range': '20000 60999' };
    const first = await applyModule(target, sysctl, { settings, sysctlFile: TEST_FILE });
    expect(first.status, first.msg).to.equal('changed');

    const values = await live();
    expect(values['net.ipv4.ip_forward']).to.equal(forward);
    expect(values['net.ipv4.tcp_keepalive_time']).to.equal('600');
    expect(values['net.ipv4.ip_local_port_range']).to.equal('20000\t60999');
    const file = await onHost(target, `cat ${TEST_PATH}; stat -c %a ${TEST_PATH}`);
    expect(file.stdout).to.equal(`${SYSCTL_FILE_HEADER}net.ipv4.ip_forward = ${forward}\nnet.ipv4.tcp_keepalive_time = 600\nnet.ipv4.ip_local_port_range = 20000 60999\n644\n`);

    const again = await applyModule(target, sysctl, { settings: { ...settings, 'net.ipv4.ip_local_port_range': '20000\t60999' }, sysctlFile: TEST_FILE });
    expect(again.status, again.msg).to.equal('ok');
    expect(again.changed).to.equal(false);
    expect(executedCount(again)).to.equal(0);

    const before = await snapshot();
    const check = await applyModule(target, sysctl, { settings: { 'net.ipv4.tcp_keepalive_time': 900, 'net.ipv4.conf.all.rp_filter': 2 }, sysctlFile: TEST_FILE }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs.map((diff) => (diff.kind === 'value' ? diff.name : diff.path))).to.deep.equal(['net.ipv4.tcp_keepalive_time', 'net.ipv4.conf.all.rp_filter', TEST_PATH]);
    expect(executedCount(check)).to.equal(0);
    expect(await snapshot()).to.equal(before);
  });

  it('reads numbers as the kernel does: 0600 is octal 384 in check mode, live and on re-run; 08 is refused before anything is sent', async () => {
    const key = 'net.ipv4.tcp_keepalive_time';
    expect((await onHost(target, `sysctl -q -w ${key}=7200`)).exitCode).to.equal(0);
    const params: SysctlParams = { name: key, value: '0600', sysctlFile: TEST_FILE };

    const before = await snapshot();
    const check = await applyModule(target, sysctl, params, { check: true });
    expect(check.status, check.msg).to.equal('changed');
    expect(check.diffs[0]).to.deep.equal({ kind: 'value', name: key, before: '7200', after: '384' });
    expect(executedCount(check)).to.equal(0);
    expect(await snapshot()).to.equal(before);

    const first = await applyModule(target, sysctl, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(first.diffs[0]).to.deep.equal({ kind: 'value', name: key, before: '7200', after: '384' });
    expect((await live())[key]).to.equal('384');
    // The file keeps the user's spelling: systemd-sysctl writes it at boot and the kernel reads 384 again.
    expect((await onHost(target, `cat ${TEST_PATH}`)).stdout).to.equal(`${SYSCTL_FILE_HEADER}${key} = 0600\n`);

    const again = await applyModule(target, sysctl, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(executedCount(again)).to.equal(0);
    const checkAgain = await applyModule(target, sysctl, params, { check: true });
    expect(checkAgain.status, checkAgain.msg).to.equal('ok');

    // Hexadecimal, one field of several: the kernel holds 32768 60927.
    const range = await applyModule(target, sysctl, { name: 'net.ipv4.ip_local_port_range', value: '0x8000 0166777', sysctlFile: TEST_FILE });
    expect(range.diffs[0]).to.deep.include({ after: '32768 60927' });
    expect((await live())['net.ipv4.ip_local_port_range']).to.equal('32768\t60927');
    expect((await applyModule(target, sysctl, { name: 'net.ipv4.ip_local_port_range', value: '0x8000 0166777', sysctlFile: TEST_FILE })).status).to.equal('ok');

    const settled = await snapshot();
    for (const reload of [true, false]) {
      const refused = await applyModule(target, sysctl, { name: key, value: '08', sysctlFile: TEST_FILE, reload });
      expect(refused.status).to.equal('failed');
      expect(refused.failure?.kind).to.equal('invalid-input');
      expect(refused.msg).to.include(`the kernel would refuse "08" for sysctl key ${key}`);
      expect(refused.msg).to.match(/leading 0 as octal/);
      expect(refused.failure?.hint).to.match(/write 8 for the decimal number/);
      expect(refused.commands).to.deep.equal([]);
    }
    expect(await snapshot()).to.equal(settled);
  });

  it('takes 08 as it is for a key that holds text (kernel.domainname, per UTS namespace)', async () => {
    const domain = (await onHost(target, 'sysctl -n kernel.domainname')).stdout.trim();
    expect(domain, 'the key must show text for this test').to.not.match(/^(0|-?[1-9]\d*)$/);
    try {
      const params: SysctlParams = { name: 'kernel.domainname', value: '08', sysctlFile: TEST_FILE };
      const first = await applyModule(target, sysctl, params);
      expect(first.status, first.msg).to.equal('changed');
      expect(first.diffs[0]).to.deep.equal({ kind: 'value', name: 'kernel.domainname', before: domain, after: '08' });
      expect((await onHost(target, 'sysctl -n kernel.domainname')).stdout).to.equal('08\n');
      const again = await applyModule(target, sysctl, params);
      expect(again.status, again.msg).to.equal('ok');
    } finally {
      expect((await onHost(target, `sysctl -q -w kernel.domainname='${domain}'`)).exitCode).to.equal(0);
    }
  });

  it('reload false writes only the file; the sysctl file names a key once even after two tasks', async () => {
    const keepalive = await applyModule(target, sysctl, { name: 'net.ipv4.tcp_keepalive_time', value: 601, sysctlFile: TEST_FILE, reload: false });
    expect(keepalive.status, keepalive.msg).to.equal('changed');
    expect((await live())['net.ipv4.tcp_keepalive_time']).to.equal(original['net.ipv4.tcp_keepalive_time']);
    await applyModule(target, sysctl, { name: 'net.ipv4.tcp_keepalive_time', value: 602, sysctlFile: TEST_FILE, reload: false });
    const removed = await applyModule(target, sysctl, { name: 'net.ipv4.tcp_keepalive_time', state: 'absent', sysctlFile: TEST_FILE });
    expect(removed.status, removed.msg).to.equal('changed');
    expect((await onHost(target, `cat ${TEST_PATH}`)).stdout).to.equal(SYSCTL_FILE_HEADER);
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    const random = seededBelow(4242);
    const pick = pickBelow(random);
    const outcomes = new Set<boolean>();
    for (let round = 0; round < 6; round++) {
      const settings: Record<string, string | number> = {};
      for (const key of KEYS) {
        if (random(2) === 0) continue;
        settings[key] =
          key === 'net.ipv4.ip_forward' ? pick(['0', '1']) : key === 'net.ipv4.tcp_keepalive_time' ? pick([600, 7200, 601]) : key === 'net.ipv4.ip_local_port_range' ? pick(['32768 60999', '20000\t61000', '20000 60999']) : pick([0, 1, 2]);
      }
      if (Object.keys(settings).length === 0) settings['net.ipv4.ip_forward'] = pick(['0', '1']);
      const params: SysctlParams = { settings, sysctlFile: TEST_FILE, reload: random(4) !== 0, state: random(5) === 0 ? 'absent' : 'present' };
      const label = `round ${round}: ${JSON.stringify(params)}`;
      const { predicted, real } = await predictThenApply(target, sysctl, params, label);
      expect(predicted.changes, label).to.deep.equal(real.changes);
      outcomes.add(real.changed);
    }
    // The sample must exercise both outcomes, or it proves little.
    expect([...outcomes].sort()).to.deep.equal([false, true]);
  });

  it('hostile values arrive literally or are rejected, and are never executed', async () => {
    const hostile = [`; touch ${PWNED}`, `$(touch ${PWNED})`, `\`touch ${PWNED}\``, `'"; touch ${PWNED}; echo "'`, 'with  spaces', 'ünïcødé ☃'];
    for (const value of hostile) {
      // The kernel refuses them live (the key takes a number): the task fails and nothing is persisted.
      const live = await applyModule(target, sysctl, { name: 'net.ipv4.tcp_keepalive_time', value, sysctlFile: TEST_FILE });
      expect(live.status, value).to.equal('failed');
      expect(live.msg, value).to.match(/sysctl -w net\.ipv4\.tcp_keepalive_time=/);
      expect((await onHost(target, `test -e ${TEST_PATH} && echo present || echo absent`)).stdout.trim()).to.equal('absent');
      // Persisted only: the value reaches the file byte for byte.
      const persisted = await applyModule(target, sysctl, { name: 'net.ipv4.tcp_keepalive_time', value, sysctlFile: TEST_FILE, reload: false });
      expect(persisted.status, `${value}: ${persisted.msg}`).to.equal('changed');
      const text = (await onHost(target, `cat ${TEST_PATH}`)).stdout;
      expect(text).to.equal(`${SYSCTL_FILE_HEADER}net.ipv4.tcp_keepalive_time = ${value.trim()}\n`);
      await onHost(target, `rm -f ${TEST_PATH}`);
    }
    const newline = await applyModule(target, sysctl, { name: 'net.ipv4.tcp_keepalive_time', value: `1\ntouch ${PWNED}`, sysctlFile: TEST_FILE });
    expect(newline.status).to.equal('failed');
    expect(newline.failure?.kind).to.equal('invalid-input');
    for (const name of [`net.ipv4.x;touch ${PWNED}`, `$(touch ${PWNED})`]) {
      const result = await applyModule(target, sysctl, { name, value: 1 });
      expect(result.status).to.equal('failed');
      expect(result.msg).to.match(/is not a sysctl key/);
    }
    const file = await applyModule(target, sysctl, { name: 'net.ipv4.ip_forward', value: 1, sysctlFile: `x.conf; touch ${PWNED}` });
    expect(file.msg).to.match(/sysctlFile: .*is not in \/etc\/sysctl.d/);
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it("fails with the key's name when the kernel does not have it", async () => {
    const result = await applyModule(target, sysctl, { name: 'net.ipv4.drover_test_no_such_key', value: 1, sysctlFile: TEST_FILE });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.include(`sysctl key net.ipv4.drover_test_no_such_key does not exist on ${target.name}`);
    expect(result.failure?.hint).to.match(/spelling/);
    expect((await onHost(target, `test -e ${TEST_PATH} && echo present || echo absent`)).stdout.trim()).to.equal('absent');
  });
});
