/**
 * Input given through a pipe (`-i <(…)`, `/dev/stdin`), as the tester gave it: what is hashed for a saved
 * plan is exactly what was parsed, so an apply given another inventory through a pipe is refused; a
 * playbook, which drover must read more than once, is refused through a pipe with what to do. Before, the
 * plan recorded the sha256 of "" (the second, empty read) and any piped inventory matched it.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/run-cli.ts';

describe('input through a pipe is read once', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'drover-piped-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const inventory = join(dir, 'inv.yaml');
  const other = join(dir, 'other.yaml');
  const text = 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n';
  writeFileSync(inventory, text);
  writeFileSync(other, `${text}      drover_note: another\n`);
  const playbook = join(ROOT, 'test/fixtures/playbooks/malformed-play.ts');

  /** drover under bash, for its process substitution; the arguments are already shell words. */
  const bash = (words: string) => spawnSync('bash', ['-c', `node ${join(ROOT, 'bin/drover.js')} ${words}`], { cwd: dir, encoding: 'utf8', timeout: 100_000 });

  it("-i <(cat INV) --save-plan records the inventory's own sha256; apply with another piped inventory is refused", () => {
    const runs = join(dir, 'runs.ts');
    writeFileSync(
      runs,
      `import { definePlaybook } from '${join(ROOT, 'runner/playbook.ts')}';\nconst book = definePlaybook({ name: 'piped' });\nexport default book.playbook([book.play({ name: 'p', hosts: 'all', tasks: async (t) => void (await t.debug('hi', { msg: 'hi' })) })]);\n`,
    );
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    const saved = bash(`${runs} -i <(cat ${inventory}) --check --no-typecheck --save-plan plan.json --audit-log a1.jsonl`);
    expect(saved.status, saved.stderr).to.equal(0);
    const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as { inventory: { sha256: string } };
    expect(plan.inventory.sha256).to.equal(createHash('sha256').update(text).digest('hex'));
    const applied = bash(`apply plan.json -i <(cat ${other}) --no-typecheck --audit-log a2.jsonl`);
    expect(applied.status).to.equal(1);
    expect(applied.stderr).to.include('the inventory is not the reviewed one');
  });

  it('a playbook through a pipe is refused, saying to save it to a file', () => {
    const run = bash(`/dev/stdin -i ${inventory} --check --audit-log a3.jsonl < <(cat ${playbook})`);
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include('is not a regular file').and.include('save it to a .ts file').and.not.include('internal error');
  });
});
