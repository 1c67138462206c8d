import { expect } from 'chai';
import { parseSysctlValues, sysctlKeyPath } from '../../modules/facts/sysctl-values.ts';
import { editSysctlConf, normaliseSysctlValue, SYSCTL_FILE_HEADER, sysctl, sysctlFilePath, type SysctlParams } from '../../modules/sysctl.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { executedCount } from '../support/executed.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { pickBelow, seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Captured on a lab host (Debian 12) with sysctlValuesScript([...]). */
const CAPTURED = `tool=yes
value=net/ipv4/ip_forward MAo=
value=net/ipv4/ip_local_port_range MzI3NjgJNjA5OTkK
directory=net/ipv4
missing=net/ipv4/nope
unreadable=net/ipv4/route/flush
`;

function liveProbe(values: Record<string, string | null>, tool = true): string {
  const lines = [`tool=${tool ? 'yes' : 'no'}`];
  for (const [path, value] of Object.entries(values)) lines.push(value === null ? `missing=${path}` : `value=${path} ${b64(`${value}\n`)}`);
  return `${lines.join('\n')}\n`;
}

function moduleProbe(state: 'loaded' | 'loadable' | 'absent'): string {
  return [
    'kernel=6.1.0-test',
    'sysfs=' + (state === 'loaded' ? 'yes' : 'no'),
    ...(state === 'loaded' ? ['initstate=yes'] : []),
    'proc=' + (state === 'loaded' ? 'yes' : 'no'),
    'builtin-list=no',
    'dryrun=' + (state === 'absent' ? 'failed' : 'ok'),
    `dryrun-output=${state === 'absent' ? b64('modprobe: FATAL: Module br_netfilter not found in directory /lib/modules/6.1.0-test') : ''}`,
  ].join('\n');
}

function recorded(live: string, file: string | null, module?: string): RecordedHost {
  return new RecordedHost([
    { match: '/proc/sys/$p', output: { stdout: live } },
    fileProbeAnswer(file),
    ...(module ? [{ match: 'modprobe -n', output: { stdout: module } }] : []),
  ], 'node1');
}

describe('sysctl: keys, values and the sysctl.d file (pure)', () => {
  it('maps keys to /proc/sys paths with sysctl.d(5)\'s dot/slash rule', () => {
    const table: Array<[string, string]> = [
      ['net.ipv4.ip_forward', 'net/ipv4/ip_forward'],
      ['net/ipv4/ip_forward', 'net/ipv4/ip_forward'],
      ['net.ipv4.conf.eth0/100.rp_filter', 'net/ipv4/conf/eth0.100/rp_filter'],
      ['net/ipv4/conf/eth0.100/rp_filter', 'net/ipv4/conf/eth0.100/rp_filter'],
      ['vm.swappiness', 'vm/swappiness'],
    ];
    for (const [key, path] of table) expect(sysctlKeyPath(key), key).to.equal(path);
  });

  it('compares values the way the kernel prints them', () => {
    const table: Array<[string, string]> = [
      ['32768\t60999\n', '32768 60999'],
      ['  32768    60999 ', '32768 60999'],
      ['01', '1'],
      ['+5', '5'],
      ['-0', '0'],
      ['4096\t131072\t6291456', '4096 131072 6291456'],
      ['cubic', 'cubic'],
      ['', ''],
    ];
    for (const [raw, normal] of table) expect(normaliseSysctlValue(raw), JSON.stringify(raw)).to.equal(normal);
  });

  it('parses the probe output captured on a lab host', () => {
    const values = parseSysctlValues(CAPTURED);
    expect(values.hasSysctlTool).to.equal(true);
    expect(values.readings.get('net/ipv4/ip_forward')).to.deep.equal({ kind: 'value', value: '0\n' });
    expect(values.readings.get('net/ipv4/ip_local_port_range')).to.deep.equal({ kind: 'value', value: '32768\t60999\n' });
    expect(values.readings.get('net/ipv4')).to.deep.equal({ kind: 'directory' });
    expect(values.readings.get('net/ipv4/nope')).to.deep.equal({ kind: 'missing' });
    expect(values.readings.get('net/ipv4/route/flush')).to.deep.equal({ kind: 'unreadable' });
    expect(() => parseSysctlValues('garbage')).to.throw(/unexpected probe output/);
  });

  const entry = (key: string, value?: string) => ({ key, path: sysctlKeyPath(key), ...(value !== undefined ? { value } : {}) });
  const table: Array<{ title: string; before: string | null; entries: ReturnType<typeof entry>[]; after: string | null }> = [
    { title: 'creates a file with a header', before: null, entries: [entry('net.ipv4.ip_forward', '1')], after: `${SYSCTL_FILE_HEADER}net.ipv4.ip_forward = 1\n` },
    { title: 'no file and nothing to remove stays no file', before: null, entries: [entry('net.ipv4.ip_forward')], after: null },
    { title: 'keeps a line whose value is already right, however spaced', before: 'net.ipv4.ip_local_port_range=32768\t60999\n', entries: [entry('net.ipv4.ip_local_port_range', '32768 60999')], after: 'net.ipv4.ip_local_port_range=32768\t60999\n' },
    { title: 'rewrites a wrong value in place, keeping comments and other keys', before: '# mine\nvm.swappiness = 10\nnet.ipv4.ip_forward = 0\nkernel.pid_max = 65536\n', entries: [entry('net.ipv4.ip_forward', '1')], after: '# mine\nvm.swappiness = 10\nnet.ipv4.ip_forward = 1\nkernel.pid_max = 65536\n' },
    { title: 'keeps the ignore-failure prefix', before: '-net.ipv4.ip_forward = 0\n', entries: [entry('net.ipv4.ip_forward', '1')], after: '-net.ipv4.ip_forward = 1\n' },
    { title: 'removes later duplicates, which would win at boot', before: 'net.ipv4.ip_forward = 1\nx.y = 2\nnet/ipv4/ip_forward = 0\n', entries: [entry('net.ipv4.ip_forward', '1')], after: 'net.ipv4.ip_forward = 1\nx.y = 2\n' },
    { title: 'appends a missing key to a file without a final newline', before: 'vm.swappiness = 10', entries: [entry('net.ipv4.ip_forward', '1')], after: 'vm.swappiness = 10\nnet.ipv4.ip_forward = 1\n' },
    { title: 'leaves a file without a final newline alone when nothing changes', before: 'net.ipv4.ip_forward = 1', entries: [entry('net.ipv4.ip_forward', '1')], after: 'net.ipv4.ip_forward = 1' },
    { title: 'absent removes every line of the key, in either spelling', before: 'net.ipv4.ip_forward = 1\n; comment net.ipv4.ip_forward = 1\nnet/ipv4/ip_forward=1\nvm.swappiness = 10\n', entries: [entry('net.ipv4.ip_forward')], after: '; comment net.ipv4.ip_forward = 1\nvm.swappiness = 10\n' },
    { title: 'ignores commented lines', before: '# net.ipv4.ip_forward = 0\n', entries: [entry('net.ipv4.ip_forward', '1')], after: '# net.ipv4.ip_forward = 0\nnet.ipv4.ip_forward = 1\n' },
    { title: 'several keys at once', before: 'net.ipv4.ip_forward = 0\n', entries: [entry('net.ipv4.ip_forward', '1'), entry('net.bridge.bridge-nf-call-iptables', '1')], after: 'net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\n' },
  ];
  for (const row of table) {
    it(`edits the file: ${row.title}`, () => {
      expect(editSysctlConf(row.before, row.entries)).to.equal(row.after);
    });
  }

  it('places the file in /etc/sysctl.d', () => {
    expect(sysctlFilePath('k8s.conf')).to.equal('/etc/sysctl.d/k8s.conf');
    expect(sysctlFilePath('/etc/sysctl.d/k8s.conf')).to.equal('/etc/sysctl.d/k8s.conf');
  });

  it('validates parameters with messages that name them', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{}, /either name .* or settings/],
      [{ name: 'net.ipv4.ip_forward', value: 1, settings: { 'vm.swappiness': 1 } }, /not both/],
      [{ name: 'net.ipv4.ip_forward' }, /value is required/],
      [{ name: 'net.ipv4.ip_forward; rm -rf /', value: 1 }, /name: .* is not a sysctl key/],
      [{ name: 'net/../../etc/passwd', value: 1 }, /is not a sysctl key/],
      [{ settings: { '$(touch /tmp/pwned)': 1 } }, /settings: .* is not a sysctl key/],
      [{ settings: { 'net.ipv4.conf.eth0/100.rp_filter': 1, 'net/ipv4/conf/eth0.100/rp_filter': 1 } }, /are the same key/],
      [{ settings: {} }, /at least one key/],
      [{ name: 'net.ipv4.ip_forward', value: '1\nkernel.panic = 1' }, /line break/],
      [{ name: 'net.ipv4.ip_forward', value: 1, sysctlFile: '../evil.conf' }, /not in \/etc\/sysctl.d/],
      [{ name: 'net.ipv4.ip_forward', value: 1, sysctlFile: '/etc/evil.conf' }, /not in \/etc\/sysctl.d/],
      [{ name: 'net.ipv4.ip_forward', value: 1, sysctlFile: 'k8s' }, /ending in .conf/],
      [{ name: 'net.ipv4.ip_forward', value: 1, sysctlFile: 'a b.conf' }, /ending in .conf/],
      [{ name: 'net.ipv4.ip_forward', value: true }, /value/],
    ];
    for (const [input, message] of bad) {
      expect(() => sysctl.params.parse(input, ''), JSON.stringify(input)).to.throw(SchemaError, message);
    }
    expect(sysctl.params.parse({ name: 'net.ipv4.ip_forward', value: 1, sysctl_file: 'k8s.conf' }, '')).to.include({ sysctlFile: 'k8s.conf', reload: true, state: 'present' });
  });
});

describe('sysctl: planner (recorded host)', () => {
  it('sets a differing live value and creates the file', async () => {
    const result = await planOn(sysctl, { name: 'net.ipv4.ip_forward', value: 1 }, recorded(liveProbe({ 'net/ipv4/ip_forward': '0' }), null));
    expect(result.changes.map((change) => change.summary)).to.have.length(2);
    expect(result.changes[0]!.diff).to.deep.equal({ kind: 'value', name: 'net.ipv4.ip_forward', before: '0', after: '1' });
    expect(result.changes[1]!.diff).to.deep.equal({ kind: 'file', path: '/etc/sysctl.d/99-drover.conf', before: null, after: `${SYSCTL_FILE_HEADER}net.ipv4.ip_forward = 1\n` });
    expect(displayedCommands(result)[0]).to.equal('sysctl -w net.ipv4.ip_forward=1');
  });

  it('changes nothing when live and file agree (tabs in the kernel\'s value)', async () => {
    const host = recorded(liveProbe({ 'net/ipv4/ip_local_port_range': '32768\t60999' }), 'net.ipv4.ip_local_port_range = 32768 60999\n');
    const result = await planOn(sysctl, { name: 'net.ipv4.ip_local_port_range', value: '32768   60999', sysctlFile: 'k8s.conf' }, host);
    expect(result.changes).to.deep.equal([]);
    expect(result.reason).to.match(/live and in \/etc\/sysctl.d\/k8s.conf/);
  });

  it('reads every key and the file in one probe each', async () => {
    const host = recorded(liveProbe({ 'net/ipv4/ip_forward': '1', 'vm/swappiness': '10' }), 'net.ipv4.ip_forward = 1\nvm.swappiness = 10\n');
    await planOn(sysctl, { settings: { 'net.ipv4.ip_forward': 1, 'vm.swappiness': 10 } }, host);
    expect(host.probes).to.have.length(2);
  });

  it('reload false persists only', async () => {
    const result = await planOn(sysctl, { name: 'net.ipv4.ip_forward', value: 1, reload: false }, recorded(liveProbe({ 'net/ipv4/ip_forward': '0' }), null));
    expect(result.changes.map((change) => change.diff?.kind)).to.deep.equal(['file']);
  });

  it('absent removes the key from the file and leaves the live value', async () => {
    const result = await planOn(sysctl, { name: 'net.ipv4.ip_forward', state: 'absent' }, recorded(liveProbe({ 'net/ipv4/ip_forward': '1' }), 'net.ipv4.ip_forward = 1\nvm.swappiness = 10\n'));
    expect(result.changes).to.have.length(1);
    expect(result.changes[0]!.diff).to.include({ kind: 'file', after: 'vm.swappiness = 10\n' });
  });

  it('writes /proc/sys directly when procps is not installed', async () => {
    const result = await planOn(sysctl, { name: 'net.ipv4.ip_forward', value: 1, reload: true }, recorded(liveProbe({ 'net/ipv4/ip_forward': '0' }, false), 'net.ipv4.ip_forward = 1\n'));
    expect(displayedCommands(result)).to.deep.equal(["printf '%s\\n' 1 > /proc/sys/net/ipv4/ip_forward"]);
  });

  it('a key the kernel does not have is an error naming it', async () => {
    const error = await planOn(sysctl, { name: 'net.ipv4.no_such_key', value: 1 }, recorded(liveProbe({ 'net/ipv4/no_such_key': null }), null)).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as ModuleError).message).to.match(/net\.ipv4\.no_such_key does not exist on node1/);
    expect((error as ModuleError).hint).to.match(/spelling/);
  });

  it('a bridge key without a loadable br_netfilter says to load it first', async () => {
    const host = recorded(liveProbe({ 'net/bridge/bridge-nf-call-iptables': null }), null, moduleProbe('absent'));
    const error = await planOn(sysctl, { name: 'net.bridge.bridge-nf-call-iptables', value: 1 }, host).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as ModuleError).message).to.match(/net\.bridge\.bridge-nf-call-iptables does not exist on node1: .*br_netfilter kernel module is loaded/);
    expect((error as ModuleError).message).to.match(/Module br_netfilter not found/);
    expect((error as ModuleError).hint).to.match(/add a modprobe task for br_netfilter before this one/);
  });

  it('a bridge key whose br_netfilter can still be loaded is planned with a guard (a dry run of modprobe-then-sysctl must not fail)', async () => {
    const host = recorded(liveProbe({ 'net/bridge/bridge-nf-call-iptables': null }), null, moduleProbe('loadable'));
    const result = await planOn(sysctl, { name: 'net.bridge.bridge-nf-call-iptables', value: 1 }, host);
    expect(result.changes[0]!.diff).to.deep.equal({ kind: 'value', name: 'net.bridge.bridge-nf-call-iptables', before: null, after: '1' });
    expect(result.changes[0]!.summary).to.match(/once br_netfilter is loaded/);
    expect(displayedCommands(result)[0]).to.match(/^if \[ ! -e \/proc\/sys\/net\/bridge\/bridge-nf-call-iptables \]; then echo '.*add a modprobe task for br_netfilter before this one' >&2; exit 1; fi\nsysctl -w net.bridge.bridge-nf-call-iptables=1$/);
  });

  it('a missing key with its module loaded is an error, not a guess', async () => {
    const host = recorded(liveProbe({ 'net/bridge/bridge-nf-call-iptables': null }), null, moduleProbe('loaded'));
    const error = await planOn(sysctl, { name: 'net.bridge.bridge-nf-call-iptables', value: 1 }, host).catch((caught: unknown) => caught);
    expect((error as ModuleError).message).to.match(/although br_netfilter is loaded/);
  });

  it('refuses a group of keys and a write-only key', async () => {
    const dir = await planOn(sysctl, { name: 'net.ipv4', value: 1 }, recorded('tool=yes\ndirectory=net/ipv4\n', null)).catch((caught: unknown) => caught);
    expect((dir as ModuleError).message).to.match(/is a group of keys/);
    const flush = await planOn(sysctl, { name: 'net.ipv4.route.flush', value: 1 }, recorded('tool=yes\nunreadable=net/ipv4/route/flush\n', null)).catch((caught: unknown) => caught);
    expect((flush as ModuleError).message).to.match(/cannot be read back/);
  });
});

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
    return Object.fromEntries(output.stdout.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
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
    expect(check.diffs.map((diff) => diff.kind === 'value' ? diff.name : diff.path)).to.deep.equal(['net.ipv4.tcp_keepalive_time', 'net.ipv4.conf.all.rp_filter', TEST_PATH]);
    expect(executedCount(check)).to.equal(0);
    expect(await snapshot()).to.equal(before);
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
        settings[key] = key === 'net.ipv4.ip_forward' ? pick(['0', '1'])
          : key === 'net.ipv4.tcp_keepalive_time' ? pick([600, 7200, 601])
            : key === 'net.ipv4.ip_local_port_range' ? pick(['32768 60999', '20000\t61000', '20000 60999'])
              : pick([0, 1, 2]);
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

  it('fails with the key\'s name when the kernel does not have it', async () => {
    const result = await applyModule(target, sysctl, { name: 'net.ipv4.drover_test_no_such_key', value: 1, sysctlFile: TEST_FILE });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.include(`sysctl key net.ipv4.drover_test_no_such_key does not exist on ${target.name}`);
    expect(result.failure?.hint).to.match(/spelling/);
    expect((await onHost(target, `test -e ${TEST_PATH} && echo present || echo absent`)).stdout.trim()).to.equal('absent');
  });
});
