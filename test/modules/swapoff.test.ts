import { expect } from 'chai';
import { escapeField, parseFstab } from '../../modules/facts/fstab.ts';
import { parseProcSwaps, parseSwapState, type SwapState } from '../../modules/facts/swap-state.ts';
import { activeTargets, commentOutSwapEntries, fstabEntryMatches, swapoff, unitsToMask } from '../../modules/swapoff.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

const PROC_SWAPS_HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';

/** A probe output shaped like the lab host's (captured with an active swap file named "swap file"). */
function swapProbe(
  options: {
    active?: string[];
    /** Active areas whose path does not exist on the host (another container's, the machine's). */
    invisible?: string[];
    resolve?: Record<string, string>;
    device?: string;
    systemd?: boolean;
    target?: string;
    units?: Array<[string, string]>;
    deviceUnits?: Array<[string, string]>;
  } = {},
): string {
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
    const state = parseSwapState(
      swapProbe({
        active: ['/srv/lab-data/drover-capture/swap file'],
        resolve: { 'LABEL=drovercap': '', '/srv/lab-data/drover-capture/swap\\040file': '/srv/lab-data/drover-capture/swap file' },
        device: '/srv/lab-data/drover-capture/swap file',
        deviceUnits: [['srv-lab\\x2ddata-drover\\x2dcapture-swap\\x20file.swap', '']],
      }),
    );
    expect(state.active.map((area) => area.path)).to.deep.equal(['/srv/lab-data/drover-capture/swap file']);
    expect([...state.fstabResolved]).to.deep.equal([
      ['LABEL=drovercap', ''],
      ['/srv/lab-data/drover-capture/swap\\040file', '/srv/lab-data/drover-capture/swap file'],
    ]);
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
    const resolution = {
      fstabResolved: new Map([
        ['UUID=9a2b', '/dev/vdb2'],
        ['/swapfile', '/swapfile'],
      ]),
      deviceResolved: '/dev/vdb2',
    };
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
    const all: SwapState = parseSwapState(
      swapProbe({
        units: [
          ['dev-vdb2.swap', 'loaded'],
          ['swapfile.swap', 'masked'],
        ],
      }),
    );
    expect(unitsToMask({}, all)).to.deep.equal([
      { name: 'swap.target', before: 'static' },
      { name: 'dev-vdb2.swap', before: 'loaded' },
    ]);
    const masked = parseSwapState(swapProbe({ target: 'masked' }));
    expect(unitsToMask({}, masked)).to.deep.equal([]);
    const device = parseSwapState(
      swapProbe({
        device: '/swapfile',
        deviceUnits: [
          ['swapfile.swap', ''],
          ['swapfile.swap', ''],
        ],
      }),
    );
    expect(unitsToMask({ device: '/swapfile' }, device)).to.deep.equal([{ name: 'swapfile.swap', before: 'not masked' }]);
  });

  it('validates parameters', () => {
    for (const device of ['swapfile', 'dev/vdb2', '/swap\nfile', 'UUID=a b', 'TYPE=swap', '']) {
      expect(() => swapoff.params.parse({ device }, ''), device).to.throw(SchemaError, /device: expected an absolute path or UUID=…/);
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
    // The swap areas and fstab are read in one probe: one round trip.
    expect(host.probes).to.have.length(1);
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

describe('swapoff: the device parameter', () => {
  const device = (value: string) => (swapoff.params.parse({ device: value }, 'swapoff') as { device?: string }).device;

  it('normalises a path as every host path is, so it matches what /proc/swaps names', () => {
    expect(device('/dev//vdb2')).to.equal('/dev/vdb2');
    expect(device('/swap file/./')).to.equal('/swap file');
  });
  it('keeps UUID=, LABEL=, PARTUUID= and PARTLABEL= as they are', () => {
    for (const value of ['UUID=0a1b-2c3d', 'LABEL=swap', 'PARTUUID=1234-01', 'PARTLABEL=swap']) expect(device(value)).to.equal(value);
  });
  it('refuses /, a .. component, a control character and a relative path, saying why', () => {
    expect(() => device('//')).to.throw(SchemaError, /means \/ \(the root directory\)/);
    expect(() => device('/dev/../swapfile')).to.throw(SchemaError, /has a \.\. component/);
    expect(() => device('/swap\nfile')).to.throw(SchemaError, /control character/);
    expect(() => device('swapfile')).to.throw(SchemaError, /not an absolute path/);
  });
});
