import { expect } from 'chai';
import { escapeField } from '../../modules/facts/fstab.ts';
import { parseProcSwaps } from '../../modules/facts/swap-state.ts';
import { swapoff, type SwapoffParams } from '../../modules/swapoff.ts';
import { shellQuote } from '../../runner/command.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { executedCount } from '../support/executed.ts';
import { runOnHost } from '../support/host-script.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 1. /proc/swaps is NOT per container: every lab host and the controller
// see the same list. So these tests only ever turn off their own swap file (by `device`), on a real
// filesystem (/srv/lab-data, bind-mounted from the controller's disk). The all-swap mode runs for real
// only when the check-mode plan shows that no other swap is active (see the test). ──

const DIR = '/srv/lab-data/drover-test-swapoff';
const FILE = `${DIR}/swapfile`;
/** A directory hidden under a tmpfs: its swap file stays active but its path no longer exists here. */
const HIDDEN = `${DIR}/hidden`;
const PWNED = '/tmp/drover-pwned-swapoff';

describe('swapoff on a lab host', function () {
  let target: LabTarget;
  let originalFstab = '';

  const sh = (script: string, stdin?: string): Promise<string> => runOnHost(target, script, stdin);

  /** Creates and activates a 16 MiB swap file at `path`, with an fstab line for it unless told not to. */
  async function makeSwap(path: string, options: { fstab?: 'enabled' | 'commented' | 'none'; on?: boolean } = {}): Promise<void> {
    const q = shellQuote(path);
    await sh(`set -e; mkdir -p "$(dirname ${q})"; test -e ${q} || { dd if=/dev/zero of=${q} bs=1M count=16 status=none; chmod 600 ${q}; mkswap ${q} >/dev/null; }`);
    if (options.on !== false) await sh(`grep -qF -- ${shellQuote(escapeField(path))} /proc/swaps || swapon ${q}`);
    const line = `${escapeField(path)} none swap sw 0 0`;
    const fstab = options.fstab ?? 'enabled';
    if (fstab !== 'none') await sh('cat >> /etc/fstab', `${fstab === 'commented' ? '# ' : ''}${line}\n`);
  }

  async function activeSwaps(): Promise<string[]> {
    return parseProcSwaps(await sh('cat /proc/swaps')).map((area) => area.path);
  }

  /** Turns off and removes every swap file of this test, restores fstab, unmasks what was masked. */
  async function cleanUp(): Promise<void> {
    await onHost(
      target,
      `umount ${HIDDEN} 2>/dev/null
find ${DIR} -type f -exec swapoff {} \\; 2>/dev/null
rm -rf ${DIR}
systemctl unmask swap.target >/dev/null 2>&1
for unit in $(systemctl list-unit-files --type=swap --no-legend 2>/dev/null | awk '$2 == "masked" && $1 ~ /drover/ {print $1}'); do systemctl unmask -- "$unit" >/dev/null 2>&1; done
rm -f /etc/systemd/system/*drover\\\\x2dtest\\\\x2dswapoff*.swap ${PWNED}
true`,
    );
    if (originalFstab) await sh('cat > /etc/fstab', originalFstab);
    const left = (await activeSwaps()).filter((path) => path.startsWith(DIR));
    expect(left, 'swap files of this test still active after clean-up').to.deep.equal([]);
    await closeTargets();
  }

  before(async function () {
    const targets = await labTargets(this, 2);
    target = targets[1]!;
    const fs = await onHost(target, 'stat -f -c %T /srv/lab-data');
    if (fs.exitCode !== 0 || /overlay|tmpfs/.test(fs.stdout)) {
      throw new Error(`lab host ${target.name} has no /srv/lab-data on a real disk filesystem (stat says ${JSON.stringify(fs.stdout.trim() || fs.stderr.trim())}); swap files need one — the lab must bind-mount it`);
    }
    originalFstab = await sh('cat /etc/fstab');
    await cleanUp();
  });
  afterEach(async () => cleanUp());
  after(async () => {
    if (target) await cleanUp();
  });

  it('turns off one swap file and comments out its fstab line; re-run and check mode change nothing', async () => {
    await makeSwap(FILE);
    const first = await applyModule(target, swapoff, { device: FILE });
    expect(first.status, first.msg).to.equal('changed');
    expect(first.changes).to.deep.equal([
      'turn off swap /srv/lab-data/drover-test-swapoff/swapfile (file, 16380 KiB)',
      `comment out swap entry ${FILE} in /etc/fstab (update /etc/fstab (${originalFstab.length + FILE.length + 18} → ${originalFstab.length + FILE.length + 20} bytes))`,
    ]);
    expect(await activeSwaps()).to.not.include(FILE);
    expect(await sh('cat /etc/fstab')).to.equal(`${originalFstab}# ${FILE} none swap sw 0 0\n`);

    const again = await applyModule(target, swapoff, { device: FILE });
    expect(again.status, again.msg).to.equal('ok');
    expect(again.msg).to.equal(`swap ${FILE} is off, not enabled in /etc/fstab`);
    expect(executedCount(again)).to.equal(0);

    await sh(`swapon ${FILE}`);
    await sh('cat >> /etc/fstab', `${FILE} none swap sw 0 0\n`);
    await closeTargets();
    const before = JSON.stringify([await activeSwaps(), await sh('cat /etc/fstab')]);
    const check = await applyModule(target, swapoff, { device: FILE }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs[0]).to.deep.equal({ kind: 'value', name: `swap ${FILE}`, before: 'on', after: 'off' });
    expect(executedCount(check)).to.equal(0);
    expect(JSON.stringify([await activeSwaps(), await sh('cat /etc/fstab')])).to.equal(before);
  });

  it("masks the device's swap unit when asked", async () => {
    await makeSwap(FILE, { fstab: 'none' });
    const result = await applyModule(target, swapoff, { device: FILE, maskSwapUnits: true });
    expect(result.status, result.msg).to.equal('changed');
    const unit = (await sh(`systemd-escape -p --suffix=swap ${FILE}`)).trim();
    expect(result.changes).to.include(`mask ${unit}`);
    expect((await onHost(target, `systemctl is-enabled -- '${unit}'`)).stdout.trim()).to.equal('masked');
    const again = await applyModule(target, swapoff, { device: FILE, maskSwapUnits: true });
    expect(again.status, again.msg).to.equal('ok');
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    const random = seededBelow(8086);
    const outcomes = new Set<boolean>();
    for (let round = 0; round < 6; round++) {
      await cleanUp();
      await makeSwap(FILE, { on: random(3) !== 0, fstab: (['enabled', 'commented', 'none'] as const)[random(3)] });
      await closeTargets();
      const params: SwapoffParams = { device: FILE, fstab: random(4) !== 0, maskSwapUnits: random(3) === 0 };
      const label = `round ${round}: ${JSON.stringify(params)}`;
      const { predicted, real } = await predictThenApply(target, swapoff, params, label);
      expect(predicted.changes, label).to.deep.equal(real.changes);
      expect(await activeSwaps(), label).to.not.include(FILE);
      outcomes.add(real.changed);
    }
    expect([...outcomes].sort()).to.deep.equal([false, true]);
  });

  it('all swap: planned in check mode; applied for real only when no other swap is active on the machine', async function () {
    await makeSwap(FILE);
    await makeSwap(`${DIR}/second`, { fstab: 'commented' });
    // Like another container's swap: active, listed in /proc/swaps, but its path does not exist here.
    await makeSwap(`${HIDDEN}/swapfile`, { fstab: 'none' });
    await sh(`mount -t tmpfs drover-test-swapoff ${HIDDEN}`);
    await closeTargets();
    const ours = [FILE, `${DIR}/second`];
    const predicted = await applyModule(target, swapoff, { maskSwapUnits: true }, { check: true });
    expect(predicted.status, predicted.msg).to.equal('changed');
    const planned = predicted.diffs.flatMap((diff) => (diff.kind === 'value' && diff.name.startsWith('swap /') ? [diff.name.slice(5)] : []));
    for (const path of ours) expect(planned).to.include(path);
    expect(planned).to.not.include(`${HIDDEN}/swapfile`);
    expect(predicted.changes[0]).to.match(new RegExp(`not visible from this host .*${HIDDEN}/swapfile`));
    expect(predicted.changes).to.include('mask swap.target');
    const others = planned.filter((path) => !ours.includes(path));
    if (others.length > 0) {
      // Another test (or the machine) has swap on: turning it off would break it. The check-mode plan
      // above already showed all-swap mode finds everything; the real run is left to a quieter moment.
      console.log(`    (all-swap real run skipped: other swap active on this machine: ${others.join(', ')})`);
      return;
    }
    const real = await applyModule(target, swapoff, { maskSwapUnits: true });
    expect(real.status, real.msg).to.equal('changed');
    expect(real.diffs).to.deep.equal(predicted.diffs);
    expect((await activeSwaps()).filter((path) => path.startsWith(DIR))).to.deep.equal([`${HIDDEN}/swapfile`]);
    expect(await sh('cat /etc/fstab')).to.equal(`${originalFstab}# ${FILE} none swap sw 0 0\n# ${DIR}/second none swap sw 0 0\n`);
    expect((await onHost(target, 'systemctl is-enabled swap.target')).stdout.trim()).to.equal('masked');
  });

  it('hostile device strings arrive literally (a swap file with such a name is turned off) or are rejected', async () => {
    const hostile = `${DIR}/a $(touch ${PWNED}) ; 'q' "d" \`touch ${PWNED}\` ü/swap file`;
    await makeSwap(hostile);
    expect(await activeSwaps()).to.include(hostile);
    const result = await applyModule(target, swapoff, { device: hostile });
    expect(result.status, result.msg).to.equal('changed');
    expect(await activeSwaps()).to.not.include(hostile);
    expect(await sh('cat /etc/fstab')).to.equal(`${originalFstab}# ${escapeField(hostile)} none swap sw 0 0\n`);

    const inactive = await applyModule(target, swapoff, { device: `/nonexistent; touch ${PWNED}` });
    expect(inactive.status, inactive.msg).to.equal('ok');
    expect(inactive.msg).to.equal(`swap /nonexistent; touch ${PWNED} is off, not enabled in /etc/fstab`);
    for (const device of [`swapfile; touch ${PWNED}`, `/x\ntouch ${PWNED}`, `$(touch ${PWNED})`]) {
      const rejected = await applyModule(target, swapoff, { device });
      expect(rejected.status, device).to.equal('failed');
      expect(rejected.failure?.kind).to.equal('invalid-input');
    }
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it('a relative device fails with what is allowed', async () => {
    const result = await applyModule(target, swapoff, { device: 'swapfile' });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.match(/device: expected an absolute path or UUID=…, LABEL=…, PARTUUID=… or PARTLABEL=…, got "swapfile"/);
  });
});
