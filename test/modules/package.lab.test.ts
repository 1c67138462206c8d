import { expect } from 'chai';
import { packageModule } from '../../modules/package.ts';
import { executedCount } from '../support/executed.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

describe('package on a lab host', function () {
  this.timeout(120_000);
  const PWNED = '/tmp/drover-test-package-pwned';
  let target: LabTarget;
  const dpkg = async (): Promise<string> => (await onHost(target, "dpkg-query -W -f='${Package} ${db:Status-Status} ${Version}' hello 2>/dev/null || true")).stdout;
  const rpm = async (): Promise<string> => (await onHost(target, "rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}' drover-test-b || true")).stdout;

  async function clean(): Promise<void> {
    await onHost(target, `DEBIAN_FRONTEND=noninteractive apt-get purge -y -q hello >/dev/null 2>&1 || true; rpm -e --nodeps drover-test-b >/dev/null 2>&1 || true; rm -f ${PWNED}`);
  }
  before(async function () {
    const targets = await labTargets(this, 3);
    target = targets[Math.min(2, targets.length - 1)]!;
    // The package module does not refresh lists; a host that never ran apt-get update gets it here.
    await onHost(target, 'apt-cache policy hello | grep -q "Candidate: [0-9]" || apt-get update -q >/dev/null');
    await clean();
  });
  after(async () => {
    if (target) await clean();
  });

  it('uses apt on the Debian lab host: installs, re-runs without change, check mode changes nothing', async () => {
    const first = await applyModule(target, packageModule, { name: ['hello'] });
    expect(first.status, first.msg).to.equal('changed');
    expect(first.diffs).to.deep.equal([{ kind: 'value', name: 'package hello', before: null, after: '2.10-3' }]);
    expect(first.commands[0]!.display).to.include('apt-get install');
    expect(await dpkg()).to.equal('hello installed 2.10-3');
    const again = await applyModule(target, packageModule, { name: ['hello'] });
    expect(again.status).to.equal('ok');
    expect(executedCount(again)).to.equal(0);
    const check = await applyModule(target, packageModule, { name: ['hello'], state: 'absent' }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([{ kind: 'value', name: 'package hello', before: '2.10-3', after: null }]);
    expect(await dpkg()).to.equal('hello installed 2.10-3');
    const predicted = check;
    const real = await applyModule(target, packageModule, { name: ['hello'], state: 'absent' });
    expect(real.diffs).to.deep.equal(predicted.diffs);
    expect(await dpkg()).not.to.include('installed');
  });

  it('uses dnf when told to', async () => {
    const result = await applyModule(target, packageModule, { name: ['drover-test-b'], use: 'dnf' });
    expect(result.status, result.msg).to.equal('changed');
    expect(result.commands[0]!.display).to.equal('dnf install -y drover-test-b-1.0-1');
    expect(await rpm()).to.equal('drover-test-b 1.0-1');
    expect((await applyModule(target, packageModule, { name: ['drover-test-b'], use: 'dnf' })).status).to.equal('ok');
  });

  it('fails clearly on a package that does not exist, and refuses hostile names', async () => {
    const missing = await applyModule(target, packageModule, { name: ['drover-test-nonexistent'] });
    expect(missing.status).to.equal('failed');
    expect(missing.msg).to.include('no repository offers a package named drover-test-nonexistent');
    const hostile = await applyModule(target, packageModule, { name: [`hello;touch ${PWNED}`] });
    expect(hostile.status).to.equal('failed');
    expect(hostile.failure?.kind).to.equal('invalid-input');
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });
});
