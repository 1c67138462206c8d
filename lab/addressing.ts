/**
 * Names and addresses of lab hosts: a pure function of the host's number (and of the lab instance), so
 * `up`, `down`, `status` and the tests all agree without reading each other's state.
 *
 * The default lab owns 10.231.0.0/16: the controller's bridge is 10.231.0.1, host N is 10.231.0.0 + 10 + N
 * (lab-1 = 10.231.0.11, lab-246 = 10.231.1.0 …). The /16 leaves room for thousands of hosts, and
 * 10.231/16 is not used by Docker, Kubernetes defaults (10.96/12 services, 10.244/16 pods) or libvirt.
 * Lab instance K (DROVER_LAB_INSTANCE, see paths.ts) owns 10.(231+K).0.0/16 the same way.
 */
import { LAB_INSTANCE, labPrefix } from './paths.ts';

export const SUBNET_PREFIX_LENGTH = 16;
const FIRST_OFFSET = 10;

/** The network identity of one lab instance. */
export interface LabNetwork {
  instance: number;
  /** The controller's bridge. */
  bridge: string;
  /** The bridge's address: every host's default gateway. */
  gateway: string;
  /** First address of the /16. */
  base: number;
  prefix: string;
}

export function labNetwork(instance: number): LabNetwork {
  const base = (10 << 24) | ((231 + instance) << 16);
  const prefix = labPrefix(instance);
  return { instance, bridge: `${prefix}br0`, gateway: ipv4(base + 1), base, prefix };
}

/** This process's lab (DROVER_LAB_INSTANCE). */
export const LAB_NETWORK = labNetwork(LAB_INSTANCE);
export const BRIDGE = LAB_NETWORK.bridge;
export const GATEWAY = LAB_NETWORK.gateway;
/** Offsets stop short of 10.231.255.255 (broadcast). */
export const MAX_HOSTS = 0xffff - FIRST_OFFSET - 1;

/** Everything that identifies lab host number `index` (1-based). */
export interface HostSlot {
  index: number;
  name: string;
  /**
   * The name systemd-nspawn registers the host under, unique on the machine: the host name in the
   * default lab, prefixed by the instance in the others.
   */
  machine: string;
  address: string;
  /** Network namespace, /run/netns/<netns>. */
  netns: string;
  /** Controller side of the veth pair, attached to the bridge. Interface names are at most 15 bytes. */
  vethOutside: string;
  /** Temporary name of the inside end before it is moved into the namespace and renamed eth0. */
  vethInside: string;
}

export function hostSlot(index: number, network: LabNetwork = LAB_NETWORK): HostSlot {
  if (!Number.isInteger(index) || index < 1 || index > MAX_HOSTS) {
    throw new RangeError(`lab host number must be an integer from 1 to ${MAX_HOSTS}, got ${index}`);
  }
  const name = `lab-${index}`;
  return {
    index,
    name,
    machine: machineName(name, network),
    address: ipv4(network.base + FIRST_OFFSET + index),
    netns: `${network.prefix}${name}`,
    vethOutside: `${network.prefix}h${index}`,
    vethInside: `${network.prefix}c${index}`,
  };
}

/** Hosts lab-1 … lab-count. */
export function hostSlots(count: number, network: LabNetwork = LAB_NETWORK): HostSlot[] {
  return Array.from({ length: count }, (_, i) => hostSlot(i + 1, network));
}

/** The nspawn machine name of a host name ("lab-3", or "drover2-lab-3" in lab instance 2). */
export function machineName(hostName: string, network: LabNetwork = LAB_NETWORK): string {
  return network.instance === 0 ? hostName : `${network.prefix}${hostName}`;
}

/** The host name of an nspawn machine name of this lab, or undefined for another lab's machine. */
export function hostNameOfMachine(machine: string, network: LabNetwork = LAB_NETWORK): string | undefined {
  if (network.instance === 0) return indexOfName(machine) === undefined ? undefined : machine;
  return machine.startsWith(network.prefix) ? machine.slice(network.prefix.length) : undefined;
}

/** The host number in a lab host name ("lab-12" → 12), or undefined for any other name. */
export function indexOfName(name: string): number | undefined {
  const match = /^lab-([1-9][0-9]*)$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

function ipv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}
