/**
 * The facts a play reads with `host.fact(…)`, as the package exports them (`import { networkFacts } from
 * 'drover/facts'`). A separate entry, not part of 'drover', because facts belong to the modules layer and the
 * core ('drover', runner/index.ts) imports no module (README, "Layers that point one way").
 * modules/facts/README.md says what each holds and which are stable.
 */
export { networkFacts, type NetworkFacts, type NetworkInterface, type DefaultRoute } from './network.ts';
export { cpuFacts, type CpuFacts } from './cpus.ts';
export { memoryFacts, type MemoryFacts } from './memory.ts';
export { swapFacts, type SwapFacts } from './swap.ts';
export { diskFacts, mountOf, type DiskFacts, type BlockDevice, type Mount } from './disks.ts';
export { distributionFacts, type DistributionFacts } from './distribution.ts';
export { machineIdFacts, type MachineIdFacts } from './machine-id.ts';
export { kernelModule, type KernelModuleState } from './kernel-module.ts';
