/**
 * Live kernel parameters, read from /proc/sys for a set of keys in one round trip, plus whether the
 * `sysctl` program is installed (minimal images may lack procps; /proc/sys works without it).
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';

/** What /proc/sys holds for one key. */
export type SysctlReading =
  | { kind: 'value'; value: string }
  /** No such file: the key does not exist (or its kernel module is not loaded). */
  | { kind: 'missing' }
  /** A directory: a group of keys (`net.ipv4`), not a key. */
  | { kind: 'directory' }
  /** The file exists but cannot be read (write-only triggers such as `vm.drop_caches`). */
  | { kind: 'unreadable' };

export interface SysctlValues {
  /** Keyed by the path under /proc/sys (`net/ipv4/ip_forward`), see `sysctlKeyPath`. */
  readings: Map<string, SysctlReading>;
  /** Whether `sysctl` (procps) is installed. */
  hasSysctlTool: boolean;
}

/**
 * The path under /proc/sys for a key, with sysctl.d(5)'s rule: if the first separator is a dot, dots and
 * slashes swap (`net.ipv4.conf.eth0/100.rp_filter` → `net/ipv4/conf/eth0.100/rp_filter`, a VLAN
 * interface); if it is a slash, the key is already a path. Two spellings of one key map to one path.
 */
export function sysctlKeyPath(key: string): string {
  const first = key.search(/[./]/);
  if (first >= 0 && key[first] === '/') return key;
  return key.replace(/[./]/g, (separator) => (separator === '.' ? '/' : '.'));
}

/**
 * The probe; exported so tests can check what is sent. Paths must already be validated key paths.
 * stderr goes to /dev/null before stdin is opened, so an unreadable key's error is silenced without a
 * `{ …; }` group around base64 (a process of its own in dash, one per key on every host: issue 13).
 */
export function sysctlValuesScript(paths: string[]): ReturnType<typeof sh> {
  return sh`if command -v sysctl >/dev/null 2>&1; then echo tool=yes; else echo tool=no; fi
for p in ${paths}; do
  f="/proc/sys/$p"
  if [ -d "$f" ]; then echo "directory=$p"
  elif [ ! -e "$f" ]; then echo "missing=$p"
  elif v=$(base64 -w0 2>/dev/null < "$f"); then echo "value=$p $v"
  else echo "unreadable=$p"; fi
done
`;
}

/** Parses the probe's output; pure, tested from captured output. */
export function parseSysctlValues(stdout: string): SysctlValues {
  const fields = parseFieldLines(stdout);
  const tool = field(fields, 'tool');
  if (tool !== 'yes' && tool !== 'no') throw new FactError('sysctl', `unexpected probe output: ${JSON.stringify(stdout.slice(0, 300))}`);
  const readings = new Map<string, SysctlReading>();
  for (const path of fields.get('missing') ?? []) readings.set(path, { kind: 'missing' });
  for (const path of fields.get('directory') ?? []) readings.set(path, { kind: 'directory' });
  for (const path of fields.get('unreadable') ?? []) readings.set(path, { kind: 'unreadable' });
  for (const line of fields.get('value') ?? []) {
    const space = line.indexOf(' ');
    if (space <= 0) throw new FactError('sysctl', `unexpected value line: ${JSON.stringify(line)}`);
    readings.set(line.slice(0, space), { kind: 'value', value: fromBase64(line.slice(space + 1)) });
  }
  return { readings, hasSysctlTool: tool === 'yes' };
}

/** A fact for a set of keys (given as /proc/sys paths); not stable, so it is re-read after any change. */
export function sysctlValues(paths: string[]): Fact<SysctlValues> {
  const sorted = [...new Set(paths)].sort();
  return {
    key: `sysctl:${sorted.join(',')}`,
    script: sysctlValuesScript(sorted),
    parse: (output) => {
      if (output.exitCode !== 0) throw new FactError('sysctl', `the probe failed (exit ${output.exitCode}): ${output.stderr.trim()}`);
      return parseSysctlValues(output.stdout);
    },
    predict: (values, predicted) => {
      let readings: Map<string, SysctlReading> | undefined;
      for (const path of sorted) {
        const found = predicted.sysctl(path);
        if (!found) continue;
        readings ??= new Map(values.readings);
        readings.set(path, { kind: 'value', value: found.known });
      }
      return readings ? { ...values, readings } : values;
    },
  };
}
