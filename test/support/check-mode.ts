/**
 * The promise behind --check: a dry run predicts exactly what the real run then does. One sample round:
 * the same task in check mode, then for real, on the same host state.
 */
import { expect } from 'chai';
import type { Module } from '../../runner/module.ts';
import type { TaskResult } from '../../runner/result.ts';
import type { InputOf } from '../../runner/schema.ts';
import { applyModule, type LabTarget } from './targets.ts';

/**
 * Runs `params` in check mode, then for real. Fails (naming `label`) unless the real run ended ok or
 * changed and the prediction had the same `changed` and the same diffs. Returns both results for the
 * checks a module adds (summaries, a read-back).
 */
export async function predictThenApply<M extends Module>(target: LabTarget, module: M, params: InputOf<M['params']>, label: string): Promise<{ predicted: TaskResult; real: TaskResult }> {
  const predicted = await applyModule(target, module, params, { check: true });
  const real = await applyModule(target, module, params);
  expect(real.status, `${label}: ${real.msg}`).to.be.oneOf(['ok', 'changed']);
  expect(predicted.changed, label).to.equal(real.changed);
  expect(predicted.diffs, label).to.deep.equal(real.diffs);
  return { predicted, real };
}

/**
 * For modules whose real run may fail as predicted (package managers: a version no repository offers).
 * Reads the host with `readHost` before and after check mode, which must change nothing (`changedWhat`
 * says what, in the failure). Then runs for real and fails (naming the parameters) unless the prediction
 * had the same status, the same message when both failed, the same `changed` and the same diffs.
 */
export async function predictThenApplyAnyOutcome<M extends Module>(target: LabTarget, module: M, params: InputOf<M['params']>, readHost: () => Promise<unknown>, changedWhat: string): Promise<{ predicted: TaskResult; real: TaskResult }> {
  const before = await readHost();
  const predicted = await applyModule(target, module, params, { check: true });
  expect(await readHost(), `check mode changed ${changedWhat}`).to.deep.equal(before);
  const real = await applyModule(target, module, params);
  const label = JSON.stringify(params);
  expect(real.status, `${label}: ${real.msg}`).to.equal(predicted.status);
  if (real.status === 'failed') expect(real.msg, label).to.equal(predicted.msg);
  expect(real.changed, label).to.equal(predicted.changed);
  expect(real.diffs, label).to.deep.equal(predicted.diffs);
  return { predicted, real };
}
