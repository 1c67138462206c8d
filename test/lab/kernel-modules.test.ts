import { expect } from 'chai';
import { builtinModules } from '../../lab/kernel-modules.ts';

describe('lab/kernel-modules', () => {
  it('lists modules the kernel config builds in, and only those', () => {
    const config = ['CONFIG_OVERLAY_FS=y', 'CONFIG_BRIDGE_NETFILTER=y', '# CONFIG_IP_VS is not set', 'CONFIG_VXLAN=m', 'CONFIG_BRIDGE=y'].join('\n');
    // VXLAN=m is a loadable module, IP_VS is absent: neither is built in.
    expect(builtinModules(config, [])).to.deep.equal(['kernel/fs/overlayfs/overlay.ko', 'kernel/net/bridge/br_netfilter.ko', 'kernel/net/bridge/bridge.ko']);
  });

  it('adds /sys/module names that the config table does not know, without duplicates', () => {
    expect(builtinModules('CONFIG_OVERLAY_FS=y\n', ['overlay', 'nf_conntrack_ftp'])).to.deep.equal(['kernel/builtin/nf_conntrack_ftp.ko', 'kernel/fs/overlayfs/overlay.ko']);
  });

  it('works from /sys/module alone when the kernel hides its config', () => {
    expect(builtinModules(undefined, ['loop'])).to.deep.equal(['kernel/builtin/loop.ko']);
  });
});
