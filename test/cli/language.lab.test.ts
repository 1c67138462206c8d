/**
 * The playbook language end to end on a real lab host: -e extra variables (key=value typed by the vars
 * schema, a YAML file, later wins, above the inventory), -vv showing command output, and a retry that
 * succeeds on the third attempt (a counter file on the host), each attempt in the report and audit log.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

/** An audit record as the test reads it: only the fields it asserts. */
interface AuditRecord {
  kind: string;
  task?: string;
  attempt?: number;
  extraVars?: Record<string, { value: unknown; from: string }>;
}

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = '/tmp/drover-language-test';

function inventory(target: LabTarget): string {
  const text = `all:\n  vars:\n    drover_known_hosts_file: ${target.knownHostsPath}\n    greeting: from-inventory\n    port: 1\n  hosts:\n    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${target.keyPath}\n`;
  const path = join(mkdtempSync(join(tmpdir(), 'drover-inv-')), 'inventory.yaml');
  writeFileSync(path, text);
  return path;
}

function drover(args: string[]): Promise<{ code: number; stdout: string; stderr: string; auditPath: string }> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'drover-audit-')), 'audit.jsonl');
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'run.ts'), ...args, '--audit-log', auditPath], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr, auditPath }));
    child.stdin.end();
  });
}

describeOnLab('the playbook language against a lab host', 1, (targets) => {
  beforeEach(async () => {
    await onHost(targets()[0]!, `rm -rf ${DIR}`);
  });
  after(async () => {
    await onHost(targets()[0]!, `rm -rf ${DIR}`);
  });

  it('-e over the inventory (typed by the schema), -vv output, and a retry that succeeds on the 3rd attempt', async function () {
    this.timeout(180_000);
    const target = targets()[0]!;
    const varsFile = join(mkdtempSync(join(tmpdir(), 'drover-e-')), 'extra.yaml');
    writeFileSync(varsFile, 'greeting: from-file\nport: 9\napi_token: s3cr3t-t0ken-value\n');
    const run = await drover(['test/fixtures/playbooks/language.ts', '-i', inventory(target), '-e', `@${varsFile}`, '-e', 'port=8080', '-vv']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);

    // The host's state, read back over plain SSH.
    expect((await onHost(target, `cat ${DIR}/vars`)).stdout).to.equal('port=8080 number\ngreeting=from-file\n');
    expect((await onHost(target, `cat ${DIR}/count`)).stdout.trim()).to.equal('3');

    // The report: two retries, then the task changed after 3 attempts; -vv shows the command's output.
    const lines = run.stdout.split('\n');
    const retries = lines.filter((line) => /retry\s+\S+\s+count to three/.test(line));
    expect(retries).to.have.length(2);
    expect(retries[0]).to.match(/attempt 1\/5 failed; again in 2 s/);
    expect(retries[1]).to.match(/attempt 2\/5 failed; again in 2 s/);
    expect(
      lines.some((line) => /changed\s+\S+\s+count to three .*after 3 attempts/.test(line)),
      run.stdout,
    ).to.equal(true);
    expect(
      lines.some((line) => line.trim() === 'attempt 3'),
      run.stdout,
    ).to.equal(true);
    // -vv: every probe with its answer; not the transport (that is -vvv).
    expect(
      lines.some((line) => /^ {2}vv \S+: probe → \d+: /.test(line)),
      run.stdout,
    ).to.equal(true);
    expect(
      lines.some((line) => /^ {2}vvv /.test(line)),
      run.stdout,
    ).to.equal(false);

    // The audit log: the extra variables with their arguments (the token masked anywhere), and a record per retry.
    const text = readFileSync(run.auditPath, 'utf8');
    expect(text).to.not.include('s3cr3t-t0ken-value');
    const records = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);
    const extraVars = records.find((record) => record.kind === 'run-start')?.extraVars ?? {};
    expect(extraVars.port).to.deep.equal({ value: '8080', from: '-e port=8080' });
    expect(extraVars.greeting).to.deep.equal({ value: 'from-file', from: `-e @${varsFile}` });
    expect(extraVars.api_token?.value).to.equal('********');
    expect(records.filter((record) => record.kind === 'task-retry').map((record) => record.attempt)).to.deep.equal([1, 2]);
    expect(records.find((record) => record.kind === 'task' && record.task === 'count to three')).to.include({ status: 'changed', attempts: 3 });
  });

  it("-vvv also shows the transport: the connect attempt, and keepalives during a retry's pause", async function () {
    this.timeout(180_000);
    const target = targets()[0]!;
    const run = await drover(['test/fixtures/playbooks/language.ts', '-i', inventory(target), '-e', 'port=1', '-v', '-vv', '--keepalive-interval', '1']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const lines = run.stdout.split('\n');
    expect(
      lines.filter((line) => /^ {2}vvv \S+: connect attempt 1\/\d+: root@/.test(line)),
      run.stdout,
    ).to.have.length(1);
    expect(
      lines.some((line) => /^ {2}vvv \S+: connected in \d+ ms; keepalive every 1000 ms/.test(line)),
      run.stdout,
    ).to.equal(true);
    expect(
      lines.some((line) => /^ {2}vvv \S+: keepalive sent$/.test(line)),
      run.stdout,
    ).to.equal(true);
    expect(
      lines.some((line) => /^ {2}vv \S+: probe → /.test(line)),
      run.stdout,
    ).to.equal(true);
  });

  it('a -e value the schema refuses stops the run before the host is touched, naming the argument', async function () {
    this.timeout(120_000);
    const target = targets()[0]!;
    const run = await drover(['test/fixtures/playbooks/language.ts', '-i', inventory(target), '-e', 'port=eighty']);
    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.match(/-e port=eighty: port/);
    expect((await onHost(target, `test -e ${DIR} && echo exists || echo absent`)).stdout.trim()).to.equal('absent');
  });
});
