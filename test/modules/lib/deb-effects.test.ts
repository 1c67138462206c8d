/**
 * What a rehearsed apt transaction leaves for a dry run's later tasks: maintainer scripts read as
 * debhelper writes them (texts from Debian 12's containerd, ipvsadm and sgml-base), and the effects in
 * the order the dry run records them.
 */
import { expect } from 'chai';
import type { DebEntry, DebPackage, RehearsedTransaction } from '../../../modules/facts/apt-transaction.ts';
import { debTransactionEffects, readScripts } from '../../../modules/lib/deb-effects.ts';
import { PredictedState } from '../../../runner/predicted-state.ts';

/** containerd 1.6.20~ds1-1+deb12u3's postinst, as dh_installsystemd 13.11.4 wrote it. */
const SYSTEMD_POSTINST = `#!/bin/sh
set -e
# Automatically added by dh_installsystemd/13.11.4
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	# The following line should be removed in trixie or trixie+1
	deb-systemd-helper unmask 'containerd.service' >/dev/null || true

	# was-enabled defaults to true, so new installations run enable.
	if deb-systemd-helper --quiet was-enabled 'containerd.service'; then
		deb-systemd-helper enable 'containerd.service' >/dev/null || true
	else
		deb-systemd-helper update-state 'containerd.service' >/dev/null || true
	fi
fi
# End automatically added section
# Automatically added by dh_installsystemd/13.11.4
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		deb-systemd-invoke $_dh_action 'containerd.service' >/dev/null || true
	fi
fi
# End automatically added section
`;

/** ipvsadm 1:1.31-1+b1's postinst (dh_installinit: a System V script). */
const SYSV_POSTINST = `#!/bin/sh
set -e
# Automatically added by dh_installinit/12.9
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -x "/etc/init.d/ipvsadm" ]; then
		update-rc.d ipvsadm defaults >/dev/null
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		invoke-rc.d ipvsadm $_dh_action || exit 1
	fi
fi
# End automatically added section
`;

/** The start of sgml-base 1.31's preinst: the maintainer's own commands. */
const OWN_PREINST = `#!/bin/sh
## debian/preinst : preinstallation script for sgml-base
set -e
if [ "$1" = "install" -o "$1" = "upgrade" ]
then
	mkdir -p /var/lib/sgml-base /etc/sgml
fi
exit 0
`;

const UNIT = '[Unit]\nDescription=containerd\n\n[Service]\nExecStart=/usr/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n';

function entry(type: DebEntry['type'], path: string, extra: Partial<DebEntry> = {}): DebEntry {
  return { type, mode: type === 'directory' ? '755' : '644', uid: 0, gid: 0, size: 0, path, onHost: false, ...extra };
}

function pkg(name: string, control: DebPackage['control'], entries: DebEntry[]): DebPackage {
  return { name, version: '1.0', control, entries, unsafeNames: false };
}

function transaction(packages: DebPackage[], extra: Partial<RehearsedTransaction> = {}): RehearsedTransaction {
  return {
    failed: null,
    installs: packages.map((item) => ({ name: item.name, version: item.version, upgradeFrom: null })),
    removals: [],
    systemdRunning: true,
    hostLinks: new Map([['/lib', '/usr/lib']]),
    packages,
    ...extra,
  };
}

const CONTAINERD = pkg('containerd', { postinst: SYSTEMD_POSTINST, conffiles: '/etc/containerd/config.toml\n' }, [
  entry('directory', '/etc', { onHost: true }),
  entry('directory', '/etc/containerd'),
  entry('file', '/etc/containerd/config.toml', { size: 11, sha256: 'a'.repeat(64), content: Buffer.from('version = 2') }),
  entry('directory', '/lib', { onHost: true }),
  entry('file', '/lib/systemd/system/containerd.service', { size: UNIT.length, sha256: 'b'.repeat(64), content: Buffer.from(UNIT) }),
  entry('link', '/usr/bin/ctr-link', { target: 'ctr' }),
]);

describe('modules/lib/deb-effects: what an apt transaction leaves for a dry run', () => {
  describe('maintainer scripts', () => {
    it("reads dh_installsystemd's snippets: the unit enabled and started", () => {
      expect(readScripts({ name: 'containerd', control: { postinst: SYSTEMD_POSTINST } })).to.deep.equal({
        enabled: ['containerd.service'],
        started: ['containerd.service'],
        sysvStarted: [],
        writesUnder: [],
        opaque: null,
      });
    });

    it("reads dh_installinit's snippet as a System V service started, and ldconfig's trigger as the linker cache", () => {
      const findings = readScripts({ name: 'ipvsadm', control: { postinst: SYSV_POSTINST, triggers: 'activate-noawait ldconfig\n' } });
      expect(findings.sysvStarted).to.deep.equal(['ipvsadm']);
      expect(findings.writesUnder).to.deep.equal(['/etc/ld.so.cache']);
      expect(findings.opaque).to.equal(null);
    });

    it("a maintainer's own command, an unknown trigger or an unknown snippet makes the package's scripts opaque", () => {
      expect(readScripts({ name: 'sgml-base', control: { preinst: OWN_PREINST } }).opaque).to.equal('its preinst runs its own commands ("if [ "$1" = "install" -o "$1" = "upgrade" ]")');
      expect(readScripts({ name: 'x', control: { triggers: 'activate-noawait update-initramfs\n' } }).opaque).to.match(/activates the trigger update-initramfs/);
      const snippet = '# Automatically added by dh_installdeb/13.11\ndpkg-maintscript-helper rm_conffile /etc/x 1.0 -- "$@"\n# End automatically added section\n';
      expect(readScripts({ name: 'x', control: { postinst: snippet } }).opaque).to.match(/dh_installdeb's snippet/);
      // Interest in a trigger is what the package's own postinst handles: nothing by itself.
      expect(readScripts({ name: 'x', control: { triggers: 'interest-noawait /usr/share/man\n' } }).opaque).to.equal(null);
    });
  });

  describe('effects', () => {
    it('packages, then every path at its place on the host, then units, then what stays unknown', () => {
      const effects = debTransactionEffects(transaction([CONTAINERD]))!;
      expect(effects[0]).to.deep.equal({ kind: 'package', name: 'containerd', installed: true });
      const paths = effects.filter((effect) => effect.kind === 'path').map((effect) => (effect.kind === 'path' ? [effect.path, effect.state.kind] : []));
      expect(paths).to.deep.equal([
        ['/etc', 'directory'],
        ['/etc/containerd', 'directory'],
        ['/etc/containerd/config.toml', 'file'],
        // /lib is a link to /usr/lib on the host: the link stays, what is below lands under /usr/lib.
        ['/usr/lib/systemd/system/containerd.service', 'file'],
        ['/usr/bin/ctr-link', 'link'],
        // `enable` links the unit where its [Install] section says, pointing at the path the package names.
        ['/etc/systemd/system/multi-user.target.wants/containerd.service', 'link'],
      ]);
      expect(effects.find((effect) => effect.kind === 'path' && effect.path === '/etc')).to.deep.equal({ kind: 'path', path: '/etc', state: { kind: 'directory' } });
      expect(effects.find((effect) => effect.kind === 'path' && effect.path === '/etc/containerd')).to.deep.equal({
        kind: 'path',
        path: '/etc/containerd',
        state: { kind: 'directory', mode: '755', uid: 0, gid: 0, owner: 'root', group: 'root' },
      });
      expect(effects.filter((effect) => effect.kind === 'unit')).to.deep.equal([
        { kind: 'unit', name: 'containerd.service', state: { enablement: 'enabled' } },
        { kind: 'unit', name: 'containerd.service', state: { loadState: 'loaded', activeState: 'active', needDaemonReload: false } },
      ]);
      expect(effects.at(-1)).to.deep.include({ kind: 'unknown', under: '/var' });
    });

    it('the later tasks see the package: its file with its text, its unit active and enabled, /var unknown', () => {
      const state = new PredictedState();
      state.record('runtime', debTransactionEffects(transaction([CONTAINERD]))!);
      const view = state.view();
      const config = view.path('/etc/containerd/config.toml');
      expect(config?.known.kind === 'file' && config.known.content?.toString()).to.equal('version = 2');
      expect(view.unit('containerd.service')?.known).to.deep.equal({ enablement: 'enabled', loadState: 'loaded', activeState: 'active', needDaemonReload: false });
      expect(view.path('/var/lib/dpkg/status')).to.equal(undefined);
      expect(view.unknowns).to.deep.equal([{ by: 'runtime', what: '/var/lib/dpkg/status' }]);
    });

    it('without systemd running, nothing is started', () => {
      const effects = debTransactionEffects(transaction([CONTAINERD], { systemdRunning: false }))!;
      expect(effects.filter((effect) => effect.kind === 'unit')).to.deep.equal([{ kind: 'unit', name: 'containerd.service', state: { enablement: 'enabled' } }]);
    });

    it('a configuration file already on the host may be kept: that path is unknown', () => {
      const onHost = pkg('x', { conffiles: '/etc/x.conf\n' }, [entry('file', '/etc/x.conf', { sha256: 'c'.repeat(64), onHost: true })]);
      const effects = debTransactionEffects(transaction([onHost]))!;
      expect(effects).to.deep.include({ kind: 'unknown', domains: ['files'], under: '/etc/x.conf', what: "whether dpkg keeps the existing /etc/x.conf or installs the package's (a configuration file)" });
      expect(effects.some((effect) => effect.kind === 'path' && effect.path === '/etc/x.conf')).to.equal(false);
    });

    it('opaque scripts, an upgrade, a removal or a package not read leave everything but the packages unknown, last', () => {
      const cases: Array<[RehearsedTransaction, RegExp]> = [
        [transaction([pkg('sgml-base', { preinst: OWN_PREINST }, [])]), /sgml-base: its preinst runs its own commands/],
        [transaction([CONTAINERD], { installs: [{ name: 'containerd', version: '1.1', upgradeFrom: '1.0' }] }), /upgrading containerd from 1\.0/],
        [transaction([CONTAINERD], { removals: ['docker.io'] }), /removing docker\.io/],
        [transaction([], { installs: [{ name: 'ghost', version: '1', upgradeFrom: null }] }), /ghost \(not read\)/],
      ];
      for (const [item, why] of cases) {
        const last = debTransactionEffects(item)!.at(-1)!;
        expect(last.kind).to.equal('unknown');
        if (last.kind !== 'unknown') continue;
        expect(last.under).to.equal(undefined);
        expect(last.domains).to.not.include('packages');
        expect(last.what).to.match(why);
      }
    });

    it('several libraries triggering ldconfig make one unknown; a failed rehearsal gives no effects at all', () => {
      const library = (name: string) => pkg(name, { triggers: 'activate-noawait ldconfig\n' }, []);
      const effects = debTransactionEffects(transaction([library('liba'), library('libb')]))!;
      expect(effects.filter((effect) => effect.kind === 'unknown' && effect.under === '/etc/ld.so.cache')).to.have.length(1);
      expect(debTransactionEffects(transaction([], { failed: 'download failed: E: 404' }))).to.equal(null);
    });
  });
});
