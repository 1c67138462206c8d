/**
 * /etc/machine-id. Clones of one image share it unless it was reset, and kubeadm/systemd-networkd
 * derive identities from it (DHCP client ids, node identity): a preflight compares it across hosts.
 */
import { sh } from '../../runner/command.ts';
import type { Fact } from '../../runner/facts.ts';
import { field, parseFieldLines } from '../lib/probe-output.ts';

export interface MachineIdFacts {
  /** 32 lower-case hex digits; '' when the file is absent, empty or `uninitialized` (first boot pending). */
  machineId: string;
}

const SCRIPT = sh`printf 'id=%s\\n' "$(head -c 64 /etc/machine-id 2>/dev/null | tr -cd '0-9a-fA-F' || true)"`;

/** Parses the probe's output; pure. */
export function parseMachineId(stdout: string): MachineIdFacts {
  const id = (field(parseFieldLines(stdout), 'id') ?? '').toLowerCase();
  return { machineId: /^[0-9a-f]{32}$/.test(id) ? id : '' };
}

/** Stable: set at first boot, not by a play. */
export const machineIdFacts: Fact<MachineIdFacts> = {
  key: 'machine-id',
  script: SCRIPT,
  stable: true,
  parse: (output) => parseMachineId(output.stdout),
};
