/**
 * Whether a kernel module is loaded, built into the kernel, or loadable, read in one round trip.
 *
 * "Present" means the module's code is running: loaded (listed in /proc/modules) or built in. A built-in
 * module is never in /proc/modules; it shows up as /sys/module/NAME without an `initstate` file (only
 * when it has parameters or a version) and is listed in /lib/modules/$(uname -r)/modules.builtin. The
 * kernel treats `-` and `_` in module names as the same character; /sys/module and /proc/modules use `_`.
 */
import { RawShell, sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';

/** A kernel module name as modprobe takes it: letters, digits, `_` and `-`, at most 55 characters. */
export const KERNEL_MODULE_NAME = /^[A-Za-z0-9_-]{1,55}$/;

export interface KernelModuleState {
  /** The kernel release (`uname -r`), for messages. */
  kernel: string;
  /** A loadable module that is loaded now (listed in /proc/modules). */
  loaded: boolean;
  /** Built into the kernel image: always present, cannot be unloaded. */
  builtin: boolean;
  /**
   * `modprobe -n` found it (a .ko under /lib/modules/KERNEL, or a built-in that modules.builtin lists).
   * `undefined` when modprobe is not installed.
   */
  loadable: boolean | undefined;
  /** What the `modprobe -n -v` dry run printed (its error when the module cannot be found). */
  modprobeOutput: string;
  /** In a dry run: the task whose planned load or unload `loaded` is predicted from (not probed). */
  predictedBy?: string;
  /**
   * What the kernel shows that only this module provides (`/proc/sys/net/bridge/bridge-nf-call-iptables`
   * for br_netfilter, `overlay` in /proc/filesystems, `/proc/net/ip_vs`), when it shows it: the module's
   * code is running although neither /proc/modules nor /sys/module nor modprobe can tell (a container with
   * no /lib/modules tree and no /proc/modules). Absent when the kernel shows nothing, or the module has no
   * such sign.
   */
  providedBy?: string;
}

/**
 * For modules whose presence the kernel shows by what they provide: a shell test and the evidence in words.
 * Only signs that nothing but the module itself creates.
 */
const PROVIDES: Readonly<Record<string, readonly [test: string, evidence: string]>> = {
  br_netfilter: ['[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]', '/proc/sys/net/bridge/bridge-nf-call-iptables exists'],
  overlay: ['grep -qw overlay /proc/filesystems', 'overlay is in /proc/filesystems'],
  ip_vs: ['[ -e /proc/net/ip_vs ]', '/proc/net/ip_vs exists'],
  nf_conntrack: ['[ -e /proc/sys/net/netfilter/nf_conntrack_max ]', '/proc/sys/net/netfilter/nf_conntrack_max exists'],
};

/** The name as /sys/module and /proc/modules spell it. */
export function canonicalModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

/** The probe; `name` must match KERNEL_MODULE_NAME (it is also used inside grep patterns). */
export function kernelModuleScript(name: string): ReturnType<typeof sh> {
  if (!KERNEL_MODULE_NAME.test(name)) throw new FactError(`kernel-module:${name}`, 'not a kernel module name');
  const provides = PROVIDES[canonicalModuleName(name)];
  // The test is a constant of this file, never derived from input: it is spliced in as shell text.
  const providedProbe = provides ? `if ${provides[0]} 2>/dev/null; then echo provided=yes; else echo provided=no; fi` : 'echo provided=unknown';
  return sh`m=${name}
n=${canonicalModuleName(name)}
kernel=$(uname -r)
printf 'kernel=%s\\n' "$kernel"
if [ -d "/sys/module/$n" ]; then
  echo sysfs=yes
  if [ -e "/sys/module/$n/initstate" ]; then echo initstate=yes; else echo initstate=no; fi
else echo sysfs=no; fi
if grep -q "^$n " /proc/modules 2>/dev/null; then echo proc=yes; else echo proc=no; fi
list="/lib/modules/$kernel/modules.builtin"
if [ -f "$list" ]; then
  if tr - _ < "$list" | grep -q "/$n\\.ko\$"; then echo builtin-list=yes; else echo builtin-list=no; fi
else echo builtin-list=none; fi
if command -v modprobe >/dev/null 2>&1; then
  if out=$(modprobe -n -v -- "$m" 2>&1); then echo dryrun=ok; else echo dryrun=failed; fi
  printf 'dryrun-output=%s\\n' "$(printf '%s' "$out" | base64 -w0)"
else echo dryrun=no-modprobe; fi
${new RawShell(providedProbe)}
`;
}

/** Parses the probe's output; pure, tested from captured output. */
export function parseKernelModule(name: string, stdout: string): KernelModuleState {
  const fields = parseFieldLines(stdout);
  const sysfs = field(fields, 'sysfs');
  const dryrun = field(fields, 'dryrun');
  if (!sysfs || !dryrun || field(fields, 'proc') === undefined) {
    throw new FactError(`kernel-module:${name}`, `unexpected probe output: ${JSON.stringify(stdout.slice(0, 300))}`);
  }
  const loaded = field(fields, 'proc') === 'yes';
  const builtin = !loaded && ((sysfs === 'yes' && field(fields, 'initstate') === 'no') || field(fields, 'builtin-list') === 'yes');
  return {
    kernel: field(fields, 'kernel') ?? '',
    loaded,
    builtin,
    loadable: dryrun === 'no-modprobe' ? undefined : dryrun === 'ok',
    modprobeOutput: fromBase64(field(fields, 'dryrun-output') ?? '').trim(),
    ...(field(fields, 'provided') === 'yes' && { providedBy: PROVIDES[canonicalModuleName(name)]?.[1] }),
  };
}

/** A fact per module name; re-read after any change on the host (a task may have loaded it). */
export function kernelModule(name: string): Fact<KernelModuleState> {
  return {
    key: `kernel-module:${canonicalModuleName(name)}`,
    script: kernelModuleScript(name),
    parse: (output) => {
      if (output.exitCode !== 0) throw new FactError(`kernel-module:${name}`, `the probe failed (exit ${output.exitCode}): ${output.stderr.trim()}`);
      return parseKernelModule(name, output.stdout);
    },
    predict: (state, predicted) => {
      const found = predicted.kernelModule(name);
      return found && !state.builtin ? { ...state, loaded: found.known, predictedBy: found.by } : state;
    },
  };
}
