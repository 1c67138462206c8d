/**
 * The lab's network on the controller: one bridge holding the gateway address, and per host a network
 * namespace joined to the bridge by a veth pair. The host's side is configured here, before boot
 * (eth0, address, default route), so a host needs no network manager and comes up already addressed.
 *
 * The controller does not forward for the lab (no NAT, no routes out): the default route inside a host
 * exists because Kubernetes tooling picks its node address from it, not to reach anything.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { BRIDGE, GATEWAY, SUBNET_PREFIX_LENGTH, type HostSlot } from './addressing.ts';
import { run } from './exec.ts';
import { LAB_PREFIX } from './paths.ts';

const IP_HINT = 'run `npm run lab -- down` to clear a half-made lab, then `up` again';

export async function ensureBridge(): Promise<void> {
  if (!(await linkExists(BRIDGE))) {
    await run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge'], { hint: IP_HINT });
  }
  const addresses = await run(['ip', '-o', '-4', 'addr', 'show', 'dev', BRIDGE]);
  if (!addresses.stdout.includes(` ${GATEWAY}/${SUBNET_PREFIX_LENGTH} `)) {
    await run(['ip', 'addr', 'add', `${GATEWAY}/${SUBNET_PREFIX_LENGTH}`, 'dev', BRIDGE], { hint: IP_HINT });
  }
  await run(['ip', 'link', 'set', BRIDGE, 'up']);
}

/** Creates the host's namespace and veth pair from scratch (the caller removed any leftovers first). */
export async function createHostNetwork(slot: HostSlot): Promise<void> {
  const hint = `network set-up of ${slot.name} failed; ${IP_HINT}`;
  await run(['ip', 'netns', 'add', slot.netns], { hint });
  await run(['ip', 'link', 'add', slot.vethOutside, 'type', 'veth', 'peer', 'name', slot.vethInside, 'netns', slot.netns], { hint });
  await run(['ip', 'link', 'set', slot.vethOutside, 'master', BRIDGE, 'up'], { hint });
  const inside = ['ip', '-n', slot.netns];
  await run([...inside, 'link', 'set', 'lo', 'up'], { hint });
  await run([...inside, 'link', 'set', slot.vethInside, 'name', 'eth0'], { hint });
  await run([...inside, 'addr', 'add', `${slot.address}/${SUBNET_PREFIX_LENGTH}`, 'dev', 'eth0'], { hint });
  await run([...inside, 'link', 'set', 'eth0', 'up'], { hint });
  await run([...inside, 'route', 'add', 'default', 'via', GATEWAY], { hint });
}

/** Removes one host's veth pair and namespace. */
export async function removeHostNetwork(slot: HostSlot): Promise<void> {
  // Deleting either end of a veth pair deletes both, and the kernel does it asynchronously once the
  // namespace goes: "Cannot find device" (exit 1) here only means it is gone already.
  await run(['ip', 'link', 'delete', slot.vethOutside], { okCodes: [0, 1] });
  if (existsSync(`/run/netns/${slot.netns}`)) await run(['ip', 'netns', 'delete', slot.netns]);
}

/** Every lab namespace on the machine, whatever state recorded it (or none did). */
export async function labNamespaces(): Promise<string[]> {
  if (!existsSync('/run/netns')) return [];
  return (await readdir('/run/netns')).filter((name) => name.startsWith(LAB_PREFIX));
}

/** Every lab link on the controller (bridge and veth ends). */
export async function labLinks(): Promise<string[]> {
  const { stdout } = await run(['ip', '-o', 'link', 'show']);
  return stdout
    .split('\n')
    .map((line) => /^\d+: ([^:@\s]+)/.exec(line)?.[1])
    .filter((name): name is string => name?.startsWith(LAB_PREFIX) === true);
}

/** Deletes everything network the lab made: namespaces first, then veth ends, the bridge last. */
export async function removeAllLabNetwork(): Promise<string[]> {
  const removed: string[] = [];
  for (const netns of await labNamespaces()) {
    await run(['ip', 'netns', 'delete', netns]);
    removed.push(`netns ${netns}`);
  }
  const links = await labLinks();
  for (const link of links.filter((name) => name !== BRIDGE)) {
    await run(['ip', 'link', 'delete', link], { okCodes: [0, 1] }); // a veth may vanish with its peer
    removed.push(`link ${link}`);
  }
  if (links.includes(BRIDGE)) {
    await run(['ip', 'link', 'delete', BRIDGE]);
    removed.push(`bridge ${BRIDGE}`);
  }
  return removed;
}

async function linkExists(name: string): Promise<boolean> {
  const result = await run(['ip', 'link', 'show', 'dev', name], { okCodes: [0, 1] });
  return result.code === 0;
}
