/**
 * A variable the playbook's schema refuses is named in the error with the value it got; under a
 * secret-named key (db_password, api_token…) that value is masked, from -e and from the inventory alike:
 * a mistyped password must not land in the terminal and the CI log. Nothing connects to any host: the
 * check comes before the run. And a module's secret parameter given as key=value (`run module … user
 * password=…`) is masked in the audit log's run-start, which records argv and the parameters.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli } from '../support/run-cli.ts';

describe('secret-named variables in validation errors', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'drover-secret-errors-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const playbook = join(ROOT, 'test/fixtures/playbooks/secret-vars.ts');

  it('masks the refused value of a secret-named -e variable and inventory variable', async () => {
    // 192.0.2.1 (TEST-NET-1) is never contacted: validation fails first.
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(inventory, 'all:\n  hosts:\n    web1:\n      ansible_host: 192.0.2.1\n      db_password: Hunter2Secret\n');
    const fromE = await runCli([playbook, '-i', inventory, '--check', '--audit-log', join(dir, 'e.jsonl'), '-e', 'db_password=NotANumberSecret', '-e', 'api_token=zzzzzzzz']);
    expect(fromE.code, fromE.stderr).to.equal(1);
    // The whole argument is masked (an escape in it could hide the value from a match); the schema's message names the variable.
    expect(fromE.stderr).to.include('-e ********: db_password: expected a number, got "********"');
    expect(fromE.stderr).not.to.include('NotANumberSecret').and.not.to.include('zzzzzzzz');
    const fromInventory = await runCli([playbook, '-i', inventory, '--check', '--audit-log', join(dir, 'i.jsonl')]);
    expect(fromInventory.code, fromInventory.stderr).to.equal(1);
    expect(fromInventory.stderr).to.include("the playbook's variables are not valid on 1 host(s)");
    expect(fromInventory.stderr).not.to.include('Hunter2Secret');
  });

  it("masks a module's secret parameter in the audit log's run-start, argv included", async () => {
    // Port 9 on localhost refuses at once: the run-start record is written all the same.
    const inventory = join(dir, 'refused.yaml');
    writeFileSync(inventory, 'all:\n  hosts:\n    u1:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n');
    const log = join(dir, 'module.jsonl');
    const run = await runCli(['module', 'all', '-i', inventory, 'user', 'name=bob', 'password=$6$Hunter2Secret', '--check', '--audit-log', log]);
    expect(run.code, run.stdout + run.stderr).to.equal(4);
    const text = readFileSync(log, 'utf8');
    expect(text).not.to.include('Hunter2Secret');
    const start = JSON.parse(text.split('\n')[0]!) as { argv: string[]; adhoc: { params: Record<string, string> } };
    expect(start.argv).to.include('password=********');
    expect(start.adhoc.params).to.deep.equal({ name: 'bob', password: '********' });
  });
});
