/**
 * sysctl: set kernel parameters now and at every boot.
 *
 * Persists `key = value` lines in a file under /etc/sysctl.d/ (editing only the lines of the keys it is
 * given, so several tasks can share one file), and writes the live value with `sysctl -w` only when the
 * kernel's value differs. Values are compared the way the kernel reads and prints them: whitespace-separated
 * fields, so `"32768 60999"` equals the kernel's `"32768\t60999"`, and each number read as the kernel reads
 * it (a leading `0` is octal, `0x` hexadecimal), so `"0600"` is 384 and `"0x10"` is 16. The value is
 * written, to the kernel and to the file, as given. A number the kernel would refuse (`"08"`, `"0x"`,
 * `"+5"`) is an error before anything is sent, unless the key's live value shows it holds text.
 *
 * A key the kernel does not have is an error naming the key. Some keys appear only once a kernel module is
 * loaded (`net.bridge.*` needs `br_netfilter`): when that module is not loaded but can be, the key is
 * planned anyway, because an earlier modprobe task in the same run loads it and a dry run must not fail
 * for that; the command then checks again and fails with the same explanation if nothing loaded it.
 *
 * @example
 *   await t.modprobe('bridge netfilter', { name: 'br_netfilter', persistFile: 'k8s' });
 *   await t.sysctl('kubernetes networking', {
 *     settings: { 'net.bridge.bridge-nf-call-iptables': 1, 'net.bridge.bridge-nf-call-ip6tables': 1, 'net.ipv4.ip_forward': 1 },
 *     sysctlFile: 'k8s.conf',
 *   });
 *   await t.sysctl('keepalive below the IPVS idle timeout', { name: 'net.ipv4.tcp_keepalive_time', value: 600 });
 */
import { posix } from 'node:path';
import { Script, sh, type Command } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { combinePlans, defineModule, noChange, type Change, type HostContext, type Plan } from '../runner/module.ts';
import type { Effect } from '../runner/predicted-state.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import { planFileContent } from './lib/file-content.ts';
import { decodeHostText, encodeHostText } from '../runner/host-text.ts';
import { printedByIntegerHandler, readKernelInteger } from './lib/kernel-integer.ts';
import { readFactAndFileState, type FileState } from './facts/file-state.ts';
import { kernelModule } from './facts/kernel-module.ts';
import { sysctlKeyPath, sysctlValues, type SysctlReading, type SysctlValues } from './facts/sysctl-values.ts';

/** Letters, digits, `_`, `-`, and `.` or `/` as separators; no empty, `.` or `..` path segments. */
const KEY = /^[A-Za-z0-9_-]+(?:[./][A-Za-z0-9_-]+)*$/;
const KEY_WHAT = 'a sysctl key such as net.ipv4.ip_forward (letters, digits, _ and -, separated by . or /)';
const SYSCTL_DIR = '/etc/sysctl.d';
/** systemd-sysctl and `sysctl --system` read only *.conf files there. */
const FILE_NAME = /^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*\.conf$/;

/** Only tab among control characters: a value is one line of a sysctl.d file. */
function valueProblem(value: string | number): string | undefined {
  if (typeof value === 'string' && /[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
    return `${JSON.stringify(value)} contains a line break or control character; a sysctl value is one line`;
  }
  return undefined;
}

function keyProblem(key: string): string | undefined {
  return KEY.test(key) ? undefined : `${JSON.stringify(key)} is not ${KEY_WHAT}`;
}

const value = s.union<string | number, string | number>(s.string(), s.number()).refine(valueProblem);

const params = s
  .object({
    /** One kernel parameter, e.g. `net.ipv4.ip_forward` (with `value`); or use `settings` for several. */
    name: s.string({ pattern: KEY, what: KEY_WHAT }).optional(),
    /** The value for `name`, as sysctl takes it: `1`, `"32768 60999"`, `"0600"` (octal: 384). Needed when state is present. */
    value: value.optional(),
    /** Several parameters at once, key → value, read and written in one go. */
    settings: s.record(value).optional(),
    /** present: set and persist; absent: remove the key's lines from the file (the live value is left as it is). */
    state: s.enum(['present', 'absent']).default('present'),
    /**
     * The file under /etc/sysctl.d/ that keeps the values across reboots: a name such as `k8s.conf`, or
     * an absolute path in /etc/sysctl.d. Only the given keys' lines are edited.
     */
    sysctlFile: s.string({ what: 'a file name ending in .conf, or an absolute path in /etc/sysctl.d' }).refine(sysctlFileProblem).default('99-drover.conf'),
    /** Also set the live kernel value when it differs (`sysctl -w`); false only persists, for the next boot. */
    reload: s.boolean().default(true),
  })
  .rule((p) => {
    if (p.name === undefined && p.settings === undefined) return 'give either name (with value) or settings';
    if (p.name !== undefined && p.settings !== undefined) return 'give either name (with value) or settings, not both';
    if (p.name !== undefined && p.state === 'present' && p.value === undefined) return `value is required to set ${p.name}`;
    if (p.settings !== undefined) {
      const keys = Object.keys(p.settings);
      if (keys.length === 0) return 'settings must name at least one key';
      for (const key of keys) {
        const problem = keyProblem(key);
        if (problem) return `settings: ${problem}`;
      }
      const seen = new Map<string, string>();
      for (const key of keys) {
        const other = seen.get(sysctlKeyPath(key));
        if (other !== undefined) return `settings: ${other} and ${key} are the same key`;
        seen.set(sysctlKeyPath(key), key);
      }
    }
    return undefined;
  });

export type SysctlParams = InputOf<typeof params>;
type Resolved = OutputOf<typeof params>;

function sysctlFileProblem(file: string): string | undefined {
  const name = file.startsWith('/') ? posix.relative(SYSCTL_DIR, posix.normalize(file)) : file;
  if (name.includes('/') || name.startsWith('..')) return `${JSON.stringify(file)} is not in ${SYSCTL_DIR}`;
  if (!FILE_NAME.test(name)) {
    return `${JSON.stringify(file)} must be a plain file name ending in .conf (systemd-sysctl ignores other names at boot)`;
  }
  return undefined;
}

/** The absolute path of the persistence file. */
export function sysctlFilePath(file: string): string {
  return file.startsWith('/') ? posix.normalize(file) : `${SYSCTL_DIR}/${file}`;
}

/** One key as asked: its spelling, its /proc/sys path, and its value (undefined when removing). */
export interface SysctlEntry {
  key: string;
  path: string;
  value?: string;
}

function wantedEntries(p: Resolved): SysctlEntry[] {
  const pairs: Array<[string, string | number | undefined]> = p.settings ? Object.entries(p.settings) : [[p.name ?? '', p.value]];
  return pairs.map(([key, raw]) => ({
    key,
    path: sysctlKeyPath(key),
    value: p.state === 'absent' || raw === undefined ? undefined : String(raw).trim(),
  }));
}

function fields(value: string): string[] {
  return value
    .trim()
    .split(/\s+/)
    .filter((token) => token !== '');
}

/**
 * A value as the kernel would print it back: fields separated by one space, each number read as the
 * kernel reads it (`0600` octal, `0x10` hexadecimal) and printed in decimal. Other fields, and numbers
 * the kernel refuses, stay as written. Two values are the same setting when these are equal.
 */
export function normaliseSysctlValue(value: string): string {
  return fields(value)
    .map((token) => {
      const reading = readKernelInteger(token);
      return reading.kind === 'integer' ? reading.value.toString() : token;
    })
    .join(' ');
}

/**
 * Refuses, before anything is sent, a value with a number the kernel would answer EINVAL to (`08`:
 * a leading 0 is octal). Not for a key whose live value shows it holds text (`kernel.domainname`), which
 * takes `08` as it is.
 */
function checkKernelReadsValue(entry: SysctlEntry, reading: SysctlReading | undefined): void {
  if (entry.value === undefined) return;
  if (reading?.kind === 'value' && !fields(reading.value).every(printedByIntegerHandler)) return;
  const tokens = fields(entry.value);
  for (const token of tokens) {
    const read = readKernelInteger(token);
    if (read.kind !== 'refused') continue;
    const where = tokens.length > 1 ? `${token}: ` : '';
    throw new ModuleError(
      `the kernel would refuse ${JSON.stringify(entry.value)} for sysctl key ${entry.key} (EINVAL): ${where}${read.why}`,
      `write ${read.instead}${tokens.length > 1 ? ` in place of ${token}` : ''}`,
    );
  }
}

/**
 * Keys that exist only while a kernel module is loaded, and that module. Used to explain a missing key
 * and to tell "load the module first" from "no such key".
 */
const KEY_PROVIDERS: Array<{ prefix: string; module: string }> = [
  { prefix: 'net/bridge/', module: 'br_netfilter' },
  { prefix: 'net/ipv4/vs/', module: 'ip_vs' },
  { prefix: 'net/netfilter/nf_conntrack', module: 'nf_conntrack' },
];

export function providerModule(path: string): string | undefined {
  return KEY_PROVIDERS.find(({ prefix }) => path.startsWith(prefix))?.module;
}

export const sysctl = defineModule({
  name: 'sysctl',
  summary: 'set kernel parameters live (only when they differ) and persist them in /etc/sysctl.d',
  params,
  async plan(p, host) {
    const entries = wantedEntries(p);
    const path = sysctlFilePath(p.sysctlFile);
    // The live values and the file in one probe: one round trip.
    const [live, file] = await readFactAndFileState(host, sysctlValues(entries.map((entry) => entry.path)), path, { content: 'always', follow: true });
    for (const entry of entries) checkKernelReadsValue(entry, live.readings.get(entry.path));
    const liveChanges: Change[] = [];
    if (p.state === 'present' && p.reload) {
      for (const entry of entries) {
        const change = await planLiveValue(entry, live, host);
        if (change) liveChanges.push(change);
      }
    }
    const filePlan = await planPersistence(entries, file, host);
    const plan = combinePlans({ changes: liveChanges }, filePlan);
    if (plan.changes.length > 0) return plan;
    return noChange(describeSettled(p, entries, file.path));
  },
});

function describeSettled(p: Resolved, entries: SysctlEntry[], file: string): string {
  if (p.state === 'absent') return `${entries.map((entry) => entry.key).join(', ')} not in ${file}`;
  const values = entries.map((entry) => `${entry.key} = ${entry.value}`).join(', ');
  return p.reload ? `${values}: live and in ${file}` : `${values}: in ${file}`;
}

/** The live part for one key: nothing, a `sysctl -w`, or an error for a key that cannot be set. */
async function planLiveValue(entry: SysctlEntry, live: SysctlValues, host: HostContext): Promise<Change | undefined> {
  const wanted = entry.value ?? '';
  const reading: SysctlReading = live.readings.get(entry.path) ?? { kind: 'missing' };
  switch (reading.kind) {
    case 'directory':
      throw new ModuleError(
        `sysctl key ${entry.key} is a group of keys (/proc/sys/${entry.path} is a directory), not a key`,
        `name one key inside it; \`sysctl -a | grep ^${entry.key.replace(/\//g, '.')}\` lists them`,
      );
    case 'unreadable':
      throw new ModuleError(
        `sysctl key ${entry.key} cannot be read back (/proc/sys/${entry.path} is write-only), so drover cannot tell whether it is set`,
        'it is a trigger rather than a setting: use a command task to write it',
      );
    case 'missing':
      return planMissingKey(entry, live, host);
    case 'value': {
      const before = normaliseSysctlValue(reading.value);
      const after = normaliseSysctlValue(wanted);
      if (before === after) return undefined;
      return {
        summary: `set ${entry.key} ${before} → ${after}`,
        diff: { kind: 'value', name: entry.key, before, after },
        commands: [writeLiveCommand(entry, live.hasSysctlTool)],
        effects: liveEffects(entry.path, after),
      };
    }
  }
}

/**
 * A key that does not exist. When a not-yet-loaded but loadable kernel module provides it, an earlier
 * task of this run may load it (a dry run cannot know), so it is planned with a guard that fails with
 * the same explanation if the key is still missing when the command runs.
 */
async function planMissingKey(entry: SysctlEntry, live: SysctlValues, host: HostContext): Promise<Change> {
  const provider = providerModule(entry.path);
  if (!provider) {
    throw new ModuleError(
      `sysctl key ${entry.key} does not exist on ${host.name} (no /proc/sys/${entry.path})`,
      'check the spelling (`sysctl -a` lists every key); if a kernel module provides it, add a modprobe task for that module before this one',
    );
  }
  const module = await host.fact(kernelModule(provider));
  const needs = `${entry.key} exists only once the ${provider} kernel module is loaded`;
  // An earlier task of this dry run would load the module: the key will exist, at a value only the
  // kernel knows (its default), so whether it must be set cannot be known before the load.
  if (module.loaded && module.predictedBy) host.predicted.dependsOn(module.predictedBy, `${entry.key}, which appears when ${provider} is loaded`);
  if ((module.loaded && !module.predictedBy) || module.builtin) {
    throw new ModuleError(
      `sysctl key ${entry.key} does not exist on ${host.name} (no /proc/sys/${entry.path}) although ${provider} is loaded`,
      'check the spelling (`sysctl -a` lists every key); in a container the key may not exist in its network namespace',
    );
  }
  if (module.loadable !== true && !module.predictedBy) {
    const why =
      module.loadable === false ? `modprobe cannot find ${provider} for kernel ${module.kernel}: ${module.modprobeOutput}` : 'modprobe is not installed';
    throw new ModuleError(
      `sysctl key ${entry.key} does not exist on ${host.name}: ${needs}, which is not loaded (${why})`,
      `add a modprobe task for ${provider} before this one, and make sure the kernel's modules are installed (ls /lib/modules/${module.kernel})`,
    );
  }
  const message = `drover: sysctl key ${entry.key} does not exist: ${needs} first; add a modprobe task for ${provider} before this one`;
  const guard = sh`if [ ! -e ${`/proc/sys/${entry.path}`} ]; then echo ${message} >&2; exit 1; fi`;
  const after = normaliseSysctlValue(entry.value ?? '');
  const write = writeLiveCommand(entry, live.hasSysctlTool);
  return {
    summary: `set ${entry.key} → ${after} (once ${provider} is loaded; not loaded yet)`,
    diff: { kind: 'value', name: entry.key, before: null, after },
    commands: [{ ...write, run: Script.join([guard, write.run]) }],
    effects: liveEffects(entry.path, after),
  };
}

/**
 * Keys the kernel sets together: writing ip_forward (or conf/all/forwarding) sets forwarding on every
 * IPv4 interface and the other key too; IPv6's conf/all/forwarding sets every interface's
 * (Documentation/networking/ip-sysctl.rst).
 */
const LINKED_KEYS: ReadonlyArray<{ keys: string[]; interfaces: string }> = [
  { keys: ['net/ipv4/ip_forward', 'net/ipv4/conf/all/forwarding'], interfaces: 'net/ipv4/conf' },
  { keys: ['net/ipv6/conf/all/forwarding'], interfaces: 'net/ipv6/conf' },
];

/** What a live write leaves, for a dry run's later tasks: the key, the keys set with it, and interfaces' copies unknown. */
export function liveEffects(path: string, value: string): Effect[] {
  const linked = LINKED_KEYS.find((group) => group.keys.includes(path));
  if (!linked) return [{ kind: 'sysctl', path, value }];
  return [
    { kind: 'unknown', domains: ['sysctl'], under: linked.interfaces, what: `the per-interface keys that ${path.replace(/\//g, '.')} sets` },
    ...linked.keys.map((key): Effect => ({ kind: 'sysctl', path: key, value })),
  ];
}

function writeLiveCommand(entry: SysctlEntry, hasSysctlTool: boolean): Command & { run: Script } {
  const wanted = entry.value ?? '';
  if (hasSysctlTool) {
    return { run: sh`sysctl -w ${`${entry.key}=${wanted}`}`, description: `sysctl -w ${entry.key}=${wanted}` };
  }
  // Without procps, /proc/sys is the same interface sysctl itself writes to.
  return { run: sh`printf '%s\\n' ${wanted} > ${`/proc/sys/${entry.path}`}`, description: `write ${wanted} to /proc/sys/${entry.path}` };
}

async function planPersistence(entries: SysctlEntry[], file: FileState, host: HostContext): Promise<Plan> {
  const before = file.kind === 'file' ? decodeHostText(file.content ?? Buffer.alloc(0)) : null;
  const after = editSysctlConf(before, entries);
  if (after === null || after === before) return { changes: [] };
  return planFileContent({ path: file.path, content: encodeHostText(after), follow: true }, host, file);
}

/** A new file starts with this line, so whoever finds it knows where it came from. */
export const SYSCTL_FILE_HEADER = '# Kernel parameters managed by drover (sysctl module).\n';

/** `[-]key = value`, the sysctl.d(5) syntax; `-` means "ignore a failure to set it". */
const ASSIGNMENT = /^(\s*-?)([^\s=#;][^=]*?)\s*=\s*(.*?)\s*$/;

/**
 * Pure: the file's text after setting (value given) or removing (value undefined) each entry.
 * Only lines of the given keys change: the first line of a key is kept as it is when its value is
 * already right, or rewritten in place; later lines of the same key (which would win at boot) are
 * removed; a missing key is appended. Returns the text unchanged when nothing needs editing, and null
 * for a file that does not exist and need not.
 */
export function editSysctlConf(before: string | null, entries: SysctlEntry[]): string | null {
  const text = before ?? '';
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  let edited = false;
  for (const entry of entries) {
    const matches = lines
      .map((line, index) => ({ index, match: ASSIGNMENT.exec(line) }))
      .filter(({ match }) => match !== null && sysctlKeyPath(match[2]!.trim().replace(/^-/, '')) === entry.path);
    if (entry.value === undefined) {
      for (const { index } of matches.reverse()) lines.splice(index, 1);
      edited ||= matches.length > 0;
      continue;
    }
    const [first, ...later] = matches;
    for (const { index } of later.reverse()) lines.splice(index, 1);
    edited ||= later.length > 0;
    if (!first) {
      lines.push(`${entry.key} = ${entry.value}`);
      edited = true;
    } else if (normaliseSysctlValue(first.match![3]!) !== normaliseSysctlValue(entry.value)) {
      lines[first.index] = `${first.match![1]!.trim()}${first.match![2]} = ${entry.value}`;
      edited = true;
    }
  }
  if (!edited) return before;
  const body = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  return before === null ? SYSCTL_FILE_HEADER + body : body;
}
