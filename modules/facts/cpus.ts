/** The host's CPUs: how many this host may use (`nproc`, which honours cpusets) and the model name. */
import { sh } from '../../runner/command.ts';
import { FactError, type Fact } from '../../runner/facts.ts';
import { field, fromBase64, parseFieldLines } from '../lib/probe-output.ts';

export interface CpuFacts {
  /** Processing units available (`nproc`): what kubeadm's preflight counts. */
  count: number;
  /** /proc/cpuinfo `model name` (x86), else `Model` or `Hardware` (ARM); '' when none is given. */
  model: string;
}

const SCRIPT = sh`printf 'count=%s\\n' "$(nproc)"
printf 'model=%s\\n' "$(awk -F': *' '/^(model name|Model|Hardware)[[:space:]]*:/ { print $2; exit }' /proc/cpuinfo | base64 -w0)"
`;

/** Parses the probe's output; pure. */
export function parseCpuFacts(stdout: string): CpuFacts {
  const fields = parseFieldLines(stdout);
  const count = Number(field(fields, 'count'));
  if (!Number.isInteger(count) || count < 1) throw new FactError('cpus', `unexpected probe output: ${JSON.stringify(stdout.slice(0, 200))}`);
  return { count, model: fromBase64(field(fields, 'model') ?? '').trim() };
}

/** Stable: the CPUs do not change while a play runs. */
export const cpuFacts: Fact<CpuFacts> = {
  key: 'cpus',
  script: SCRIPT,
  stable: true,
  parse: (output) => parseCpuFacts(output.stdout),
};
