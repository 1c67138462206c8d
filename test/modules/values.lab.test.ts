/**
 * Values from stat, slurp and waitFor through the real CLI: a playbook uses them, the audit log records
 * them, and a secret slurp stays masked in the terminal, the JSON output and the audit log, even when a
 * later task prints the same text.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, ROOT } from '../support/run-cli.ts';
import { labTargets, onHost, type LabTarget } from '../support/targets.ts';

const TOKEN = 'tok-8f1c2a9e4b7d6053aa1e';

describe('stat, slurp and waitFor values in a playbook run (CLI, lab host index 0)', function () {
  let target: LabTarget;
  let inventory: string;
  const dir = mkdtempSync(join(tmpdir(), 'drover-values-'));

  before(async function () {
    target = (await labTargets(this, 1))[0]!;
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `all:\n  vars:\n    drover_known_hosts_file: ${target.knownHostsPath}\n  hosts:\n    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${target.keyPath}\n`,
    );
    const setup = await onHost(target, `rm -rf /tmp/drover-values; mkdir /tmp/drover-values && printf '%s\\n' '${TOKEN}' > /tmp/drover-values/token`);
    expect(setup.exitCode, setup.stderr).to.equal(0);
  });
  after(() => onHost(target, 'rm -rf /tmp/drover-values'));

  it('the playbook gets typed values; the audit log records them; the secret is masked in every output', async () => {
    const audit = join(dir, 'audit.jsonl');
    const run = await runCli([join(ROOT, 'test/fixtures/playbooks/read-values.ts'), '-i', inventory, '-v', '--audit-log', audit], { timeoutMs: 300_000 });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const log = readFileSync(audit, 'utf8');
    const tasks = log
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record.kind === 'task');
    expect(tasks.map((record) => record.module)).to.deep.equal(['stat', 'slurp', 'waitFor', 'command', 'shell']);
    expect(tasks[0]!.value).to.include({ path: '/tmp/drover-values', exists: true, type: 'directory' });
    expect(tasks[1]!.value).to.deep.equal({ path: '/tmp/drover-values/token', size: TOKEN.length + 1, secret: true });
    expect((tasks[2]!.value as { elapsed: number }).elapsed).to.be.a('number');
    expect(tasks[4]!.status).to.equal('ok');
    expect(log).to.not.contain(TOKEN);
    expect(run.stdout + run.stderr).to.not.contain(TOKEN);

    const json = await runCli([join(ROOT, 'test/fixtures/playbooks/read-values.ts'), '-i', inventory, '--json', '-vv', '--audit-log', join(dir, 'audit2.jsonl')], { timeoutMs: 300_000 });
    expect(json.code, json.stderr).to.equal(0);
    expect(json.stdout).to.contain('"secret":true');
    expect(json.stdout).to.not.contain(TOKEN);
    // -vv traces every probe's output; slurp's travels base64-encoded, which no redactor would recognise.
    expect(json.stdout).to.contain('"kind":"trace"');
    expect(json.stdout).to.contain('(secret output');
    expect(json.stdout).to.not.contain(Buffer.from(`${TOKEN}\n`).toString('base64').slice(0, 20));
  });
});
