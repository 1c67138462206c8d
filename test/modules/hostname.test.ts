import { expect } from 'chai';
import { parseHostnameState } from '../../modules/facts/hostname-state.ts';
import { hostname, hostnameProblem, readEtcHostname } from '../../modules/hostname.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Captured on a lab host (systemd-nspawn container, Debian 12). */
const CAPTURED = 'current=bGFiLTIK\nhostnamectl=yes\nhostname=yes\n';

function state(current: string, tools: { hostnamectl?: boolean; hostname?: boolean } = {}): string {
  return `current=${b64(`${current}\n`)}\nhostnamectl=${tools.hostnamectl === false ? 'no' : 'yes'}\nhostname=${tools.hostname === false ? 'no' : 'yes'}\n`;
}

function recorded(probe: string, etcHostname: string | null): RecordedHost {
  return new RecordedHost([{ match: '/proc/sys/kernel/hostname', output: { stdout: probe } }, fileProbeAnswer(etcHostname)], 'node1');
}

describe('hostname: names and files (pure)', () => {
  it('accepts RFC 1123 host names and says why others are not', () => {
    for (const good of ['lab-2', 'node1.cluster.example', 'a', 'K8S-CP-1', '1node', 'x'.repeat(63), `${'a'.repeat(63)}.${'b'.repeat(63)}`]) {
      expect(hostnameProblem(good), good).to.equal(undefined);
    }
    const bad: Array<[string, RegExp]> = [
      ['', /must not be empty/],
      ['-node', /label "-node"/],
      ['node-', /label "node-"/],
      ['a..b', /empty label/],
      ['node.', /empty label/],
      ['node_1', /label "node_1"/],
      ['node 1', /not a valid host name/],
      ['$(touch /tmp/pwned)', /not a valid host name/],
      ['nöde', /not a valid host name/],
      ['x'.repeat(64), /not a valid host name/],
      ['10.0.0.1', /looks like an address/],
    ];
    for (const [name, message] of bad) expect(hostnameProblem(name), name).to.match(message);
  });

  it('refuses names the kernel would cut off (more than 64 characters)', () => {
    const long = `${'a'.repeat(40)}.${'b'.repeat(24)}`;
    expect(() => hostname.params.parse({ name: long }, '')).to.throw(SchemaError, /name: .* longer than 64 characters/);
    expect(hostname.params.parse({ name: long.slice(0, 64) }, '')).to.deep.equal({ name: long.slice(0, 64) });
  });

  it('reads /etc/hostname as systemd does', () => {
    expect(readEtcHostname('lab-2\n')).to.equal('lab-2');
    expect(readEtcHostname('# set by the installer\n\n  node1  \nother\n')).to.equal('node1');
    expect(readEtcHostname('')).to.equal(undefined);
  });

  it('parses the probe output captured on a lab host', () => {
    expect(parseHostnameState(CAPTURED)).to.deep.equal({ current: 'lab-2', hostnamectl: true, hostnameTool: true });
    expect(() => parseHostnameState('nothing')).to.throw(/unexpected probe output/);
  });
});

describe('hostname: planner (recorded host)', () => {
  it('writes /etc/hostname first, then sets the running name with hostnamectl', async () => {
    const result = await planOn(hostname, { name: 'k8s-cp-1' }, recorded(state('localhost'), 'localhost\n'));
    expect(result.changes.map((change) => change.diff)).to.deep.equal([
      { kind: 'file', path: '/etc/hostname', before: 'localhost\n', after: 'k8s-cp-1\n' },
      { kind: 'value', name: 'hostname', before: 'localhost', after: 'k8s-cp-1' },
    ]);
    expect(displayedCommands(result)[1]).to.equal('hostnamectl set-hostname k8s-cp-1');
    // Imperatives, which a dry run prints after "would".
    expect(result.changes.map((change) => change.summary)).to.deep.equal(['update /etc/hostname (10 → 9 bytes)', 'set host name localhost → k8s-cp-1']);
  });

  it('keeps a commented /etc/hostname that already names the host', async () => {
    const result = await planOn(hostname, { name: 'k8s-cp-1' }, recorded(state('k8s-cp-1'), '# cloud-init\nk8s-cp-1\n'));
    expect(result).to.deep.equal({ changes: [], reason: 'host name is k8s-cp-1, now and in /etc/hostname' });
  });

  it('uses hostname without systemd, and /proc without any tool', async () => {
    const plain = await planOn(hostname, { name: 'n1' }, recorded(state('n0', { hostnamectl: false }), 'n1\n'));
    expect(displayedCommands(plain)).to.deep.equal(['hostname n1']);
    const bare = await planOn(hostname, { name: 'n1' }, recorded(state('n0', { hostnamectl: false, hostname: false }), 'n1\n'));
    expect(displayedCommands(bare)).to.deep.equal(["printf '%s' n1 > /proc/sys/kernel/hostname"]);
  });

  it('creates a missing /etc/hostname', async () => {
    const result = await planOn(hostname, { name: 'n1' }, recorded(state('n1'), null));
    expect(result.changes.map((change) => change.diff)).to.deep.equal([{ kind: 'file', path: '/etc/hostname', before: null, after: 'n1\n' }]);
  });
});
