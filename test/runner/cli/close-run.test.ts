/**
 * An error that escapes the engine while a run is open (a bug, or a check that should have come before the
 * run) fails that run: the report says why before its last line, the audit log's run-end says exit 2, and
 * the status is 2. Before, the run-end said 0 and the terminal `exit 0: ok`, and only then did the error
 * reach the top as an "internal error" with a stack trace (exit 1).
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseCommonOptions } from '../../../runner/cli/options.ts';
import { closeRun, startRun } from '../../../runner/cli/run-context.ts';
import { ScriptedConnections, scriptedTarget } from '../../support/scripted-connection.ts';

describe('closeRun: an error escaping the engine fails the open run', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-close-run-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function closed(work: () => Promise<void>, name: string) {
    const auditLog = join(dir, `${name}.jsonl`);
    const { options } = parseCommonOptions(['--check', '--audit-log', auditLog]);
    const stdout = new PassThrough();
    let printed = '';
    stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const run = await startRun({
      options,
      info: { runKind: 'playbook', inventory: null, mode: 'check', diff: false, tags: [], skipTags: [] },
      hosts: [scriptedTarget('a')],
      connector: new ScriptedConnections([]).connector,
      stdout,
    });
    const result = await closeRun(run, work);
    const records = readFileSync(auditLog, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; exitCode?: number; message?: string });
    return { ...result, records, printed };
  }

  it('a thrown error: exit 2, said before run-end in the audit log and before the last line of the report', async () => {
    const run = await closed(async () => {
      throw new Error('serial must be a whole number of hosts ≥ 1 or a percentage, got 0');
    }, 'threw');
    expect([run.code, run.threw]).to.deep.equal([2, true]);
    const end = run.records.at(-1)!;
    expect(end).to.include({ kind: 'run-end', exitCode: 2 });
    const stop = run.records.find((record) => record.kind === 'stopping');
    expect(stop?.message).to.match(/^the run failed: internal error \(please report it\): Error: serial must be/);
    expect(run.printed)
      .to.include('the run failed: internal error')
      .and.match(/exit 2: failed\n$/);
    expect(run.printed).not.to.include('exit 0');
  });

  it('work that ends normally keeps its own status', async () => {
    const run = await closed(async () => {}, 'fine');
    expect([run.code, run.threw]).to.deep.equal([0, false]);
    expect(run.records.at(-1)).to.include({ kind: 'run-end', exitCode: 0 });
  });
});
