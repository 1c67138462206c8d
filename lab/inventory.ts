/**
 * The lab's inventory, in Ansible's YAML format so the same file drives drover and, for benchmarks,
 * Ansible. Groups match the cluster playbook: k8s → control_plane (the first host) and workers (the rest).
 */
import { stringify } from 'yaml';
import { LAB_K8S_MIRROR } from './k8s-repo.ts';

export interface InventoryHost {
  name: string;
  address: string;
}

export interface InventoryOptions {
  keyFile: string;
  knownHostsFile: string;
}

export function renderInventory(hosts: readonly InventoryHost[], options: InventoryOptions): string {
  const entry = (host: InventoryHost) =>
    [host.name, { ansible_host: host.address, ansible_user: 'root', ansible_ssh_private_key_file: options.keyFile }] as const;
  const [first, ...rest] = hosts;
  const document = {
    all: {
      vars: {
        drover_known_hosts_file: options.knownHostsFile,
        // Ansible gets the same strict host-key checking drover does.
        ansible_ssh_common_args: `-o UserKnownHostsFile=${options.knownHostsFile} -o StrictHostKeyChecking=yes`,
        ansible_python_interpreter: '/usr/bin/python3',
      },
      children: {
        k8s: {
          // The lab's hosts have no internet: the cluster playbook's packages come from the lab's own
          // Kubernetes (stand-in) repository, as an air-gapped site sets its mirror.
          vars: { kubernetes_mirror: LAB_K8S_MIRROR },
          children: {
            control_plane: { hosts: Object.fromEntries(first ? [entry(first)] : []) },
            workers: { hosts: Object.fromEntries(rest.map(entry)) },
          },
        },
      },
    },
  };
  return `# Written by \`npm run lab -- up\`; rewritten on every up. Do not edit.\n${stringify(document)}`;
}
