/**
 * A task result with every field filled (an ok copy task that read a file), for reporter tests that
 * need many hosts' results and change only a few fields of each.
 */
import type { TaskResult } from '../../runner/result.ts';

export function taskResult(host: string, task: string, fields: Partial<TaskResult> = {}): TaskResult {
  return {
    host,
    task,
    module: 'copy',
    status: 'ok',
    changed: false,
    checkMode: false,
    uncertain: false,
    msg: 'already in place',
    changes: [],
    diffs: [],
    commands: [{ display: 'cat /etc/app.conf', line: 'cat /etc/app.conf', executed: true, exitCode: 0, stdout: 'big output\n', stderr: '', durationMs: 1, timedOut: false }],
    rc: 0,
    stdout: 'big output\n',
    stderr: '',
    durationMs: 1,
    ...fields,
  };
}
