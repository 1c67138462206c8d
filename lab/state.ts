/**
 * `.lab/hosts.json`: the machine-readable record of the lab for tests and tools. It is a report, not the
 * source of truth — `down` and `status` look at the machine itself — so a missing or stale file is harmless.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface LabHostRecord {
  name: string;
  address: string;
  /** PID of the host's systemd-nspawn process on the controller. */
  pid: number;
  netns: string;
  /** The host's merged root on the controller. */
  root: string;
  /** Its console log. */
  log: string;
}

export interface LabState {
  /** Cache key of the root filesystem the hosts run on. */
  rootfsKey: string;
  aptRepo?: string;
  rpmRepo?: string;
  k8sRepo?: string;
  inventory: string;
  knownHosts: string;
  key: string;
  hosts: LabHostRecord[];
}

export async function writeState(file: string, state: LabState): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, JSON.stringify(state, null, 2) + '\n');
  await rename(temporary, file);
}

/** The recorded state, or undefined when there is none or it is unreadable (it is only a report). */
export async function readState(file: string): Promise<LabState | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    return parseState(JSON.parse(await readFile(file, 'utf8')));
  } catch {
    return undefined;
  }
}

export function parseState(value: unknown): LabState {
  const object = record(value, 'hosts.json');
  const hosts = object.hosts;
  if (!Array.isArray(hosts)) throw new Error('hosts.json: "hosts" is not a list');
  return {
    rootfsKey: text(object, 'rootfsKey'),
    ...(typeof object.aptRepo === 'string' ? { aptRepo: object.aptRepo } : {}),
    ...(typeof object.rpmRepo === 'string' ? { rpmRepo: object.rpmRepo } : {}),
    ...(typeof object.k8sRepo === 'string' ? { k8sRepo: object.k8sRepo } : {}),
    inventory: text(object, 'inventory'),
    knownHosts: text(object, 'knownHosts'),
    key: text(object, 'key'),
    hosts: hosts.map((item: unknown, index) => {
      const host = record(item, `hosts.json host #${index + 1}`);
      const pid = host.pid;
      if (typeof pid !== 'number') throw new Error(`hosts.json host #${index + 1}: "pid" is not a number`);
      return { name: text(host, 'name'), address: text(host, 'address'), pid, netns: text(host, 'netns'), root: text(host, 'root'), log: text(host, 'log') };
    }),
  };
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where} is not an object`);
  return value as Record<string, unknown>;
}

function text(object: Record<string, unknown>, key: string): string {
  const value = object[key];
  if (typeof value !== 'string') throw new Error(`hosts.json: "${key}" is not a string`);
  return value;
}
