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
export type { Fact } from './facts.ts';
// The facts a play reads with `host.fact(…)` are modules: `import { networkFacts } from 'drover/facts'`.
