import { expect } from 'chai';
import { hostname } from '../../modules/hostname.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 1 (a systemd-nspawn container: hostnamectl works in it). ──

const PWNED = '/tmp/drover-pwned-hostname';

describe('hostname on a lab host', function () {
  let target: LabTarget;
  let originalName = '';
  let originalFile = '';

  /** The running name, /etc/hostname's bytes and hostnamed's static name, read with plain OpenSSH. */
  async function readBack(): Promise<{ running: string; file: string; hostnamectl: string }> {
    const output = await onHost(target, 'hostname; echo ---; cat /etc/hostname; echo ---; hostnamectl --static');
    expect(output.exitCode, output.stderr).to.equal(0);
    const [running = '', file = '', hostnamectl = ''] = output.stdout.split('---\n');
    return { running: running.trim(), file, hostnamectl: hostnamectl.trim() };
  }

  before(async function () {
    const targets = await labTargets(this, 2);
    target = targets[1]!;
    await closeTargets();
    const output = await onHost(target, `hostname; base64 -w0 /etc/hostname; rm -f ${PWNED}`);
    [originalName = '', originalFile = ''] = output.stdout.trim().split('\n');
    expect(originalName).to.equal(target.name);
  });

  afterEach(async () => {
    const output = await onHost(target, `echo ${originalFile} | base64 -d > /etc/hostname && hostname ${originalName} && hostname`);
    expect(output.stdout.trim(), output.stderr).to.equal(originalName);
    await closeTargets();
  });

  it('applies, reads back, re-applies without change, and check mode changes nothing', async () => {
    const first = await applyModule(target, hostname, { name: 'drover-test-hostname' });
    expect(first.status, first.msg).to.equal('changed');
    expect(first.changes).to.have.length(2);
    expect(await readBack()).to.deep.equal({ running: 'drover-test-hostname', file: 'drover-test-hostname\n', hostnamectl: 'drover-test-hostname' });

    const again = await applyModule(target, hostname, { name: 'drover-test-hostname' });
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands).to.deep.equal([]);

    const before = await readBack();
    const check = await applyModule(target, hostname, { name: 'drover-test-other' }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([
      { kind: 'file', path: '/etc/hostname', before: 'drover-test-hostname\n', after: 'drover-test-other\n' },
      { kind: 'value', name: 'hostname', before: 'drover-test-hostname', after: 'drover-test-other' },
    ]);
    expect(check.commands.every((command) => !command.executed)).to.equal(true);
    expect(await readBack()).to.deep.equal(before);
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    const random = seededBelow(2024);
    const names = ['drover-test-a', 'drover-test-b', target.name];
    const outcomes = new Set<boolean>();
    for (let round = 0; round < 8; round++) {
      // Start from a random mix: the running name and the file may disagree.
      const running = names[random(names.length)]!;
      const file = random(3) === 0 ? `# a comment\n${names[random(names.length)]}\n` : `${names[random(names.length)]}\n`;
      await onHost(target, `hostname ${running} && cat > /etc/hostname`, file);
      await closeTargets();
      const params = { name: names[random(names.length)]! };
      const label = `round ${round}: running ${running}, file ${JSON.stringify(file)}, ${JSON.stringify(params)}`;
      const { real } = await predictThenApply(target, hostname, params, label);
      expect((await readBack()).running, label).to.equal(params.name);
      outcomes.add(real.changed);
    }
    expect([...outcomes].sort()).to.deep.equal([false, true]);
  });

  it('hostile names are rejected before anything reaches the host', async () => {
    for (const name of [`x; touch ${PWNED}`, `$(touch ${PWNED})`, `\`touch ${PWNED}\``, `x'y"z`, 'with space', 'new\nline', 'ünïcødé', '']) {
      const result = await applyModule(target, hostname, { name });
      expect(result.status, name).to.equal('failed');
      expect(result.failure?.kind, name).to.equal('invalid-input');
      expect(result.msg, name).to.match(/invalid parameter for hostname: name: /);
      expect(result.commands).to.deep.equal([]);
    }
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
    expect((await readBack()).running).to.equal(originalName);
  });

  it('a name too long for the kernel fails with the reason', async () => {
    const result = await applyModule(target, hostname, { name: `${'n'.repeat(60)}.abcde` });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.match(/longer than 64 characters/);
  });
});
