/**
 * What a rehearsed dnf transaction leaves for a dry run's later tasks: `rpm -qp --dump` read (lines from the
 * lab's stand-in kubelet RPM), and the effects in the order the dry run records them.
 */
import { expect } from 'chai';
import { parseDumpLine, parseRehearsedRpmTransaction, type RehearsedRpmTransaction } from '../../../modules/facts/rpm-transaction.ts';
import { rpmTransactionEffects } from '../../../modules/lib/rpm-effects.ts';

const SHA = '4ccbf1f84c1fee62a313aeb9ea40fcb72bc595e1a6c865fde200b2af7dd7c924';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const UNIT = '[Unit]\nDescription=kubelet\n\n[Install]\nWantedBy=multi-user.target\n';

const OUTPUT = `#host
systemd
link /lib /usr/lib
#package kubelet 0:1.30.13-150500.1.1
#scripts
#dump
/etc/sysconfig/kubelet 20 1796587990 2737f011e1fc6995aeeb6a2071e268e37b1437481bbdb205f5075939f40d7ae7 0100644 root root 1 0 0 X
/usr/bin/kubelet 310 1796587990 ${SHA} 0100755 root root 0 0 0 X
/usr/lib/systemd/system/kubelet.service ${UNIT.length} 1796587990 ${'b'.repeat(64)} 0100644 root root 0 0 0 X
/usr/lib/kubelet-standin 0 1796587990 ${'0'.repeat(64)} 040755 root root 0 0 0 X
#on-host
/usr/lib/kubelet-standin
#content ${b64(UNIT)} usr/lib/systemd/system/kubelet.service
#package libfoo 0:1.0-1
#upgrade-from 0.9-1
#scripts ${b64('postinstall program: /sbin/ldconfig\npostuninstall program: /sbin/ldconfig\n')}
#dump
`;

describe('modules/lib/rpm-effects: what a dnf transaction leaves for a dry run', () => {
  it('reads rpm --dump lines: type from the mode, sha256 digests, configuration files, paths with spaces', () => {
    expect(parseDumpLine(`/usr/bin/kubelet 310 1796587990 ${SHA} 0100755 root root 0 0 0 X`)).to.deep.equal({
      type: 'file',
      path: '/usr/bin/kubelet',
      size: 310,
      sha256: SHA,
      mode: '755',
      owner: 'root',
      group: 'root',
      config: false,
      onHost: false,
    });
    expect(parseDumpLine('/etc/a b.conf 3 1 ' + 'c'.repeat(32) + ' 0100600 root wheel 1 0 0 X')).to.deep.include({ path: '/etc/a b.conf', mode: '600', config: true, group: 'wheel' });
    expect(parseDumpLine('/usr/sbin/x 7 1 ' + '0'.repeat(64) + ' 0120777 root root 0 0 0 ../bin/x')).to.deep.include({ type: 'link', target: '../bin/x' });
    expect(parseDumpLine('/usr/bin/su 1 1 ' + SHA + ' 0104755 root root 0 0 0 X')).to.deep.include({ mode: '4755' });
    expect(parseDumpLine('garbage')).to.equal(undefined);
  });

  it('packages, then paths (unit texts kept), then what stays unknown; an upgrade or a scriptlet other than ldconfig hides the rest', () => {
    const read = parseRehearsedRpmTransaction(OUTPUT);
    const [kubelet, libfoo] = read.packages;
    expect(kubelet).to.deep.include({ name: 'kubelet', evr: '0:1.30.13-150500.1.1', upgradeFrom: null, scripts: '' });
    expect(libfoo).to.deep.include({ upgradeFrom: '0.9-1' });
    const effects = rpmTransactionEffects(read)!;
    expect(effects.slice(0, 2)).to.deep.equal([
      { kind: 'package', name: 'kubelet', installed: true },
      { kind: 'package', name: 'libfoo', installed: true },
    ]);
    const unit = effects.find((effect) => effect.kind === 'path' && effect.path === '/usr/lib/systemd/system/kubelet.service');
    expect(unit?.kind === 'path' && unit.state.kind === 'file' && unit.state.content?.toString()).to.equal(UNIT);
    // An existing directory keeps its metadata; a configuration file the host does not have is predicted.
    expect(effects).to.deep.include({ kind: 'path', path: '/usr/lib/kubelet-standin', state: { kind: 'directory' } });
    expect(effects.some((effect) => effect.kind === 'path' && effect.path === '/etc/sysconfig/kubelet')).to.equal(true);
    expect(effects).to.deep.include({ kind: 'unknown', domains: ['files'], under: '/etc/ld.so.cache', what: "the dynamic linker's cache, which ldconfig rewrites for new libraries" });
    const last = effects.at(-1)!;
    expect(last.kind === 'unknown' && last.what).to.match(/upgrading libfoo from 0\.9-1/);

    const withScriptlet: RehearsedRpmTransaction = { ...read, packages: [{ ...kubelet!, scripts: 'postinstall scriptlet (using /bin/sh):\nsystemctl --no-reload preset kubelet.service' }] };
    expect(rpmTransactionEffects(withScriptlet)!.at(-1)).to.deep.include({ kind: 'unknown', what: "what the packages' own scriptlets do: kubelet runs scriptlets (a unit's enablement follows the host's presets)" });
    expect(rpmTransactionEffects(parseRehearsedRpmTransaction('#download-failed\nNo match for argument: nope\n'))).to.equal(null);
    expect(parseRehearsedRpmTransaction('#no-dnf\n').failed).to.match(/no dnf/);
  });
});
