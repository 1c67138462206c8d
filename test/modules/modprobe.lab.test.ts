import { expect } from 'chai';
import { modprobe, MODULES_LOAD_HEADER, type ModprobeParams } from '../../modules/modprobe.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { pickBelow, seededBelow } from '../support/seeded-random.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 1. Its kernel has no loadable modules; overlay, br_netfilter and
// nf_conntrack are built in (the lab lists them in modules.builtin), dummy is neither. ──

const LOAD_FILE = 'drover-test-modprobe';
const LOAD_PATH = `/etc/modules-load.d/${LOAD_FILE}.conf`;
const BUILTINS = ['overlay', 'br_netfilter', 'nf_conntrack'] as const;
const OPTION_FILES = BUILTINS.map((name) => `/etc/modprobe.d/${name}.conf`);
const PWNED = '/tmp/drover-pwned-modprobe';

describe('modprobe on a lab host', function () {
  let target: LabTarget;
  /** The option files as they were (base64, or '-' for absent), restored after each test. */
  let originalOptions = '';

  const files = [LOAD_PATH, `/etc/modules-load.d/${LOAD_FILE}2.conf`, ...OPTION_FILES];
  async function snapshot(): Promise<string> {
    const output = await onHost(target, files.map((path) => `printf '%s=' ${path}; base64 -w0 ${path} 2>/dev/null || printf -- -; echo`).join('; '));
    return output.stdout;
  }

  before(async function () {
    const targets = await labTargets(this, 2);
    target = targets[1]!;
    // Each test is a new run: facts cached by an earlier test's session must not survive onHost's changes.
    await closeTargets();
    originalOptions = (await onHost(target, OPTION_FILES.map((path) => `base64 -w0 ${path} 2>/dev/null || printf -- -; echo`).join('; '))).stdout;
    await onHost(target, `rm -f /etc/modules-load.d/${LOAD_FILE}*.conf ${PWNED}`);
  });

  afterEach(async () => {
    const saved = originalOptions.split('\n');
    const restore = OPTION_FILES.map((path, index) => (saved[index] === '-' ? `rm -f ${path}` : `echo ${saved[index]} | base64 -d > ${path}`));
    const output = await onHost(target, [`rm -f /etc/modules-load.d/${LOAD_FILE}*.conf`, ...restore].join(' && '));
    expect(output.exitCode, output.stderr).to.equal(0);
    await closeTargets();
  });

  it('a built-in module: persisted, read back, no change on re-run, nothing in check mode', async () => {
    const first = await applyModule(target, modprobe, { name: 'overlay', persistFile: LOAD_FILE });
    expect(first.status, first.msg).to.equal('changed');
    expect(first.changes).to.have.length(1);
    expect((await onHost(target, `cat ${LOAD_PATH}; stat -c %a ${LOAD_PATH}; test -d /sys/module/overlay && echo builtin`)).stdout).to.equal(`${MODULES_LOAD_HEADER}overlay\n644\nbuiltin\n`);

    const second = await applyModule(target, modprobe, { name: 'overlay', persistFile: `${LOAD_FILE}.conf` });
    expect(second.status, second.msg).to.equal('ok');
    expect(second.commands).to.deep.equal([]);
    expect(second.msg).to.equal(`overlay built into the kernel, listed in ${LOAD_PATH}`);

    const before = await snapshot();
    const check = await applyModule(target, modprobe, { name: 'br_netfilter', persistFile: LOAD_FILE, params: 'x=1' }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs.map((diff) => (diff.kind === 'file' ? diff.path : diff.name))).to.deep.equal([LOAD_PATH, '/etc/modprobe.d/br_netfilter.conf']);
    expect(check.commands.every((command) => !command.executed)).to.equal(true);
    expect(await snapshot()).to.equal(before);

    const removed = await applyModule(target, modprobe, { name: 'overlay', persistFile: LOAD_FILE, persistent: 'absent' });
    expect(removed.status, removed.msg).to.equal('changed');
    expect((await onHost(target, `cat ${LOAD_PATH}`)).stdout).to.equal(MODULES_LOAD_HEADER);
  });

  it('with no /lib/modules tree (an LXC/nspawn host): br_netfilter counts as provided by the kernel, by its sysctls', async () => {
    // The lab's hosts get a /lib/modules listing the built-ins; a plain container has none, and no
    // /proc/modules either, so only what the module provides can tell.
    const aside = '/lib/modules.drover-test-aside';
    const moved = await onHost(target, `mv /lib/modules ${aside} && ls /proc/sys/net/bridge/bridge-nf-call-iptables && ! modprobe -n br_netfilter 2>/dev/null`);
    try {
      expect(moved.exitCode, `the host is not the case this tests: ${moved.stdout}${moved.stderr}`).to.equal(0);
      const first = await applyModule(target, modprobe, { name: 'br_netfilter', persistFile: LOAD_FILE });
      expect(first.status, first.msg).to.equal('changed');
      expect(first.diffs.map((diff) => (diff.kind === 'file' ? diff.path : diff.name))).to.deep.equal([LOAD_PATH]);
      await closeTargets();
      const second = await applyModule(target, modprobe, { name: 'br_netfilter', persistFile: LOAD_FILE });
      expect(second.status, second.msg).to.equal('ok');
      expect(second.msg).to.equal(`br_netfilter provided by the kernel (/proc/sys/net/bridge/bridge-nf-call-iptables exists), listed in ${LOAD_PATH}`);
      // A module the kernel shows no sign of still fails, naming it.
      const ipVs = await onHost(target, 'test -e /proc/net/ip_vs && echo present || echo absent');
      if (ipVs.stdout.trim() === 'absent') {
        const missing = await applyModule(target, modprobe, { name: 'ip_vs', persistFile: LOAD_FILE });
        expect(missing.status).to.equal('failed');
        expect(missing.msg).to.match(/ip_vs is neither loaded nor built into kernel/);
      }
    } finally {
      const restored = await onHost(target, `[ -d ${aside} ] && mv ${aside} /lib/modules; ls -d /lib/modules`);
      expect(restored.exitCode, restored.stderr).to.equal(0);
    }
  });

  it('check mode predicts exactly what the real run does (seeded random sample)', async () => {
    const pick = pickBelow(seededBelow(777));
    const outcomes = new Set<boolean>();
    for (let round = 0; round < 8; round++) {
      const params: ModprobeParams = {
        name: pick(BUILTINS),
        persistFile: pick([LOAD_FILE, `${LOAD_FILE}2`]),
        persistent: pick(['present', 'present', 'absent', 'disabled'] as const),
        params: pick(['', '', 'a=1', 'a=1 b=2']),
      };
      const label = `round ${round}: ${JSON.stringify(params)}`;
      const { real } = await predictThenApply(target, modprobe, params, label);
      outcomes.add(real.changed);
    }
    expect([...outcomes].sort()).to.deep.equal([false, true]);
  });

  it('hostile strings are rejected before anything reaches the host', async () => {
    const inputs: ModprobeParams[] = [
      { name: `overlay; touch ${PWNED}` },
      { name: `$(touch ${PWNED})` },
      { name: 'overlay', params: `\`touch ${PWNED}\`` },
      { name: 'overlay', params: `a=1 ; touch ${PWNED}` },
      { name: 'overlay', params: `a='x y'` },
      { name: 'overlay', params: 'a=ünïcødé' },
      { name: 'overlay', persistFile: `x; touch ${PWNED}` },
      { name: 'overlay', persistFile: 'x\ny' },
    ];
    for (const input of inputs) {
      const result = await applyModule(target, modprobe, input);
      expect(result.status, JSON.stringify(input)).to.equal('failed');
      expect(result.failure?.kind).to.equal('invalid-input');
      expect(result.commands).to.deep.equal([]);
    }
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });

  it('a module that is neither built in nor loadable fails, naming it and what to check', async () => {
    const result = await applyModule(target, modprobe, { name: 'dummy', persistFile: LOAD_FILE });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.match(/kernel module dummy is neither loaded nor built into kernel \S+ on \S+, and modprobe cannot find it: modprobe: FATAL: Module dummy not found/);
    expect(result.failure?.hint).to.match(/check the name/);
    expect((await onHost(target, `test -e ${LOAD_PATH} && echo present || echo absent`)).stdout.trim()).to.equal('absent');
    const unload = await applyModule(target, modprobe, { name: 'overlay', state: 'absent', persistFile: LOAD_FILE });
    expect(unload.msg).to.match(/built into kernel .* cannot be unloaded/);
  });
});
