import { expect } from 'chai';
import { parseSelinuxState } from '../../modules/facts/selinux-state.ts';
import { editSelinuxConfig, readSetting, selinux, SELINUX_CONFIG_HEADER, type SelinuxParams } from '../../modules/selinux.ts';
import { shellQuote } from '../../runner/command.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** /etc/selinux/config as Rocky Linux 9 ships it (comments shortened). */
const RHEL_CONFIG = `# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
#     enforcing - SELinux security policy is enforced.
#     permissive - SELinux prints warnings instead of enforcing.
#     disabled - No SELinux policy is loaded.
SELINUX=enforcing
# SELINUXTYPE= can take one of these three values:
#     targeted - Targeted processes are protected,
#     minimum - Modification of targeted policy. Only selected processes are protected.
#     mls - Multi Level Security protection.
SELINUXTYPE=targeted
`;

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
    ['an asked policy replaces the file\'s', RHEL_CONFIG, 'enforcing', 'mls', RHEL_CONFIG.replace('SELINUXTYPE=targeted', 'SELINUXTYPE=mls')],
    ['the file\'s policy is kept when none is asked', 'SELINUX=enforcing\nSELINUXTYPE=mls\n', 'permissive', undefined, 'SELINUX=permissive\nSELINUXTYPE=mls\n'],
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
    expect(result.changes[0]!.summary).to.equal('SELinux mode enforcing → permissive now (disabled after the next reboot)');
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

// ── Integration: lab host index 1 (Debian, no SELinux in the kernel). ──

const CONFIG = '/etc/selinux/config';
const PWNED = '/tmp/drover-pwned-selinux';
const WEIRD_DIR = `/tmp/drover-test-selinux/dir $(touch ${PWNED}) \`x\` 'q' ü`;
const WEIRD_FILE = `${WEIRD_DIR}/con"fig; touch pwned`;

describe('selinux on a lab host', function () {
  let target: LabTarget;
  /** What this test creates under /etc/selinux, so that only that is removed afterwards. */
  let created: string[] = [];

  async function read(path: string): Promise<string> {
    const output = await onHost(target, `cat ${shellQuote(path)} 2>/dev/null || echo '(absent)'`);
    return output.stdout;
  }

  /** Writes a config (and policy directories) that were not there before. */
  async function seed(text: string, policies: string[]): Promise<void> {
    const output = await onHost(target, `set -e; test ! -e ${CONFIG}; cat > ${CONFIG}; ${policies.map((name) => `mkdir /etc/selinux/${name}`).join('; ')}`, text);
    expect(output.exitCode, `seeding ${CONFIG}: ${output.stderr}`).to.equal(0);
    created = [CONFIG, ...policies.map((name) => `/etc/selinux/${name}`)];
  }

  before(async function () {
    const targets = await labTargets(this, 2);
    target = targets[1]!;
    // Each test is a new run: facts cached by an earlier test's session must not survive onHost's changes.
    await closeTargets();
    const check = await onHost(target, `test -e /sys/fs/selinux/enforce && echo selinux; test -e ${CONFIG} && echo config; rm -rf /tmp/drover-test-selinux ${PWNED}; true`);
    if (check.stdout.trim() !== '') throw new Error(`lab host ${target.name} has SELinux state (${check.stdout.trim()}); these tests expect a host without SELinux`);
  });

  afterEach(async () => {
    if (created.length) await onHost(target, `rm -rf ${created.join(' ')}`);
    created = [];
    await onHost(target, 'rm -rf /tmp/drover-test-selinux');
    await closeTargets();
  });

  it('a host without SELinux: "SELinux not present", in check mode and for real, and nothing is created', async () => {
    for (const check of [true, false]) {
      const result = await applyModule(target, selinux, { state: 'permissive' }, { check });
      expect(result.status, result.msg).to.equal('ok');
      expect(result.msg).to.equal('SELinux not present');
      expect(result.commands).to.deep.equal([]);
    }
    expect(await read(CONFIG)).to.equal('(absent)\n');
  });

  it('edits a config file for real: apply, read back, re-apply, check mode leaves it alone', async () => {
    await seed(RHEL_CONFIG, ['targeted']);
    const first = await applyModule(target, selinux, { state: 'permissive' });
    expect(first.status, first.msg).to.equal('changed');
    // No selinuxfs: only the file changes, and the summary says when it takes effect.
    expect(first.changes).to.have.length(1);
    expect(first.changes[0]).to.match(/takes effect after a reboot/);
    expect(await read(CONFIG)).to.equal(RHEL_CONFIG.replace('SELINUX=enforcing', 'SELINUX=permissive'));

    const again = await applyModule(target, selinux, { state: 'permissive' });
    expect(again.status, again.msg).to.equal('ok');
    expect(again.msg).to.equal(`SELinux not enabled in the running kernel; ${CONFIG} says permissive`);
    expect(again.commands).to.deep.equal([]);

    const before = await read(CONFIG);
    const check = await applyModule(target, selinux, { state: 'disabled' }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([{ kind: 'file', path: CONFIG, before, after: before.replace('SELINUX=permissive', 'SELINUX=disabled') }]);
    expect(await read(CONFIG)).to.equal(before);
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    await seed('SELINUX=enforcing\n', ['targeted', 'mls']);
    const random = seededBelow(99);
    const outcomes = new Set<boolean>();
    let previous: SelinuxParams | undefined;
    for (let round = 0; round < 8; round++) {
      // A third of the rounds repeat the last parameters: the no-change prediction is tested too.
      const params: SelinuxParams = previous && random(3) === 0 ? previous : { state: (['enforcing', 'permissive', 'disabled'] as const)[random(3)]! };
      if (params !== previous && random(2) === 0) params.policy = ['targeted', 'mls'][random(2)]!;
      previous = params;
      const label = `round ${round}: ${JSON.stringify(params)}`;
      const { real } = await predictThenApply(target, selinux, params, label);
      outcomes.add(real.changed);
    }
    expect([...outcomes].sort()).to.deep.equal([false, true]);
  });

  it('hostile strings: a config path arrives literally; a hostile policy is rejected; nothing is executed', async () => {
    const made = await onHost(target, `mkdir -p ${shellQuote(`${WEIRD_DIR}/targeted`)} && printf 'SELINUX=enforcing\\n' > ${shellQuote(WEIRD_FILE)}`);
    expect(made.exitCode, made.stderr).to.equal(0);
    const result = await applyModule(target, selinux, { state: 'permissive', configfile: WEIRD_FILE });
    expect(result.status, result.msg).to.equal('changed');
    expect(await read(WEIRD_FILE)).to.equal('SELINUX=permissive\nSELINUXTYPE=targeted\n');
    for (const policy of [`targeted; touch ${PWNED}`, `$(touch ${PWNED})`, '`id`', 'ünïcødé', 'a b', 'x\ny']) {
      const rejected = await applyModule(target, selinux, { state: 'permissive', policy, configfile: WEIRD_FILE });
      expect(rejected.status, policy).to.equal('failed');
      expect(rejected.failure?.kind).to.equal('invalid-input');
    }
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it('fails clearly for a policy that is not installed, and changes nothing', async () => {
    await seed(RHEL_CONFIG, ['targeted']);
    const result = await applyModule(target, selinux, { state: 'enforcing', policy: 'mls' });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.match(/SELinux policy mls is not installed on \S+ \(no \/etc\/selinux\/mls\)/);
    expect(result.failure?.hint).to.match(/selinux-policy-mls/);
    expect(await read(CONFIG)).to.equal(RHEL_CONFIG);
  });
});
