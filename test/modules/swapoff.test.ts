import { expect } from 'chai';
import { escapeField, parseFstab } from '../../modules/facts/fstab.ts';
import { parseProcSwaps, parseSwapState, type SwapState } from '../../modules/facts/swap-state.ts';
import { activeTargets, commentOutSwapEntries, fstabEntryMatches, swapoff, unitsToMask, type SwapoffParams } from '../../modules/swapoff.ts';
import { shellQuote } from '../../runner/command.ts';
import { SchemaError } from '../../runner/schema.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { executedCount } from '../support/executed.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { runOnHost } from '../support/host-script.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';
import { seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

const PROC_SWAPS_HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';

/** A probe output shaped like the lab host's (captured with an active swap file named "swap file"). */
function swapProbe(options: {
  active?: string[];
  /** Active areas whose path does not exist on the host (another container's, the machine's). */
  invisible?: string[];
  resolve?: Record<string, string>;
  device?: string;
  systemd?: boolean;
  target?: string;
  units?: Array<[string, string]>;
  deviceUnits?: Array<[string, string]>;
} = {}): string {
  const all = [...(options.active ?? []), ...(options.invisible ?? [])];
  const swaps = PROC_SWAPS_HEADER + all.map((path) => `${escapeField(path)} file\t\t8188\t\t0\t\t-2\n`).join('');
  const lines = [`swaps=${b64(swaps)}`, ...(options.invisible ?? []).map((path) => `invisible=${b64(escapeField(path))}`)];
  for (const [spec, resolved] of Object.entries(options.resolve ?? {})) lines.push(`resolve=${b64(spec)} ${b64(resolved)}`);
  if (options.device !== undefined) lines.push(`device=${b64(options.device)}`);
  if (options.systemd === false) lines.push('systemd=no');
  else {
    lines.push('systemd=yes', `target=${options.target ?? 'static'}`);
    for (const [name, load] of options.units ?? []) lines.push(`unit=${name} ${load}`);
    for (const [name, state] of options.deviceUnits ?? []) lines.push(`devunit=${name} ${state}`);
  }
  return `${lines.join('\n')}\n`;
}

const FSTAB = `# /etc/fstab: static file system information.
UUID=4f1c / ext4 errors=remount-ro 0 1
UUID=9a2b none swap sw 0 0
/swapfile none swap sw,pri=5 0 0
# /old-swap none swap sw 0 0
/dev/vdc1 /data xfs defaults 0 2
`;

function recorded(probe: string, fstab: string | null): RecordedHost {
  return new RecordedHost([{ match: '/proc/swaps', output: { stdout: probe } }, fileProbeAnswer(fstab)], 'node1');
}

describe('swapoff: swap state and fstab (pure)', () => {
  it('parses /proc/swaps, decoding escaped blanks', () => {
    const text = `${PROC_SWAPS_HEADER}/dev/vda3                               partition\t2097148\t\t1024\t\t-2\n/srv/lab-data/x/swap\\040file file\t\t8188\t\t0\t\t-3\n`;
    expect(parseProcSwaps(text, new Set(['/dev/vda3']))).to.deep.equal([
      { path: '/dev/vda3', type: 'partition', sizeKiB: 2097148, usedKiB: 1024, priority: -2, visible: false },
      { path: '/srv/lab-data/x/swap file', type: 'file', sizeKiB: 8188, usedKiB: 0, priority: -3, visible: true },
    ]);
    expect(parseProcSwaps(PROC_SWAPS_HEADER)).to.deep.equal([]);
  });

  it('parses the probe output', () => {
    const state = parseSwapState(swapProbe({
      active: ['/srv/lab-data/drover-capture/swap file'],
      resolve: { 'LABEL=drovercap': '', '/srv/lab-data/drover-capture/swap\\040file': '/srv/lab-data/drover-capture/swap file' },
      device: '/srv/lab-data/drover-capture/swap file',
      deviceUnits: [['srv-lab\\x2ddata-drover\\x2dcapture-swap\\x20file.swap', '']],
    }));
    expect(state.active.map((area) => area.path)).to.deep.equal(['/srv/lab-data/drover-capture/swap file']);
    expect([...state.fstabResolved]).to.deep.equal([['LABEL=drovercap', ''], ['/srv/lab-data/drover-capture/swap\\040file', '/srv/lab-data/drover-capture/swap file']]);
    expect(state.deviceResolved).to.equal('/srv/lab-data/drover-capture/swap file');
    expect(state).to.include({ systemd: true, swapTarget: 'static' });
    expect(state.deviceUnits).to.deep.equal([{ name: 'srv-lab\\x2ddata-drover\\x2dcapture-swap\\x20file.swap', state: '' }]);
    expect(() => parseSwapState('nothing')).to.throw(/unexpected probe output/);
  });

  it('comments out every swap entry, keeping the lines; a second pass changes nothing', () => {
    const first = commentOutSwapEntries(FSTAB, (entry) => fstabEntryMatches(entry, undefined, { fstabResolved: new Map() }));
    expect(first.text).to.equal(FSTAB.replace('UUID=9a2b none', '# UUID=9a2b none').replace('/swapfile none', '# /swapfile none'));
    expect(first.commented).to.deep.equal(['UUID=9a2b', '/swapfile']);
    expect(commentOutSwapEntries(first.text, () => true).commented.filter((src) => src.includes('swap'))).to.deep.equal([]);
    expect(commentOutSwapEntries(first.text, (entry) => entry.fstype === 'swap')).to.deep.equal({ text: first.text, commented: [] });
  });

  it('matches one device by its path, its resolved path, or what a UUID resolves to', () => {
    const resolution = { fstabResolved: new Map([['UUID=9a2b', '/dev/vdb2'], ['/swapfile', '/swapfile']]), deviceResolved: '/dev/vdb2' };
    const [, , uuid, file] = parseFstab(FSTAB).map((line) => line.entry);
    expect(fstabEntryMatches(uuid!, '/dev/disk/by-uuid/9a2b', resolution)).to.equal(true);
    expect(fstabEntryMatches(file!, '/dev/disk/by-uuid/9a2b', resolution)).to.equal(false);
    expect(fstabEntryMatches(file!, '/swapfile', { fstabResolved: new Map() })).to.equal(true);
    expect(fstabEntryMatches({ ...file!, fstype: 'ext4' }, undefined, resolution)).to.equal(false);
  });

  it('picks the active areas to turn off', () => {
    const state = parseSwapState(swapProbe({ active: ['/dev/dm-1', '/swapfile'], device: '/dev/dm-1' }));
    expect(activeTargets({}, state).map((area) => area.path)).to.deep.equal(['/dev/dm-1', '/swapfile']);
    expect(activeTargets({ device: '/dev/mapper/vg-swap' }, state).map((area) => area.path)).to.deep.equal(['/dev/dm-1']);
  });

  it('picks the units to mask', () => {
    const all: SwapState = parseSwapState(swapProbe({ units: [['dev-vdb2.swap', 'loaded'], ['swapfile.swap', 'masked']] }));
    expect(unitsToMask({}, all)).to.deep.equal([{ name: 'swap.target', before: 'static' }, { name: 'dev-vdb2.swap', before: 'loaded' }]);
    const masked = parseSwapState(swapProbe({ target: 'masked' }));
    expect(unitsToMask({}, masked)).to.deep.equal([]);
    const device = parseSwapState(swapProbe({ device: '/swapfile', deviceUnits: [['swapfile.swap', ''], ['swapfile.swap', '']] }));
    expect(unitsToMask({ device: '/swapfile' }, device)).to.deep.equal([{ name: 'swapfile.swap', before: 'not masked' }]);
  });

  it('validates parameters', () => {
    for (const device of ['swapfile', 'dev/vdb2', '/swap\nfile', 'UUID=a b', 'TYPE=swap', '']) {
      expect(() => swapoff.params.parse({ device }, ''), device).to.throw(SchemaError, /device: .* is not an absolute path, or UUID=/);
    }
    expect(swapoff.params.parse({ mask_swap_units: true }, '')).to.deep.equal({ fstab: true, maskSwapUnits: true });
  });
});

describe('swapoff: planner (recorded host)', () => {
  it('all swap: one swapoff per active area, and the fstab entries commented out', async () => {
    const host = recorded(swapProbe({ active: ['/dev/vdb2', '/swapfile'], resolve: { 'UUID=9a2b': '/dev/vdb2', '/swapfile': '/swapfile' } }), FSTAB);
    const result = await planOn(swapoff, {}, host);
    expect(result.changes.map((change) => change.summary)).to.deep.equal([
      'turn off swap /dev/vdb2 (file, 8188 KiB)',
      'turn off swap /swapfile (file, 8188 KiB)',
      `comment out swap entries UUID=9a2b, /swapfile in /etc/fstab (update /etc/fstab (${FSTAB.length} → ${FSTAB.length + 4} bytes))`,
    ]);
    expect(displayedCommands(result).slice(0, 2)).to.deep.equal(['swapoff -- /dev/vdb2', 'swapoff -- /swapfile']);
    expect(result.changes[0]!.diff).to.deep.equal({ kind: 'value', name: 'swap /dev/vdb2', before: 'on', after: 'off' });
    expect(host.probes).to.have.length(2);
  });

  it('skips swap that is active on the machine but not visible here (a container), and says so', async () => {
    const host = recorded(swapProbe({ active: ['/swapfile'], invisible: ['/var/lib/other-container/swap'] }), null);
    const result = await planOn(swapoff, { fstab: false }, host);
    expect(displayedCommands(result)).to.deep.equal(['swapoff -- /swapfile']);
    expect(result.changes[0]!.summary).to.match(/\(swap active on the machine but not visible from this host \(a container\?\), to be turned off where it lives: \/var\/lib\/other-container\/swap\)$/);
    const only = await planOn(swapoff, { fstab: false }, recorded(swapProbe({ invisible: ['/var/lib/other-container/swap'] }), null));
    expect(only.changes).to.deep.equal([]);
    expect(only.reason).to.equal('no swap this host can reach is active; swap active on the machine but not visible from this host (a container?), to be turned off where it lives: /var/lib/other-container/swap');
  });

  it('nothing active and fstab clean: no change, with a reason', async () => {
    const clean = FSTAB.replace('UUID=9a2b none', '# UUID=9a2b none').replace('/swapfile none', '# /swapfile none');
    const result = await planOn(swapoff, {}, recorded(swapProbe(), clean));
    expect(result).to.deep.equal({ changes: [], reason: 'no swap is active, no swap entries enabled in /etc/fstab' });
  });

  it('one device: only its area and its fstab line', async () => {
    const host = recorded(swapProbe({ active: ['/dev/vdb2', '/swapfile'], resolve: { 'UUID=9a2b': '/dev/vdb2', '/swapfile': '/swapfile' }, device: '/swapfile' }), FSTAB);
    const result = await planOn(swapoff, { device: '/swapfile' }, host);
    expect(displayedCommands(result)[0]).to.equal('swapoff -- /swapfile');
    expect(result.changes).to.have.length(2);
    expect(result.changes[1]!.diff).to.include({ after: FSTAB.replace('/swapfile none', '# /swapfile none') });
  });

  it('masks swap.target and swap units when asked, only under systemd', async () => {
    const result = await planOn(swapoff, { maskSwapUnits: true, fstab: false }, recorded(swapProbe({ units: [['dev-vdb2.swap', 'loaded']] }), null));
    expect(displayedCommands(result)).to.deep.equal(['systemctl mask -- swap.target', 'systemctl mask -- dev-vdb2.swap']);
    const none = await planOn(swapoff, { maskSwapUnits: true, fstab: false }, recorded(swapProbe({ systemd: false }), null));
    expect(none).to.deep.equal({ changes: [], reason: 'no swap is active, no systemd (nothing to mask)' });
  });

  it('fstab false reads no fstab', async () => {
    const host = recorded(swapProbe(), FSTAB);
    await planOn(swapoff, { fstab: false }, host);
    expect(host.probes).to.have.length(1);
  });
});

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
    await onHost(target, `umount ${HIDDEN} 2>/dev/null
find ${DIR} -type f -exec swapoff {} \\; 2>/dev/null
rm -rf ${DIR}
systemctl unmask swap.target >/dev/null 2>&1
for unit in $(systemctl list-unit-files --type=swap --no-legend 2>/dev/null | awk '$2 == "masked" && $1 ~ /drover/ {print $1}'); do systemctl unmask -- "$unit" >/dev/null 2>&1; done
rm -f /etc/systemd/system/*drover\\\\x2dtest\\\\x2dswapoff*.swap ${PWNED}
true`);
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

  it('masks the device\'s swap unit when asked', async () => {
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
    expect(result.msg).to.match(/device: "swapfile" is not an absolute path, or UUID=…, LABEL=…/);
  });
});
