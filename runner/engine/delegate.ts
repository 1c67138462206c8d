/**
 * `delegateTo`: the inventory host a task runs on for another (Ansible's delegate_to), or the controller
 * (`local`, Ansible's local_action). The delegate brings its own connection and become settings.
 */
import type { HostTarget } from './host-session.ts';

/** The controller, as `delegateTo` names it; the inventory's (or the implicit) `localhost`. */
export const CONTROLLER = 'local';

/** The delegate's target, or a message saying what is wrong with the name. */
export function delegateTarget(name: string, inventoryHosts: (pattern: string) => HostTarget[]): HostTarget | string {
  const pattern = name === CONTROLLER ? 'localhost' : name;
  // A pattern (a group, a wildcard) would pick several hosts: delegation is to one host, named.
  if (!/^[\w.:-]+$/.test(pattern)) return `delegateTo "${name}" is not a host name: give one inventory host, or 'local' for the controller`;
  let found: HostTarget[];
  try {
    found = inventoryHosts(pattern);
  } catch {
    found = [];
  }
  const target = found.length === 1 && found[0]!.name === pattern ? found[0] : undefined;
  return target ?? `delegateTo "${name}" is not a host of the inventory: give one inventory host by name, or 'local' for the controller`;
}
