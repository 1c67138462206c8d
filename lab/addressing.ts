/**
 * Names and addresses of lab hosts: a pure function of the host's number, so `up`, `down`, `status` and
 * the tests all agree without reading each other's state.
 *
 * The lab owns 10.231.0.0/16: the controller's bridge is 10.231.0.1, host N is 10.231.0.0 + 10 + N
 * (lab-1 = 10.231.0.11, lab-246 = 10.231.1.0 …). The /16 leaves room for thousands of hosts, and
 * 10.231/16 is not used by Docker, Kubernetes defaults (10.96/12 services, 10.244/16 pods) or libvirt.
 */
import { LAB_PREFIX } from './paths.ts';

export const BRIDGE = `${LAB_PREFIX}br0`;
export const SUBNET_PREFIX_LENGTH = 16;
export const GATEWAY = '10.231.0.1';
const BASE = (10 << 24) | (231 << 16);
const FIRST_OFFSET = 10;
/** Offsets stop short of 10.231.255.255 (broadcast). */
export const MAX_HOSTS = 0xffff - FIRST_OFFSET - 1;

/** Everything that identifies lab host number `index` (1-based). */
export interface HostSlot {
  index: number;
  name: string;
  address: string;
  /** Network namespace, /run/netns/<netns>. */
  netns: string;
  /** Controller side of the veth pair, attached to the bridge. Interface names are at most 15 bytes. */
  vethOutside: string;
  /** Temporary name of the inside end before it is moved into the namespace and renamed eth0. */
  vethInside: string;
}

export function hostSlot(index: number): HostSlot {
  if (!Number.isInteger(index) || index < 1 || index > MAX_HOSTS) {
    throw new RangeError(`lab host number must be an integer from 1 to ${MAX_HOSTS}, got ${index}`);
  }
  const name = `lab-${index}`;
  return {
    index,
    name,
    address: ipv4(BASE + FIRST_OFFSET + index),
    netns: `${LAB_PREFIX}${name}`,
    vethOutside: `${LAB_PREFIX}h${index}`,
    vethInside: `${LAB_PREFIX}c${index}`,
  };
}

/** Hosts lab-1 … lab-count. */
export function hostSlots(count: number): HostSlot[] {
  return Array.from({ length: count }, (_, i) => hostSlot(i + 1));
}

/** The host number in a lab host name ("lab-12" → 12), or undefined for any other name. */
export function indexOfName(name: string): number | undefined {
  const match = /^lab-([1-9][0-9]*)$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

function ipv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}
