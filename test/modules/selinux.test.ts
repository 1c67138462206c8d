import { expect } from 'chai';
import { parseSelinuxState } from '../../modules/facts/selinux-state.ts';
import { editSelinuxConfig, readSetting, selinux, SELINUX_CONFIG_HEADER } from '../../modules/selinux.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { RHEL_CONFIG } from '../support/selinux-config.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Captured on a lab host (Debian 12, no SELinux). */
const CAPTURED_NONE = 'enforce=none\nsetenforce=no\n';

function kernel(mode: 'enforcing' | 'permissive' | 'none', options: { setenforce?: boolean; policies?: string[] } = {}): string {
  const enforce = mode === 'none' ? 'none' : mode === 'enforcing' ? '1' : '0';
  return [`enforce=${enforce}`, `setenforce=${options.setenforce === false ? 'no' : 'yes'}`, ...(options.policies ?? ['targeted']).map((name) => `policy=${b64(name)}`)].join('\n');
}

function recorded(probe: string, config: string | null): RecordedHost {
  return new RecordedHost([{ match: '/sys/fs/selinux/enforce', output: { stdout: probe } }, fileProbeAnswer(config)], 'node1');
}

describe('selinux: state and configuration (pure)', () => {
  it('parses the probe output', () => {
    expect(parseSelinuxState(CAPTURED_NONE)).to.deep.equal({ enabled: false, hasSetenforce: false, policies: [] });
    expect(parseSelinuxState(kernel('enforcing', { policies: ['targeted', 'mls'] }))).to.deep.equal({ enabled: true, mode: 'enforcing', hasSetenforce: true, policies: ['targeted', 'mls'] });
    expect(parseSelinuxState('enforce=0\nsetenforce=no\n')).to.include({ enabled: true, mode: 'permissive' });
    expect(() => parseSelinuxState('enforce=maybe\n')).to.throw(/unexpected probe output/);
  });

  const table: Array<[string, string | null, 'enforcing' | 'permissive' | 'disabled', string | undefined, string]> = [
    ['RHEL default to permissive, in place, comments kept', RHEL_CONFIG, 'permissive', undefined, RHEL_CONFIG.replace('SELINUX=enforcing', 'SELINUX=permissive')],
    ['already as asked: byte for byte the same', RHEL_CONFIG, 'enforcing', undefined, RHEL_CONFIG],
    ['quoted values count as the same', 'SELINUX="permissive"\nSELINUXTYPE=\'targeted\'\n', 'permissive', undefined, 'SELINUX="permissive"\nSELINUXTYPE=\'targeted\'\n'],
    ['a new file gets the default policy', null, 'permissive', undefined, `${SELINUX_CONFIG_HEADER}SELINUX=permissive\nSELINUXTYPE=targeted\n`],
    ['disabled does not add a policy', 'SELINUX=enforcing\n', 'disabled', undefined, 'SELINUX=disabled\n'],
    ["an asked policy replaces the file's", RHEL_CONFIG, 'enforcing', 'mls', RHEL_CONFIG.replace('SELINUXTYPE=targeted', 'SELINUXTYPE=mls')],
    ["the file's policy is kept when none is asked", 'SELINUX=enforcing\nSELINUXTYPE=mls\n', 'permissive', undefined, 'SELINUX=permissive\nSELINUXTYPE=mls\n'],
    ['later duplicates go (the last one would win)', 'SELINUX=permissive\nSELINUX=enforcing\nSELINUXTYPE=targeted\n', 'permissive', undefined, 'SELINUX=permissive\nSELINUXTYPE=targeted\n'],
    ['SELINUXTYPE is not mistaken for SELINUX', 'SELINUXTYPE=targeted\n', 'permissive', undefined, 'SELINUXTYPE=targeted\nSELINUX=permissive\n'],
  ];
  for (const [title, before, state, policy, after] of table) {
    it(`edits the config: ${title}`, () => expect(editSelinuxConfig(before, state, policy)).to.equal(after));
  }

  it('reads a setting as selinux does (last one wins, quotes ignored)', () => {
    expect(readSetting('SELINUX=enforcing\nSELINUX="permissive"\n', 'SELINUX')).to.equal('permissive');
    expect(readSetting('SELINUXTYPE=mls\n', 'SELINUX')).to.equal(undefined);
  });

  it('validates parameters', () => {
    expect(() => selinux.params.parse({}, '')).to.throw(SchemaError, /state: is required/);
    expect(() => selinux.params.parse({ state: 'off' }, '')).to.throw(SchemaError, /one of: enforcing, permissive, disabled/);
    expect(() => selinux.params.parse({ state: 'permissive', policy: 'targeted; rm -rf /' }, '')).to.throw(SchemaError, /policy: .* is not a policy name/);
    expect(() => selinux.params.parse({ state: 'permissive', configfile: 'etc/selinux/config' }, '')).to.throw(SchemaError, /configfile: /);
    expect(() => selinux.params.parse({ state: 'permissive', configfile: '/etc/selinux/config\n/etc/passwd' }, '')).to.throw(SchemaError, /configfile: /);
  });
});

describe('selinux: planner (recorded host)', () => {
  it('a host without SELinux: nothing to do, not a failure', async () => {
    const host = recorded(CAPTURED_NONE, null);
    const result = await planOn(selinux, { state: 'permissive' }, host);
    expect(result).to.deep.equal({ changes: [], reason: 'SELinux not present' });
    expect(host.probes).to.have.length(2);
  });

  it('enforcing → permissive: setenforce 0 now and the file for boot', async () => {
    const result = await planOn(selinux, { state: 'permissive' }, recorded(kernel('enforcing'), RHEL_CONFIG));
    expect(result.changes.map((change) => change.diff)).to.deep.equal([
      { kind: 'value', name: 'SELinux mode', before: 'enforcing', after: 'permissive' },
      { kind: 'file', path: '/etc/selinux/config', before: RHEL_CONFIG, after: RHEL_CONFIG.replace('SELINUX=enforcing', 'SELINUX=permissive') },
    ]);
    expect(displayedCommands(result)[0]).to.equal('setenforce 0');
  });

  it('disabled: permissive now, disabled after the next reboot', async () => {
    const result = await planOn(selinux, { state: 'disabled' }, recorded(kernel('enforcing', { setenforce: false }), RHEL_CONFIG));
    expect(result.changes[0]!.summary).to.equal('set SELinux mode enforcing → permissive now (disabled after the next reboot)');
    expect(displayedCommands(result)[0]).to.equal("printf '%s' 0 > /sys/fs/selinux/enforce");
  });

  it('already permissive now and in the file: no change', async () => {
    const result = await planOn(selinux, { state: 'permissive' }, recorded(kernel('permissive'), 'SELINUX=permissive\nSELINUXTYPE=targeted\n'));
    expect(result.changes).to.deep.equal([]);
    expect(result.reason).to.equal('SELinux permissive now; /etc/selinux/config says permissive');
  });

  it('SELinux off in the kernel but configured: only the file, and the summary says a reboot is needed', async () => {
    const result = await planOn(selinux, { state: 'enforcing' }, recorded(kernel('none'), 'SELINUX=disabled\nSELINUXTYPE=targeted\n'));
    expect(result.changes).to.have.length(1);
    expect(result.changes[0]!.summary).to.match(/takes effect after a reboot/);
  });

  it('refuses to configure a policy that is not installed', async () => {
    const error = await planOn(selinux, { state: 'enforcing', policy: 'mls' }, recorded(kernel('enforcing'), RHEL_CONFIG)).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as ModuleError).message).to.match(/SELinux policy mls is not installed on node1 \(no \/etc\/selinux\/mls\)/);
    expect((error as ModuleError).hint).to.match(/selinux-policy-mls.*\(targeted\)/);
  });
});
