/**
 * The package's entry point, what `import … from 'drover'` gives a playbook in another repository: the
 * playbook API (runner/playbook.ts) and the types a playbook names. The CLI (`npx drover`) loads this same
 * file through the same package, so a playbook and the runner share one copy of every module.
 *
 * @example
 *   import { definePlaybook, s } from 'drover';
 *   const book = definePlaybook({ name: 'site', vars: s.object({ motd: s.string().default('hello') }) });
 *   export default book.playbook([book.play({ name: 'motd', hosts: 'all', tasks: async (t, host) => {
 *     await t.copy('motd', { dest: '/etc/motd', content: `${host.vars.motd}\n` });
 *   } })]);
 */
export { definePlaybook, s, secret, Secret } from './playbook.ts';
export type {
  BecomeOption,
  DeclaredTemplate,
  HostInfo,
  InventoryHostView,
  Play,
  PlayContext,
  PlayDefinition,
  Playbook,
  TaskOptions,
  Tasks,
} from './playbook.ts';
export type { TaskResult } from './result.ts';
export { SchemaError, type InputOf, type OutputOf } from './schema.ts';
// Facts a play reads with `host.fact(…)` (modules/facts/README.md says what each holds and which are stable).
export type { Fact } from './facts.ts';
export { networkFacts, type NetworkFacts, type NetworkInterface, type DefaultRoute } from '../modules/facts/network.ts';
export { cpuFacts, type CpuFacts } from '../modules/facts/cpus.ts';
export { memoryFacts, type MemoryFacts } from '../modules/facts/memory.ts';
export { swapFacts, type SwapFacts } from '../modules/facts/swap.ts';
export { diskFacts, mountOf, type DiskFacts, type BlockDevice, type Mount } from '../modules/facts/disks.ts';
export { distributionFacts, type DistributionFacts } from '../modules/facts/distribution.ts';
export { machineIdFacts, type MachineIdFacts } from '../modules/facts/machine-id.ts';
