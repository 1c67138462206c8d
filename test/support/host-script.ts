/**
 * Set-up, clean-up and read-back scripts on a lab host that must succeed: a failure there is a broken
 * test environment, so the test stops at once with the script and its stderr.
 */
import { expect } from 'chai';
import { onHost, type LabTarget } from './targets.ts';

/** Runs `script` on the target with the OpenSSH client, fails the test unless it exits 0, returns its stdout. */
export async function runOnHost(target: LabTarget, script: string, stdin?: string): Promise<string> {
  const output = await onHost(target, script, stdin);
  expect(output.exitCode, `${script}\n${output.stderr}`).to.equal(0);
  return output.stdout;
}
