/**
 * A variable the playbook's schema refuses is named in the error with the value it got; under a
 * secret-named key (db_password, api_token…) that value is masked, from -e and from the inventory alike:
 * a mistyped password must not land in the terminal and the CI log. Nothing connects to any host: the
 * check comes before the run.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    expect(fromE.stderr).to.include('-e db_password=********: db_password: expected a number, got "********"');
    expect(fromE.stderr).not.to.include('NotANumberSecret').and.not.to.include('zzzzzzzz');
    const fromInventory = await runCli([playbook, '-i', inventory, '--check', '--audit-log', join(dir, 'i.jsonl')]);
    expect(fromInventory.code, fromInventory.stderr).to.equal(1);
    expect(fromInventory.stderr).to.include("the playbook's variables are not valid on 1 host(s)");
    expect(fromInventory.stderr).not.to.include('Hunter2Secret');
  });
});
