import { expect } from 'chai';
import { hosts, type HostsEntry, type HostsParams } from '../../modules/hosts.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 1, its real /etc/hosts (restored byte for byte after each test). ──

const MARKER = 'drover-test-hosts';
const PWNED = '/tmp/drover-pwned-hosts';
const POOL: HostsEntry[] = [
  { address: '10.231.0.11', names: ['drover-test-lab-1'] },
  { address: '10.231.0.12', names: ['drover-test-lab-2.cluster.test', 'drover-test-lab-2'] },
  { address: '10.231.0.13', names: ['drover-test-lab-3'] },
  { address: 'fd00::13', names: ['drover-test-lab-3'] },
];

describe('hosts on a lab host', function () {
  let target: LabTarget;
  let original = '';

  async function etcHosts(): Promise<string> {
    return (await onHost(target, 'cat /etc/hosts')).stdout;
  }

  before(async function () {
    const targets = await labTargets(this, 2);
    target = targets[1]!;
    await closeTargets();
    original = await etcHosts();
    expect(original).to.not.include(MARKER);
    await onHost(target, `rm -f ${PWNED}`);
  });

  afterEach(async () => {
    await onHost(target, 'cat > /etc/hosts', original);
    expect(await etcHosts()).to.equal(original);
    await closeTargets();
  });

  it('applies, resolves the names, re-applies without change, and check mode changes nothing', async () => {
    const entries = POOL.slice(0, 2);
    const first = await applyModule(target, hosts, { entries, marker: MARKER });
    expect(first.status, first.msg).to.equal('changed');
    const block = `# BEGIN ${MARKER}\n10.231.0.11 drover-test-lab-1\n10.231.0.12 drover-test-lab-2.cluster.test drover-test-lab-2\n# END ${MARKER}\n`;
    expect(await etcHosts()).to.equal(original + block);
    // The resolver reads it: an independent check that the lines are well formed.
    const resolved = await onHost(target, 'getent hosts drover-test-lab-2');
    expect(resolved.stdout).to.match(/^10\.231\.0\.12\s+drover-test-lab-2\.cluster\.test drover-test-lab-2\n$/);

    const again = await applyModule(target, hosts, { entries, marker: MARKER });
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands).to.deep.equal([]);
    expect(await etcHosts()).to.equal(original + block);

    const before = await etcHosts();
    const check = await applyModule(target, hosts, { entries: POOL, marker: MARKER }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.have.length(1);
    expect(check.commands.every((command) => !command.executed)).to.equal(true);
    expect(await etcHosts()).to.equal(before);

    const removed = await applyModule(target, hosts, { state: 'absent', marker: MARKER });
    expect(removed.status, removed.msg).to.equal('changed');
    expect(await etcHosts()).to.equal(original);
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    const random = seededBelow(31337);
    const outcomes = new Set<boolean>();
    for (let round = 0; round < 8; round++) {
      const entries = POOL.filter(() => random(2) === 0);
      const params: HostsParams = { entries, marker: random(3) === 0 ? `${MARKER}-b` : MARKER, state: random(5) === 0 ? 'absent' : 'present' };
      const label = `round ${round}: ${JSON.stringify(params)}`;
      const { real } = await predictThenApply(target, hosts, params, label);
      outcomes.add(real.changed);
    }
    expect([...outcomes].sort()).to.deep.equal([false, true]);
  });

  it('hostile strings: a marker arrives literally in the file, bad names and addresses are rejected', async () => {
    const marker = `${MARKER} ; touch ${PWNED} $(touch ${PWNED}) \`touch ${PWNED}\` 'q' "d" ünïcødé`;
    const result = await applyModule(target, hosts, { entries: POOL.slice(0, 1), marker });
    expect(result.status, result.msg).to.equal('changed');
    expect(await etcHosts()).to.equal(`${original}# BEGIN ${marker}\n10.231.0.11 drover-test-lab-1\n# END ${marker}\n`);
    const again = await applyModule(target, hosts, { entries: POOL.slice(0, 1), marker });
    expect(again.status, again.msg).to.equal('ok');

    const rejected: HostsParams[] = [
      { entries: [{ address: `10.0.0.1; touch ${PWNED}`, names: ['a'] }] },
      { entries: [{ address: '10.0.0.1', names: [`$(touch ${PWNED})`] }] },
      { entries: [{ address: '10.0.0.1', names: [`\`touch ${PWNED}\``] }] },
      { entries: [{ address: '10.0.0.1', names: ['a\n10.6.6.6 evil'] }] },
      { entries: [{ address: '10.0.0.1', names: ['ünïcødé'] }] },
      { entries: [], marker: 'a\nb' },
    ];
    for (const input of rejected) {
      const failed = await applyModule(target, hosts, input);
      expect(failed.status, JSON.stringify(input)).to.equal('failed');
      expect(failed.failure?.kind).to.equal('invalid-input');
    }
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it('fails clearly when the path is not a file', async () => {
    const result = await applyModule(target, hosts, { entries: POOL.slice(0, 1), path: '/etc' });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.match(/\/etc is a directory, not a file/);
  });
});
