import { expect } from 'chai';
import type { FileState } from '../../modules/facts/file-state.ts';
import { fullUnitName, parseUnitState, type UnitState } from '../../modules/facts/systemd-unit.ts';
import { enablementOfNewUnit, parseSystemdProbe, planSystemd, reloadReason, systemd, systemdProbeScript, unitFiles, type SystemdParams } from '../../modules/systemd.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Plan } from '../../runner/module.ts';
import { SchemaError } from '../../runner/schema.ts';
import { absentFileState, fileStateWith } from '../support/file-state.ts';
import { changeSummaries, displayedCommands } from '../support/plan-display.ts';
import { renderCommand } from '../../runner/command.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

/** `systemctl show` + is-enabled probe output, captured on a lab host (Debian 12, systemd 252). */
const CAPTURED = {
  ssh: `Id=ssh.service
LoadState=loaded
ActiveState=active
SubState=running
FragmentPath=/lib/systemd/system/ssh.service
CanReload=yes
NeedDaemonReload=no
IsEnabled=enabled
FileOnDisk=/lib/systemd/system/ssh.service
`,
  missing: `Id=drover-test-nothing.service
LoadState=not-found
ActiveState=inactive
SubState=dead
FragmentPath=
CanReload=no
NeedDaemonReload=no
IsEnabled=
`,
  journald: `Id=systemd-journald.service
LoadState=loaded
ActiveState=active
SubState=running
FragmentPath=/lib/systemd/system/systemd-journald.service
CanReload=no
NeedDaemonReload=no
IsEnabled=static
FileOnDisk=/lib/systemd/system/systemd-journald.service
`,
  masked: `Id=drover-test-m.service
LoadState=masked
ActiveState=inactive
SubState=dead
FragmentPath=/etc/systemd/system/drover-test-m.service
CanReload=no
NeedDaemonReload=no
IsEnabled=masked
FileOnDisk=/etc/systemd/system/drover-test-m.service
`,
  /** A drop-in written after systemd loaded ssh.service: systemd itself says NeedDaemonReload=no. */
  newDropIn: `Id=ssh.service
LoadState=loaded
ActiveState=active
SubState=running
FragmentPath=/lib/systemd/system/ssh.service
CanReload=yes
NeedDaemonReload=no
IsEnabled=enabled
FileOnDisk=/lib/systemd/system/ssh.service
DropInOnDisk=/etc/systemd/system/ssh.service.d/drover-test.conf
`,
};

function unit(overrides: Partial<UnitState> = {}): UnitState {
  return {
    id: 'web.service',
    loadState: 'loaded',
    activeState: 'inactive',
    subState: 'dead',
    needDaemonReload: false,
    canReload: false,
    fragmentPath: '/lib/systemd/system/web.service',
    enablement: 'disabled',
    dropInsNotLoaded: [],
    ...overrides,
  };
}

function plan(input: SystemdParams, state: UnitState, files: FileState[] = []): Plan {
  return planSystemd(systemd.params.parse(input, ''), state, files);
}

const UNIT_TEXT = '[Unit]\nDescription=web\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';

describe('systemd: names, probe parsing, [Install] rules (pure)', () => {
  it('completes unit names as systemctl does', () => {
    const table: Array<[string, string]> = [
      ['docker', 'docker.service'],
      ['docker.service', 'docker.service'],
      ['docker.socket', 'docker.socket'],
      ['swap.target', 'swap.target'],
      ['getty@tty1', 'getty@tty1.service'],
      ['foo.bar', 'foo.bar.service'],
      ['mnt-data.mount', 'mnt-data.mount'],
    ];
    for (const [name, full] of table) expect(fullUnitName(name), name).to.equal(full);
  });

  it('parses the probe output captured on a lab host', () => {
    expect(parseUnitState('ssh.service', CAPTURED.ssh)).to.deep.equal({
      id: 'ssh.service',
      loadState: 'loaded',
      activeState: 'active',
      subState: 'running',
      needDaemonReload: false,
      canReload: true,
      fragmentPath: '/lib/systemd/system/ssh.service',
      enablement: 'enabled',
      fileOnDisk: '/lib/systemd/system/ssh.service',
      dropInsNotLoaded: [],
    });
    const missing = parseUnitState('drover-test-nothing.service', CAPTURED.missing);
    expect([missing.loadState, missing.enablement, missing.fileOnDisk]).to.deep.equal(['not-found', 'not-found', undefined]);
    expect(parseUnitState('systemd-journald.service', CAPTURED.journald).enablement).to.equal('static');
    expect(parseUnitState('drover-test-m.service', CAPTURED.masked).loadState).to.equal('masked');
    expect(parseUnitState('ssh.service', CAPTURED.newDropIn).dropInsNotLoaded).to.deep.equal(['/etc/systemd/system/ssh.service.d/drover-test.conf']);
    const loaded = `${CAPTURED.newDropIn}LoadedDropIn=/etc/systemd/system/ssh.service.d/drover-test.conf\n`;
    expect(parseUnitState('ssh.service', loaded).dropInsNotLoaded).to.deep.equal([]);
    expect(() => parseUnitState('x.service', 'drover-systemd=absent\n')).to.throw(/systemctl is not installed/);
    expect(() => parseUnitState('x.service', 'garbage')).to.throw(/unexpected systemctl show output/);
  });

  it('splits the one probe into the unit and each file', () => {
    const files = unitFiles('web.service', { unitFile: UNIT_TEXT, dropIns: { 'b.conf': 'B', 'a.conf': 'A' } });
    expect(files.map((file) => file.path)).to.deep.equal(['/etc/systemd/system/web.service', '/etc/systemd/system/web.service.d/a.conf', '/etc/systemd/system/web.service.d/b.conf']);
    const script = systemdProbeScript('web.service', files).text;
    expect(script.match(/@@file \d/g)).to.deep.equal(['@@file 0', '@@file 1', '@@file 2']);
    const out = `@@unit\n${CAPTURED.missing}@@file 0\nparent=yes\nkind=absent\n@@file 1\nparent=no\nkind=absent\n@@file 2\nparent=no\nkind=absent\n`;
    const parsed = parseSystemdProbe('web.service', files, out);
    expect(parsed.unit.loadState).to.equal('not-found');
    expect(parsed.files.map((file) => [file.path, file.kind, file.parentExists])).to.deep.equal([
      ['/etc/systemd/system/web.service', 'absent', true],
      ['/etc/systemd/system/web.service.d/a.conf', 'absent', false],
      ['/etc/systemd/system/web.service.d/b.conf', 'absent', false],
    ]);
    expect(() => parseSystemdProbe('web.service', files, `@@unit\n${CAPTURED.missing}`)).to.throw(ModuleError, /did not report on/);
  });

  it("predicts a new unit file's enablement from its [Install] section", () => {
    const table: Array<[string, string]> = [
      [UNIT_TEXT, 'disabled'],
      ['[Service]\nExecStart=/bin/true\n', 'static'],
      ['[Install]\nAlso=other.socket\n', 'indirect'],
      ['[Install]\n# WantedBy=multi-user.target\n', 'static'],
      ['[Install]\nWantedBy=\n', 'static'],
      ['[Service]\nWantedBy=multi-user.target\n', 'static'],
      ['[Install]\nAlias=web2.service\n', 'disabled'],
    ];
    for (const [text, expected] of table) expect(enablementOfNewUnit(text), text).to.equal(expected);
  });

  it('decides daemon-reload: auto (also unset), true, false', () => {
    const table: Array<[SystemdParams['daemonReload'], Partial<UnitState>, boolean, RegExp | undefined]> = [
      [undefined, {}, false, undefined],
      ['auto', { needDaemonReload: true }, false, /NeedDaemonReload=yes/],
      [undefined, { needDaemonReload: true }, false, /NeedDaemonReload=yes/],
      [undefined, { dropInsNotLoaded: ['/etc/systemd/system/web.service.d/a.conf'] }, false, /drop-ins not loaded/],
      [undefined, { loadState: 'not-found', fileOnDisk: '/etc/systemd/system/web.service' }, false, /has not loaded/],
      [false, { needDaemonReload: true }, false, undefined],
      [false, {}, true, /unit files changed/],
      [true, {}, false, /daemonReload: true/],
      ['auto', {}, true, /unit files changed/],
    ];
    for (const [daemonReload, overrides, filesChanged, expected] of table) {
      const why = reloadReason({ daemonReload }, unit(overrides), filesChanged);
      const label = JSON.stringify([daemonReload, overrides, filesChanged]);
      if (expected) expect(why, label).to.match(expected);
      else expect(why, label).to.equal(undefined);
    }
  });
});

describe('systemd: parameters', () => {
  const parse = (input: Record<string, unknown>) => () => systemd.params.parse(input, '');
  it('refuses names that are not unit names, and conflicting requests', () => {
    const table: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: '-x', state: 'started' }, /systemd unit name/],
      [{ name: 'web; touch /tmp/pwned', state: 'started' }, /systemd unit name/],
      [{ name: '$(touch /tmp/pwned)', state: 'started' }, /systemd unit name/],
      [{ name: 'a/b', state: 'started' }, /systemd unit name/],
      [{ name: 'web' }, /nothing asked/],
      [{ name: 'web', masked: true, state: 'started' }, /masked unit cannot be started/],
      [{ name: 'web', masked: true, enabled: true }, /cannot be enabled/],
      [{ name: 'web', masked: true, unitFile: '[Service]\n' }, /cannot be written together/],
      [{ name: 'web', dropIns: { 'proxy.txt': '[Service]\n' } }, /must be a plain file name ending in .conf/],
      [{ name: 'web', dropIns: { '../x.conf': '[Service]\n' } }, /must be a plain file name/],
      [{ name: 'web', state: 'running' }, /not allowed; expected one of: started, stopped, restarted, reloaded/],
      [{ name: 'web', daemonReload: 'sometimes' }, /daemonReload/],
      [{ name: 'web', enable: true }, /did you mean enabled/],
    ];
    for (const [input, error] of table) expect(parse(input), JSON.stringify(input)).to.throw(SchemaError, error);
  });

  it("accepts Ansible's snake_case and text input", () => {
    expect(systemd.params.parse({ name: 'web', daemon_reload: 'auto' }, '', { fromText: true }).daemonReload).to.equal('auto');
    expect(systemd.params.parse({ name: 'web', daemon_reload: 'yes', enabled: 'no' }, '', { fromText: true })).to.include({ daemonReload: true, enabled: false });
  });
});

describe('systemd: planner (table)', () => {
  type Row = { title: string; input: SystemdParams; state: Partial<UnitState>; files?: FileState[]; changes: string[]; reason?: RegExp };
  const table: Row[] = [
    { title: 'starts an inactive unit', input: { name: 'web', state: 'started' }, state: {}, changes: ['start web.service'] },
    { title: 'leaves a running unit', input: { name: 'web', state: 'started' }, state: { activeState: 'active', subState: 'running' }, changes: [], reason: /active \(running\), disabled/ },
    { title: 'counts activating (auto-restart) as started', input: { name: 'web', state: 'started' }, state: { activeState: 'activating', subState: 'auto-restart' }, changes: [] },
    { title: 'stops a running unit', input: { name: 'web', state: 'stopped' }, state: { activeState: 'active' }, changes: ['stop web.service'] },
    { title: 'a failed unit is stopped', input: { name: 'web', state: 'stopped' }, state: { activeState: 'failed' }, changes: [] },
    { title: 'stopping a missing unit has nothing to do', input: { name: 'web', state: 'stopped', enabled: false }, state: { loadState: 'not-found', enablement: 'not-found' }, changes: [], reason: /not found/ },
    {
      title: 'disable --now firewalld in one task',
      input: { name: 'firewalld', state: 'stopped', enabled: false },
      state: { id: 'firewalld.service', activeState: 'active', enablement: 'enabled' },
      changes: ['disable firewalld.service', 'stop firewalld.service'],
    },
    { title: 'enables a disabled unit', input: { name: 'web', enabled: true }, state: {}, changes: ['enable web.service'] },
    { title: 'persists a runtime enablement', input: { name: 'web', enabled: true }, state: { enablement: 'enabled-runtime' }, changes: ['enable web.service'] },
    { title: 'disables a runtime enablement', input: { name: 'web', enabled: false }, state: { enablement: 'enabled-runtime' }, changes: ['disable --runtime web.service'] },
    { title: 'a static unit is left as it is either way', input: { name: 'web', enabled: true }, state: { enablement: 'static' }, changes: [], reason: /static: no \[Install\] rules/ },
    { title: 'a static unit cannot be disabled either', input: { name: 'web', enabled: false }, state: { enablement: 'static' }, changes: [], reason: /mask it/ },
    { title: 'restarted always restarts', input: { name: 'web', state: 'restarted' }, state: { activeState: 'active' }, changes: ['restart web.service'] },
    { title: 'reloaded reloads a running unit that can', input: { name: 'web', state: 'reloaded' }, state: { activeState: 'active', canReload: true }, changes: ['reload web.service'] },
    { title: 'reloaded starts a stopped unit', input: { name: 'web', state: 'reloaded' }, state: {}, changes: ['start web.service (reloaded asked; it was inactive)'] },
    {
      title: 'masks a running unit, disabling it first, then stops it',
      input: { name: 'web', masked: true, enabled: false, state: 'stopped' },
      state: { activeState: 'active', enablement: 'enabled' },
      changes: ['disable web.service', 'mask web.service', 'stop web.service'],
    },
    { title: 'masks a unit that does not exist (systemctl allows it)', input: { name: 'web', masked: true }, state: { loadState: 'not-found', enablement: 'not-found' }, changes: ['mask web.service'] },
    { title: 'a masked unit stays masked', input: { name: 'web', masked: true, enabled: false }, state: { loadState: 'masked', enablement: 'masked' }, changes: [] },
    {
      title: 'unmasks, then enables and starts',
      input: { name: 'web', masked: false, enabled: true, state: 'started' },
      state: { loadState: 'masked', enablement: 'masked' },
      changes: ['unmask web.service', 'enable web.service', 'start web.service'],
    },
    { title: 'unmasks a runtime mask with --runtime', input: { name: 'web', masked: false }, state: { loadState: 'masked', enablement: 'masked-runtime' }, changes: ['unmask web.service'] },
    { title: 'daemonReload true reloads every time', input: { name: 'web', daemonReload: true, state: 'started' }, state: { activeState: 'active' }, changes: ['run systemctl daemon-reload (web.service: daemonReload: true)'] },
    {
      title: 'auto reloads when systemd says the files changed',
      input: { name: 'web', state: 'started' },
      state: { needDaemonReload: true },
      changes: ['run systemctl daemon-reload (web.service: systemd reports its files changed on disk (NeedDaemonReload=yes))', 'start web.service'],
    },
    { title: 'false never reloads for changes made elsewhere', input: { name: 'web', state: 'started', daemonReload: false }, state: { needDaemonReload: true, activeState: 'active' }, changes: [] },
    {
      title: 'writes a new unit file, reloads, enables (predicted from [Install]) and starts',
      input: { name: 'web', unitFile: UNIT_TEXT, enabled: true, state: 'started' },
      state: { loadState: 'not-found', enablement: 'not-found', fragmentPath: '' },
      files: [absentFileState('/etc/systemd/system/web.service')],
      // systemctl enable reloads systemd itself: the reload rides on it instead of being a second one.
      changes: [`create /etc/systemd/system/web.service (${Buffer.byteLength(UNIT_TEXT)} bytes)`, 'enable web.service (systemd reloads with it: its unit files changed)', 'start web.service'],
    },
    {
      title: 'a new unit without [Install] cannot be enabled: noted, not attempted',
      input: { name: 'web', unitFile: '[Service]\nExecStart=/bin/true\n', enabled: true },
      state: { loadState: 'not-found', enablement: 'not-found', fragmentPath: '' },
      files: [absentFileState('/etc/systemd/system/web.service')],
      changes: ['create /etc/systemd/system/web.service (30 bytes)', 'run systemctl daemon-reload (web.service: its unit files changed)'],
      reason: /static: no \[Install\] rules/,
    },
    {
      title: 'an unchanged unit file means no reload and no restart',
      input: { name: 'web', unitFile: UNIT_TEXT, enabled: true, state: 'started' },
      state: { activeState: 'active', enablement: 'enabled', fragmentPath: '/etc/systemd/system/web.service' },
      files: [fileStateWith('/etc/systemd/system/web.service', UNIT_TEXT)],
      changes: [],
    },
    {
      title: 'a changed drop-in is written and reloaded, the running unit left for a handler to restart',
      input: { name: 'docker', dropIns: { 'http-proxy.conf': '[Service]\nEnvironment="HTTP_PROXY=http://proxy:3128"\n' }, state: 'started' },
      state: { id: 'docker.service', activeState: 'active', enablement: 'enabled' },
      files: [fileStateWith('/etc/systemd/system/docker.service.d/http-proxy.conf', '[Service]\n')],
      changes: ['update /etc/systemd/system/docker.service.d/http-proxy.conf (10 → 53 bytes)', 'run systemctl daemon-reload (docker.service: its unit files changed)'],
    },
  ];
  for (const row of table) {
    it(row.title, () => {
      const result = plan(row.input, unit(row.state), row.files ?? []);
      expect(changeSummaries(result)).to.deep.equal(row.changes);
      if (row.reason) expect(result.reason).to.match(row.reason);
    });
  }

  it('shows state and enablement as value diffs, the file as a file diff', () => {
    const result = plan({ name: 'web', unitFile: UNIT_TEXT, enabled: true, state: 'started' }, unit({ loadState: 'not-found', enablement: 'not-found', fragmentPath: '' }), [absentFileState('/etc/systemd/system/web.service')]);
    expect(result.changes.map((change) => change.diff)).to.deep.equal([
      { kind: 'file', path: '/etc/systemd/system/web.service', before: null, after: UNIT_TEXT },
      { kind: 'value', name: 'web.service enabled', before: 'not-found', after: 'enabled' },
      { kind: 'value', name: 'web.service state', before: 'inactive', after: 'active' },
    ]);
  });

  it('a reload rides on systemctl enable or disable, never with --no-reload, and stays its own step otherwise', () => {
    const written = (input: Partial<SystemdParams>, state: Partial<UnitState>) => plan({ name: 'web', unitFile: UNIT_TEXT, ...input }, unit(state), [fileStateWith('/etc/systemd/system/web.service', '[Unit]\n')]);
    const enabling = written({ enabled: true, state: 'started' }, { enablement: 'disabled' });
    expect(displayedCommands(enabling).slice(1, 2)).to.deep.equal(['systemctl enable -- web.service']);
    expect(enabling.changes[1]!.effects).to.deep.include({ kind: 'unit', name: 'web.service', state: { needDaemonReload: false } });
    const disabling = written({ enabled: false }, { enablement: 'enabled' });
    expect(changeSummaries(disabling)).to.deep.equal(['update /etc/systemd/system/web.service (7 → 100 bytes)', 'disable web.service (systemd reloads with it: its unit files changed)']);
    // Already enabled: no systemctl enable runs, so the reload is its own command before the restart.
    const enabled = written({ enabled: true, state: 'restarted' }, { enablement: 'enabled', activeState: 'active' });
    expect(changeSummaries(enabled).slice(1)).to.deep.equal(['run systemctl daemon-reload (web.service: its unit files changed)', 'restart web.service']);
  });

  it('the reload rides on enable only for a unit with its own unit file, never for an init-script service or a masked one', () => {
    const dropIn = { 'limits.conf': '[Service]\nLimitNOFILE=65536\n' };
    const dropInFile = [absentFileState('/etc/systemd/system/web.service.d/limits.conf')];
    // A package's unit file (found in the unit directories): enable carries the reload.
    const packaged = plan({ name: 'web', dropIns: dropIn, enabled: true, state: 'restarted' }, unit({ fileOnDisk: '/lib/systemd/system/web.service' }), dropInFile);
    expect(changeSummaries(packaged).slice(1, 2)).to.deep.equal(['enable web.service (systemd reloads with it: its unit files changed)']);
    // Only an init script (no unit file: systemd-sysv-generator's unit): systemd before 231 (EL7) hands
    // enable to chkconfig and does not reload, so the reload stays its own step before it.
    const sysv = plan({ name: 'web', dropIns: dropIn, enabled: true, state: 'restarted' }, unit({ fragmentPath: '/run/systemd/generator.late/web.service' }), dropInFile);
    expect(changeSummaries(sysv).slice(1)).to.deep.equal(['run systemctl daemon-reload (web.service: its unit files changed)', 'enable web.service', 'restart web.service']);
    // Masked now: the file on disk is the mask, what is under it unknown.
    const masked = plan({ name: 'web', dropIns: dropIn, masked: false, enabled: true }, unit({ loadState: 'masked', enablement: 'masked', fileOnDisk: '/etc/systemd/system/web.service' }), dropInFile);
    expect(changeSummaries(masked)).to.deep.equal(['unmask web.service', 'create /etc/systemd/system/web.service.d/limits.conf (28 bytes)', 'run systemctl daemon-reload (web.service: its unit files changed)', 'enable web.service']);
  });

  it('quotes every value, checks for a failed start, and diagnoses with the journal', () => {
    const result = plan({ name: 'getty@tty1', state: 'started', enabled: true }, unit({ id: 'getty@tty1.service' }));
    const [enable, startText] = displayedCommands(result);
    expect(enable).to.equal('systemctl enable -- getty@tty1.service');
    const lines = startText!.split('\n');
    expect(lines[0]).to.equal('systemctl start -- getty@tty1.service');
    // Waits (bounded) until a Type=simple service's main process has exec'd or is gone, then asks.
    expect(startText).to.include('while [ "$settle" -lt 50 ]; do');
    expect(startText).to.include('main_pid=$(systemctl show -p MainPID -- getty@tty1.service 2>/dev/null) || break');
    expect(startText).to.include('case "$main_exe" in */systemd|*/systemd-executor|\'\') ;; *) break ;; esac');
    expect(lines.at(-1)).to.equal("if systemctl is-failed --quiet -- getty@tty1.service; then echo 'getty@tty1.service failed right after start' >&2; exit 1; fi");
    const start = result.changes[1]!.commands[0]!;
    // The journal after journald flushed (modules/lib/journal.ts, tested there), else systemctl status.
    const diagnose = start.diagnose?.text ?? '';
    expect(diagnose).to.match(/^read_journal\(\) \{ journalctl -n 20 --no-pager _SYSTEMD_UNIT=getty@tty1\.service \+ UNIT=getty@tty1\.service \+ .* 2>\/dev\/null; \}\nif journalctl --sync /);
    expect(diagnose.split('\n').at(-1)).to.equal('systemctl status --no-pager --full -n 20 -- getty@tty1.service');
  });

  it('refuses impossible requests while planning, with what to do', () => {
    const table: Array<[SystemdParams, Partial<UnitState>, RegExp, RegExp]> = [
      [{ name: 'web', state: 'started' }, { loadState: 'masked', enablement: 'masked' }, /masked and cannot be started/, /masked: false/],
      [{ name: 'web', enabled: true }, { loadState: 'masked', enablement: 'masked' }, /masked and cannot be enabled/, /masked: false/],
      [{ name: 'web', unitFile: UNIT_TEXT }, { loadState: 'masked', enablement: 'masked' }, /is masked, so its unit file/, /masked: false/],
      [{ name: 'web', state: 'reloaded' }, { activeState: 'active', canReload: false }, /cannot reload/, /restarted/],
      [{ name: 'web', state: 'started' }, { loadState: 'bad-setting' }, /could not load web.service \(LoadState=bad-setting\)/, /systemd-analyze verify/],
      [{ name: 'web', enabled: true }, { enablement: 'bad' }, /is invalid/, /systemd-analyze verify/],
      [{ name: 'web', enabled: true }, { id: 'real.service' }, /alias of real.service/, /manage real.service/],
      [{ name: 'web', masked: true }, { fragmentPath: '/etc/systemd/system/web.service' }, /cannot mask web.service/, /remove that unit file/],
    ];
    for (const [input, state, message, hint] of table) {
      const files = unitFiles('web.service', systemd.params.parse(input, '')).map((file) => absentFileState(file.path));
      try {
        plan(input, unit(state), files);
        expect.fail(`no error for ${JSON.stringify(input)}`);
      } catch (error) {
        expect(error, JSON.stringify(input)).to.be.instanceOf(ModuleError);
        expect((error as ModuleError).message).to.match(message);
        expect((error as ModuleError).hint).to.match(hint);
      }
    }
  });

  it('plans a unit that does not exist yet behind a guard, as uncertain, for a package an earlier task installs', () => {
    const table: Array<[SystemdParams, string[]]> = [
      [{ name: 'web', state: 'started' }, ['start web.service']],
      [{ name: 'web', enabled: true }, ['enable web.service']],
      [{ name: 'web', state: 'started', enabled: true }, ['enable web.service', 'start web.service']],
      [{ name: 'web', state: 'restarted' }, ['restart web.service']],
    ];
    for (const [input, actions] of table) {
      const result = plan(input, unit({ loadState: 'not-found', enablement: 'not-found' }), []);
      expect(result.uncertain, JSON.stringify(input)).to.equal(true);
      expect(changeSummaries(result)).to.deep.equal(['check that web.service exists by then (it does not yet; an earlier task may install it)', ...actions]);
      const guard = renderCommand(result.changes[0]!.commands[0]!).display;
      expect(guard).to.include('systemctl cat -- web.service');
      expect(guard).to.include('does not exist: install the package that provides it');
    }
  });

  it('plans through one probe on a recorded host', async () => {
    const host = new RecordedHost([{ match: '@@unit', output: { stdout: `@@unit\n${CAPTURED.ssh}` } }]);
    const result = await planOn(systemd, { name: 'ssh', state: 'started', enabled: true }, host);
    expect(result.changes).to.deep.equal([]);
    expect(result.reason).to.equal('ssh.service: active (running), enabled');
    expect(host.probes).to.have.length(1);
    const down = new RecordedHost([{ match: '@@unit', output: { exitCode: 1, stderr: "System has not been booted with systemd as init system (PID 1). Can't operate." } }]);
    try {
      await planOn(systemd, { name: 'ssh', state: 'started' }, down);
      expect.fail('no error');
    } catch (error) {
      expect((error as ModuleError).hint).to.equal('this host does not run systemd as its init system');
    }
  });
});
