import { expect } from 'chai';
import { parseKernelModule } from '../../modules/facts/kernel-module.ts';
import { editModprobeOptions, editModulesLoad, modprobe, MODPROBE_OPTIONS_HEADER, modulesLoadPath, MODULES_LOAD_HEADER } from '../../modules/modprobe.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { fileProbeAnswer } from '../support/file-probe.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Captured on a lab host (kernel without loadable modules; the lab lists the built-ins in modules.builtin). */
const CAPTURED = {
  overlay: 'kernel=6.18.44-fc-v657\nsysfs=yes\ninitstate=no\nproc=no\nbuiltin-list=yes\ndryrun=ok\ndryrun-output=\n',
  dummy: 'kernel=6.18.44-fc-v657\nsysfs=no\nproc=no\nbuiltin-list=no\ndryrun=failed\ndryrun-output=bW9kcHJvYmU6IEZBVEFMOiBNb2R1bGUgZHVtbXkgbm90IGZvdW5kIGluIGRpcmVjdG9yeSAvbGliL21vZHVsZXMvNi4xOC40NC1mYy12NjU3\n',
  brNetfilter: 'kernel=6.18.44-fc-v657\nsysfs=no\nproc=no\nbuiltin-list=yes\ndryrun=ok\ndryrun-output=\n',
  /** A loadable module that is loaded (as on a stock Debian kernel). */
  loaded: 'kernel=6.1.0-18-amd64\nsysfs=yes\ninitstate=yes\nproc=yes\nbuiltin-list=no\ndryrun=ok\ndryrun-output=\n',
  /** A loadable module that is not loaded. */
  loadable: `kernel=6.1.0-18-amd64\nsysfs=no\nproc=no\nbuiltin-list=no\ndryrun=ok\ndryrun-output=${b64('insmod /lib/modules/6.1.0-18-amd64/kernel/drivers/net/dummy.ko')}\n`,
  noModprobe: 'kernel=6.1.0-18-amd64\nsysfs=no\nproc=no\nbuiltin-list=none\ndryrun=no-modprobe\n',
  /**
   * An LXC/nspawn host with no /lib/modules tree and no /proc/modules, whose kernel has br_netfilter built in
   * (captured on a lab host with /lib/modules moved aside): modprobe cannot find it, the sysctls show it.
   */
  brNetfilterNoTree: `kernel=6.18.44-fc-v1300\nsysfs=no\nproc=no\nbuiltin-list=none\ndryrun=failed\ndryrun-output=${b64('modprobe: FATAL: Module br_netfilter not found in directory /lib/modules/6.18.44-fc-v1300')}\nprovided=yes\n`,
  /** The same host asked for ip_vs, which that kernel does not have: no /proc/net/ip_vs either. */
  ipVsAbsent: `kernel=6.18.44-fc-v1300\nsysfs=no\nproc=no\nbuiltin-list=none\ndryrun=failed\ndryrun-output=${b64('modprobe: FATAL: Module ip_vs not found in directory /lib/modules/6.18.44-fc-v1300')}\nprovided=no\n`,
};

function recorded(module: string, files: Record<string, string | null>): RecordedHost {
  return new RecordedHost([{ match: 'modprobe -n', output: { stdout: module } }, ...Object.entries(files).map(([path, text]) => fileProbeAnswer(text, `p=${path}\n`))], 'node1');
}

describe('modprobe: kernel module state and files (pure)', () => {
  it('parses the probe output captured on a lab host', () => {
    expect(parseKernelModule('overlay', CAPTURED.overlay)).to.deep.equal({ kernel: '6.18.44-fc-v657', loaded: false, builtin: true, loadable: true, modprobeOutput: '' });
    expect(parseKernelModule('br_netfilter', CAPTURED.brNetfilter)).to.include({ builtin: true, loaded: false });
    expect(parseKernelModule('dummy', CAPTURED.dummy)).to.deep.equal({
      kernel: '6.18.44-fc-v657',
      loaded: false,
      builtin: false,
      loadable: false,
      modprobeOutput: 'modprobe: FATAL: Module dummy not found in directory /lib/modules/6.18.44-fc-v657',
    });
    expect(parseKernelModule('dummy', CAPTURED.loaded)).to.include({ loaded: true, builtin: false });
    expect(parseKernelModule('dummy', CAPTURED.noModprobe)).to.include({ loadable: undefined });
    expect(() => parseKernelModule('x', 'nonsense')).to.throw(/unexpected probe output/);
  });

  it('names the modules-load.d file', () => {
    expect(modulesLoadPath('overlay', undefined)).to.equal('/etc/modules-load.d/overlay.conf');
    expect(modulesLoadPath('overlay', 'k8s')).to.equal('/etc/modules-load.d/k8s.conf');
    expect(modulesLoadPath('overlay', 'k8s.conf')).to.equal('/etc/modules-load.d/k8s.conf');
  });

  const loadTable: Array<[string, string | null, string, boolean, string | null]> = [
    ['creates a file with a header', null, 'overlay', true, `${MODULES_LOAD_HEADER}overlay\n`],
    ['keeps a listed module (- and _ are the same)', 'br-netfilter\n', 'br_netfilter', true, 'br-netfilter\n'],
    ['appends to a shared file', '# k8s\noverlay', 'br_netfilter', true, '# k8s\noverlay\nbr_netfilter\n'],
    ['does not count a commented line', '# overlay\n; overlay\n', 'overlay', true, '# overlay\n; overlay\noverlay\n'],
    ['removes every line of the module', 'overlay\nip_vs\n  overlay  \n', 'overlay', false, 'ip_vs\n'],
    ['absent from no file stays no file', null, 'overlay', false, null],
  ];
  for (const [title, before, name, present, after] of loadTable) {
    it(`edits modules-load.d: ${title}`, () => expect(editModulesLoad(before, name, present)).to.equal(after));
  }

  const optionsTable: Array<[string, string | null, string[] | undefined, string | null]> = [
    ['creates a file with a header', null, ['numdummies=2'], `${MODPROBE_OPTIONS_HEADER}options dummy numdummies=2\n`],
    ['keeps the same options, however spaced', 'options   dummy   numdummies=2\n', ['numdummies=2'], 'options   dummy   numdummies=2\n'],
    ['rewrites other options in place and drops later lines (they add up)', 'blacklist x\noptions dummy numdummies=1\noptions dummy foo=1\n', ['numdummies=2'], 'blacklist x\noptions dummy numdummies=2\n'],
    ["leaves other modules' options alone", 'options ip_vs conn_tab_bits=12\n', ['numdummies=2'], 'options ip_vs conn_tab_bits=12\noptions dummy numdummies=2\n'],
    ["removes the module's options", 'blacklist x\noptions dummy numdummies=1\n', undefined, 'blacklist x\n'],
    ['nothing to remove', 'blacklist x\n', undefined, 'blacklist x\n'],
  ];
  for (const [title, before, words, after] of optionsTable) {
    it(`edits modprobe.d: ${title}`, () => expect(editModprobeOptions(before, 'dummy', words)).to.equal(after));
  }

  it('validates parameters', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ name: 'overlay; rm -rf /' }, /name: .* is not a kernel module name/],
      [{ name: '$(touch /tmp/pwned)' }, /is not a kernel module name/],
      [{ name: 'dummy', params: 'numdummies=2 ; rm -rf /' }, /";" is not a module parameter/],
      [{ name: 'dummy', params: 'numdummies=2 -rf' }, /"-rf" is not a module parameter/],
      [{ name: 'dummy', params: '$(touch /tmp/pwned)' }, /is not a module parameter/],
      [{ name: 'dummy', params: 'a=1\nb=2' }, /params: /],
      [{ name: 'dummy', persistFile: '../../etc/passwd' }, /persistFile: /],
      [{ name: 'dummy', persistFile: 'a b' }, /persistFile: /],
      [{ name: 'dummy', state: 'absent', persistent: 'present' }, /unload the module now and load it again at boot/],
    ];
    for (const [input, message] of bad) expect(() => modprobe.params.parse(input, ''), JSON.stringify(input)).to.throw(SchemaError, message);
    expect(modprobe.params.parse({ name: 'dummy', persist_file: 'k8s' }, '')).to.include({ persistFile: 'k8s', params: '' });
  });
});

describe('modprobe: planner (recorded host)', () => {
  const OVERLAY_FILE = '/etc/modules-load.d/overlay.conf';

  it('a built-in module counts as loaded: only persisted', async () => {
    const result = await planOn(modprobe, { name: 'overlay' }, recorded(CAPTURED.overlay, { [OVERLAY_FILE]: null }));
    expect(result.changes).to.have.length(1);
    expect(result.changes[0]!.diff).to.deep.equal({ kind: 'file', path: OVERLAY_FILE, before: null, after: `${MODULES_LOAD_HEADER}overlay\n` });
    const again = await planOn(modprobe, { name: 'overlay' }, recorded(CAPTURED.overlay, { [OVERLAY_FILE]: `${MODULES_LOAD_HEADER}overlay\n` }));
    expect(again.changes).to.deep.equal([]);
    expect(again.reason).to.equal('overlay built into the kernel, listed in /etc/modules-load.d/overlay.conf');
  });

  it('a module the kernel provides without a /lib/modules tree counts as present, and says so', async () => {
    expect(parseKernelModule('br_netfilter', CAPTURED.brNetfilterNoTree)).to.include({
      loaded: false,
      builtin: false,
      loadable: false,
      providedBy: '/proc/sys/net/bridge/bridge-nf-call-iptables exists',
    });
    expect(parseKernelModule('ip_vs', CAPTURED.ipVsAbsent)).to.not.have.property('providedBy');
    const file = '/etc/modules-load.d/k8s.conf';
    const again = await planOn(modprobe, { name: 'br_netfilter', persistFile: 'k8s' }, recorded(CAPTURED.brNetfilterNoTree, { [file]: 'br_netfilter\n' }));
    expect(again.changes).to.deep.equal([]);
    expect(again.reason).to.equal(`br_netfilter provided by the kernel (/proc/sys/net/bridge/bridge-nf-call-iptables exists), listed in ${file}`);
    // Without the sign, the same host still fails as before, naming the module.
    const error = await planOn(modprobe, { name: 'ip_vs', persistFile: 'k8s' }, recorded(CAPTURED.ipVsAbsent, { [file]: null })).catch((caught: unknown) => caught);
    expect((error as ModuleError).message).to.match(/ip_vs is neither loaded nor built into kernel/);
  });

  it('loads a loadable module with its parameters, then persists both', async () => {
    const host = recorded(CAPTURED.loadable, { '/etc/modules-load.d/k8s.conf': 'overlay\n', '/etc/modprobe.d/dummy.conf': null });
    const result = await planOn(modprobe, { name: 'dummy', params: 'numdummies=2', persistFile: 'k8s' }, host);
    expect(result.changes.map((change) => change.diff)).to.deep.equal([
      { kind: 'value', name: 'kernel module dummy', before: 'not loaded', after: 'loaded' },
      { kind: 'file', path: '/etc/modules-load.d/k8s.conf', before: 'overlay\n', after: 'overlay\ndummy\n' },
      { kind: 'file', path: '/etc/modprobe.d/dummy.conf', before: null, after: `${MODPROBE_OPTIONS_HEADER}options dummy numdummies=2\n` },
    ]);
    expect(displayedCommands(result)[0]).to.equal('modprobe -- dummy numdummies=2');
    expect(host.probes).to.have.length(3);
  });

  it('persistent disabled touches no file', async () => {
    const result = await planOn(modprobe, { name: 'dummy', persistent: 'disabled' }, recorded(CAPTURED.loadable, {}));
    expect(result.changes.map((change) => change.diff?.kind)).to.deep.equal(['value']);
  });

  it('a module neither built in nor loadable is an error naming it, with what to check', async () => {
    const error = await planOn(modprobe, { name: 'dummy' }, recorded(CAPTURED.dummy, { '/etc/modules-load.d/dummy.conf': null })).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as ModuleError).message).to.match(/kernel module dummy is neither loaded nor built into kernel 6\.18\.44-fc-v657 on node1.*Module dummy not found/);
    expect((error as ModuleError).hint).to.match(/modules package is installed for the running kernel/);
  });

  it('says so when modprobe is not installed', async () => {
    const error = await planOn(modprobe, { name: 'dummy' }, recorded(CAPTURED.noModprobe, { '/etc/modules-load.d/dummy.conf': null })).catch((caught: unknown) => caught);
    expect((error as ModuleError).message).to.match(/modprobe is not installed/);
    expect((error as ModuleError).hint).to.match(/kmod/);
  });

  it('state absent unloads a loaded module and removes it from both files', async () => {
    const host = recorded(CAPTURED.loaded, { '/etc/modules-load.d/dummy.conf': 'dummy\n', '/etc/modprobe.d/dummy.conf': 'options dummy numdummies=2\n' });
    const result = await planOn(modprobe, { name: 'dummy', state: 'absent' }, host);
    expect(displayedCommands(result)[0]).to.equal('modprobe -r -- dummy');
    expect(result.changes.map((change) => (change.diff && 'after' in change.diff ? change.diff.after : undefined))).to.deep.equal(['not loaded', '', '']);
  });

  it('a built-in module cannot be unloaded', async () => {
    const error = await planOn(modprobe, { name: 'overlay', state: 'absent', persistent: 'disabled' }, recorded(CAPTURED.overlay, {})).catch((caught: unknown) => caught);
    expect((error as ModuleError).message).to.match(/built into kernel .* cannot be unloaded/);
  });
});
