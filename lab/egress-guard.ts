/**
 * Keeps lab traffic on the lab. Hosts have a default route via the bridge (Kubernetes tooling takes the
 * node address from it), and the controller does no NAT, so with IP forwarding off (the usual case) a
 * host's packet to anywhere else simply dies on the controller. A controller that forwards (Docker or
 * libvirt turn it on) would route those packets out un-NATed; for that case `up` adds one FORWARD rule
 * dropping what comes from the bridge and leaves by another interface, and `down` removes it.
 */
import { readFileSync } from 'node:fs';
import { BRIDGE } from './addressing.ts';
import { run } from './exec.ts';

const RULE = ['FORWARD', '-i', BRIDGE, '!', '-o', BRIDGE, '-m', 'comment', '--comment', 'drover-lab: no egress', '-j', 'DROP'];

export function controllerForwards(): boolean {
  return readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1';
}

async function ruleExists(): Promise<boolean> {
  return (await run(['iptables', '-C', ...RULE], { okCodes: [0, 1, 2] })).code === 0;
}

export async function ensureEgressGuard(log: (line: string) => void): Promise<void> {
  if (!controllerForwards() || (await ruleExists())) return;
  await run(['iptables', '-I', ...RULE], {
    hint: 'the controller forwards IP traffic and the lab could not add its egress DROP rule; turn forwarding off or install iptables',
  });
  log(`the controller forwards IP traffic: added an iptables FORWARD rule dropping lab traffic leaving ${BRIDGE}`);
}

/** Removes the rule if present; returns whether it was. */
export async function removeEgressGuard(): Promise<boolean> {
  let removed = false;
  try {
    while (await ruleExists()) {
      await run(['iptables', '-D', ...RULE]);
      removed = true;
    }
  } catch {
    // No iptables on the controller: then `up` never added the rule either.
  }
  return removed;
}
