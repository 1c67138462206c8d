import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { parseSysctlValues, sysctlKeyPath, sysctlValuesScript } from '../../modules/facts/sysctl-values.ts';
import { STRICT_PRELUDE } from '../../runner/command.ts';
import { editSysctlConf, normaliseSysctlValue, SYSCTL_FILE_HEADER, sysctl, sysctlFilePath, type SysctlParams } from '../../modules/sysctl.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

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
  return new RecordedHost([{ match: '/proc/sys/$p', output: { stdout: live } }, fileProbeAnswer(file), ...(module ? [{ match: 'modprobe -n', output: { stdout: module } }] : [])], 'node1');
}

describe('sysctl: keys, values and the sysctl.d file (pure)', () => {
  it("maps keys to /proc/sys paths with sysctl.d(5)'s dot/slash rule", () => {
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
      ['-0', '0'],
      ['4096\t131072\t6291456', '4096 131072 6291456'],
      ['cubic', 'cubic'],
      ['', ''],
    ];
    for (const [raw, normal] of table) expect(normaliseSysctlValue(raw), JSON.stringify(raw)).to.equal(normal);
  });

  it('reads each number as the kernel does: a leading 0 is octal, 0x hexadecimal', () => {
    const table: Array<[string, string]> = [
      ['0600', '384'],
      ['010', '8'],
      ['0x10', '16'],
      ['0X1f', '31'],
      ['-010', '-8'],
      ['-0x10', '-16'],
      // Several fields, each read on its own (measured on a lab host: the kernel then prints 32768\t60927).
      ['0x8000 0166777', '32768 60927'],
      ['32768\t0xEE47', '32768 60999'],
      // Refused by the kernel, so not a number it could hold: kept as written (a text sysctl takes it).
      ['08', '08'],
      ['0x', '0x'],
      ['+5', '+5'],
      ['lab-3 0600', 'lab-3 384'],
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
    {
      title: 'keeps a line whose value is already right, however spaced',
      before: 'net.ipv4.ip_local_port_range=32768\t60999\n',
      entries: [entry('net.ipv4.ip_local_port_range', '32768 60999')],
      after: 'net.ipv4.ip_local_port_range=32768\t60999\n',
    },
    {
      title: 'rewrites a wrong value in place, keeping comments and other keys',
      before: '# mine\nvm.swappiness = 10\nnet.ipv4.ip_forward = 0\nkernel.pid_max = 65536\n',
      entries: [entry('net.ipv4.ip_forward', '1')],
      after: '# mine\nvm.swappiness = 10\nnet.ipv4.ip_forward = 1\nkernel.pid_max = 65536\n',
    },
    {
      title: 'keeps a line whose number the kernel reads as the same (octal 0600 is 384)',
      before: 'net.ipv4.tcp_keepalive_time = 0600\n',
      entries: [entry('net.ipv4.tcp_keepalive_time', '384')],
      after: 'net.ipv4.tcp_keepalive_time = 0600\n',
    },
    {
      title: 'rewrites a line whose number the kernel reads differently (0600 is not 600), as the user wrote it',
      before: 'net.ipv4.tcp_keepalive_time = 600\n',
      entries: [entry('net.ipv4.tcp_keepalive_time', '0600')],
      after: 'net.ipv4.tcp_keepalive_time = 0600\n',
    },
    { title: 'keeps the ignore-failure prefix', before: '-net.ipv4.ip_forward = 0\n', entries: [entry('net.ipv4.ip_forward', '1')], after: '-net.ipv4.ip_forward = 1\n' },
    { title: 'removes later duplicates, which would win at boot', before: 'net.ipv4.ip_forward = 1\nx.y = 2\nnet/ipv4/ip_forward = 0\n', entries: [entry('net.ipv4.ip_forward', '1')], after: 'net.ipv4.ip_forward = 1\nx.y = 2\n' },
    { title: 'appends a missing key to a file without a final newline', before: 'vm.swappiness = 10', entries: [entry('net.ipv4.ip_forward', '1')], after: 'vm.swappiness = 10\nnet.ipv4.ip_forward = 1\n' },
    { title: 'leaves a file without a final newline alone when nothing changes', before: 'net.ipv4.ip_forward = 1', entries: [entry('net.ipv4.ip_forward', '1')], after: 'net.ipv4.ip_forward = 1' },
    {
      title: 'absent removes every line of the key, in either spelling',
      before: 'net.ipv4.ip_forward = 1\n; comment net.ipv4.ip_forward = 1\nnet/ipv4/ip_forward=1\nvm.swappiness = 10\n',
      entries: [entry('net.ipv4.ip_forward')],
      after: '; comment net.ipv4.ip_forward = 1\nvm.swappiness = 10\n',
    },
    { title: 'ignores commented lines', before: '# net.ipv4.ip_forward = 0\n', entries: [entry('net.ipv4.ip_forward', '1')], after: '# net.ipv4.ip_forward = 0\nnet.ipv4.ip_forward = 1\n' },
    {
      title: 'several keys at once',
      before: 'net.ipv4.ip_forward = 0\n',
      entries: [entry('net.ipv4.ip_forward', '1'), entry('net.bridge.bridge-nf-call-iptables', '1')],
      after: 'net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\n',
    },
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

  it("changes nothing when live and file agree (tabs in the kernel's value)", async () => {
    const host = recorded(liveProbe({ 'net/ipv4/ip_local_port_range': '32768\t60999' }), 'net.ipv4.ip_local_port_range = 32768 60999\n');
    const result = await planOn(sysctl, { name: 'net.ipv4.ip_local_port_range', value: '32768   60999', sysctlFile: 'k8s.conf' }, host);
    expect(result.changes).to.deep.equal([]);
    expect(result.reason).to.match(/live and in \/etc\/sysctl.d\/k8s.conf/);
  });

  it('reads every key and the file in one probe: one round trip', async () => {
    const host = recorded(liveProbe({ 'net/ipv4/ip_forward': '1', 'vm/swappiness': '10' }), 'net.ipv4.ip_forward = 1\nvm.swappiness = 10\n');
    const result = await planOn(sysctl, { settings: { 'net.ipv4.ip_forward': 1, 'vm.swappiness': 10 } }, host);
    expect(result.changes).to.deep.equal([]);
    expect(host.probes).to.have.length(1);
    expect(host.probes[0]).to.include('/proc/sys/$p').and.include('sha256sum');
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
    expect(displayedCommands(result)[0]).to.match(
      /^if \[ ! -e \/proc\/sys\/net\/bridge\/bridge-nf-call-iptables \]; then echo '.*add a modprobe task for br_netfilter before this one' >&2; exit 1; fi\nsysctl -w net.bridge.bridge-nf-call-iptables=1$/,
    );
  });

  it('a missing key with its module loaded is an error, not a guess', async () => {
    const host = recorded(liveProbe({ 'net/bridge/bridge-nf-call-iptables': null }), null, moduleProbe('loaded'));
    const error = await planOn(sysctl, { name: 'net.bridge.bridge-nf-call-iptables', value: 1 }, host).catch((caught: unknown) => caught);
    expect((error as ModuleError).message).to.match(/although br_netfilter is loaded/);
  });

  it('plans the value the kernel will hold (0600 is octal 384) and writes the value as given', async () => {
    const result = await planOn(sysctl, { name: 'net.ipv4.tcp_keepalive_time', value: '0600', sysctlFile: 't.conf' }, recorded(liveProbe({ 'net/ipv4/tcp_keepalive_time': '7200' }), null));
    expect(result.changes.map((change) => change.summary)[0]).to.equal('set net.ipv4.tcp_keepalive_time 7200 → 384');
    expect(result.changes[0]!.diff).to.deep.equal({ kind: 'value', name: 'net.ipv4.tcp_keepalive_time', before: '7200', after: '384' });
    expect(result.changes[0]!.effects).to.deep.equal([{ kind: 'sysctl', path: 'net/ipv4/tcp_keepalive_time', value: '384' }]);
    expect(displayedCommands(result)[0]).to.equal('sysctl -w net.ipv4.tcp_keepalive_time=0600');
    expect(result.changes[1]!.diff).to.deep.include({ after: `${SYSCTL_FILE_HEADER}net.ipv4.tcp_keepalive_time = 0600\n` });
  });

  it('changes nothing once the kernel holds 384 and the file says 0600', async () => {
    const host = recorded(liveProbe({ 'net/ipv4/tcp_keepalive_time': '384' }), 'net.ipv4.tcp_keepalive_time = 0600\n');
    const result = await planOn(sysctl, { name: 'net.ipv4.tcp_keepalive_time', value: '0600', sysctlFile: 't.conf' }, host);
    expect(result.changes).to.deep.equal([]);
  });

  it('refuses a number the kernel would refuse, naming the key, the value, why and what to write', async () => {
    const table: Array<{ params: SysctlParams; live: Record<string, string | null>; message: RegExp; hint: RegExp }> = [
      {
        params: { name: 'net.ipv4.tcp_keepalive_time', value: '08' },
        live: { 'net/ipv4/tcp_keepalive_time': '7200' },
        message: /^the kernel would refuse "08" for sysctl key net\.ipv4\.tcp_keepalive_time \(EINVAL\): the kernel reads a number with a leading 0 as octal, and 8 and 9 are not octal digits$/,
        hint: /^write 8 for the decimal number \(without the leading 0\)$/,
      },
      {
        params: { name: 'net.ipv4.tcp_keepalive_time', value: '0x', reload: false },
        live: { 'net/ipv4/tcp_keepalive_time': '7200' },
        message: /"0x" for sysctl key net\.ipv4\.tcp_keepalive_time .*hexadecimal digits/,
        hint: /0x1f/,
      },
      {
        params: { settings: { 'net.ipv4.ip_forward': 1, 'net.ipv4.ip_local_port_range': '32768 060999' } },
        live: { 'net/ipv4/ip_forward': '0', 'net/ipv4/ip_local_port_range': '32768\t60999' },
        message: /"32768 060999" for sysctl key net\.ipv4\.ip_local_port_range \(EINVAL\): 060999: .*leading 0 as octal/,
        hint: /^write 60999 for the decimal number \(without the leading 0\) in place of 060999$/,
      },
      {
        // A key that appears only once br_netfilter is loaded: no live value, so it is taken as a number.
        params: { name: 'net.bridge.bridge-nf-call-iptables', value: '+1' },
        live: { 'net/bridge/bridge-nf-call-iptables': null },
        message: /"\+1" for sysctl key net\.bridge\.bridge-nf-call-iptables .*not a \+ sign/,
        hint: /^write 1 \(without the \+\)$/,
      },
    ];
    for (const row of table) {
      const host = recorded(liveProbe(row.live), null, moduleProbe('loadable'));
      const error = await planOn(sysctl, row.params, host).catch((caught: unknown) => caught);
      const label = JSON.stringify(row.params);
      expect(error, label).to.be.instanceOf(ModuleError);
      expect((error as ModuleError).message, label).to.match(row.message);
      expect((error as ModuleError).hint, label).to.match(row.hint);
    }
  });

  it('takes 08 as it is for a key whose live value shows it holds text (kernel.domainname)', async () => {
    const result = await planOn(sysctl, { name: 'kernel.domainname', value: '08' }, recorded(liveProbe({ 'kernel/domainname': '(none)' }), null));
    expect(result.changes[0]!.diff).to.deep.equal({ kind: 'value', name: 'kernel.domainname', before: '(none)', after: '08' });
    expect(displayedCommands(result)[0]).to.equal('sysctl -w kernel.domainname=08');
  });

  it('refuses a group of keys and a write-only key', async () => {
    const dir = await planOn(sysctl, { name: 'net.ipv4', value: 1 }, recorded('tool=yes\ndirectory=net/ipv4\n', null)).catch((caught: unknown) => caught);
    expect((dir as ModuleError).message).to.match(/is a group of keys/);
    const flush = await planOn(sysctl, { name: 'net.ipv4.route.flush', value: 1 }, recorded('tool=yes\nunreadable=net/ipv4/route/flush\n', null)).catch((caught: unknown) => caught);
    expect((flush as ModuleError).message).to.match(/cannot be read back/);
  });
});

describe('sysctl probe, run by the shells hosts have', () => {
  // This machine's own /proc/sys: a readable key, a directory, a missing key, and one the kernel keeps
  // write-only (route/flush refuses reads even to root).
  const paths = ['net/ipv4/ip_forward', 'net/ipv4', 'net/ipv4/nope', 'net/ipv4/route/flush'];
  for (const shell of ['dash', 'bash']) {
    it(`reads each key as captured on a host, and says nothing on stderr (${shell})`, () => {
      const result = spawnSync(shell, ['-c', STRICT_PRELUDE + sysctlValuesScript(paths).text], { encoding: 'utf8' });
      expect(result.stderr).to.equal('');
      expect(result.status).to.equal(0);
      const values = parseSysctlValues(result.stdout);
      expect(values.readings.get('net/ipv4/ip_forward')?.kind).to.equal('value');
      expect(values.readings.get('net/ipv4')).to.deep.equal({ kind: 'directory' });
      expect(values.readings.get('net/ipv4/nope')).to.deep.equal({ kind: 'missing' });
      expect(values.readings.get('net/ipv4/route/flush')).to.deep.equal({ kind: 'unreadable' });
    });
  }
});
