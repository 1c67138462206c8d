import { expect } from 'chai';
import { selinux, type SelinuxParams } from '../../modules/selinux.ts';
import { shellQuote } from '../../runner/command.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';
import { RHEL_CONFIG } from '../support/selinux-config.ts';

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
