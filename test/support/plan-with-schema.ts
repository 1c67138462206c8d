/**
 * Planner table tests: parse the parameters through the module's own schema, as the runner does, then
 * plan against a recorded host. The schema's defaults and cross-field rules apply, so a test cannot hand
 * the planner input that no playbook could produce.
 */
import type { HostContext, Module, Plan, ValueOf } from '../../runner/module.ts';
import type { InputOf } from '../../runner/schema.ts';

/** `module`'s plan for `input` (parsed, defaults applied) on `host`, usually a RecordedHost. */
export async function planOn<M extends Module>(module: M, input: InputOf<M['params']>, host: HostContext): Promise<Plan<ValueOf<M>>> {
  return module.plan(module.params.parse(input, ''), host) as Promise<Plan<ValueOf<M>>>;
}
