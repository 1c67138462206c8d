/**
 * The distribution and kernel: every /etc/os-release field (falling back to /usr/lib/os-release, as
 * os-release(5) says), `uname -r` and `uname -m`. osFacts (os.ts) derives the package manager and family
 * from the same file; this fact keeps the fields themselves for playbooks that branch on a version.
 */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';
import { parseOsRelease } from './os.ts';

export interface DistributionFacts {
  /** os-release ID (`debian`, `rhel`, `rocky`…); '' when absent. */
  id: string;
  /** os-release ID_LIKE, split on blanks. */
  idLike: string[];
  /** VERSION_ID (`12`, `9.4`); '' when absent (Debian testing). */
  versionId: string;
  /** PRETTY_NAME, else NAME. */
  prettyName: string;
  /** Every field as written (quotes removed). */
  osRelease: Record<string, string>;
  /** `uname -r`. */
  kernel: string;
  /** `uname -m` (`x86_64`, `aarch64`). */
  machine: string;
}

const SCRIPT = sh`release=/etc/os-release; [ -r "$release" ] || release=/usr/lib/os-release
printf 'release=%s\\n' "$( (cat "$release" 2>/dev/null || true) | base64 -w0)"
printf 'kernel=%s\\n' "$(uname -r)"
printf 'machine=%s\\n' "$(uname -m)"
`;

/** Parses the probe's output; pure. */
export function parseDistributionFacts(stdout: string): DistributionFacts {
  const fields = parseFieldLines(stdout);
  const release = field(fields, 'release');
  const kernel = field(fields, 'kernel');
  if (release === undefined || !kernel) throw new FactError('distribution', `unexpected probe output: ${JSON.stringify(stdout.slice(0, 200))}`);
  const values = parseOsRelease(fromBase64(release));
  return {
    id: values.get('ID') ?? '',
    idLike: (values.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean),
    versionId: values.get('VERSION_ID') ?? '',
    prettyName: values.get('PRETTY_NAME') ?? values.get('NAME') ?? '',
    osRelease: Object.fromEntries(values),
    kernel,
    machine: field(fields, 'machine') ?? '',
  };
}

/** Stable: a play does not change the distribution; a kernel upgrade shows only after a reboot. */
export const distributionFacts: Fact<DistributionFacts> = {
  key: 'distribution',
  script: SCRIPT,
  stable: true,
  parse: (output) => parseDistributionFacts(output.stdout),
};
