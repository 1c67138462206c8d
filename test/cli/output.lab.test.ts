/**
 * The terminal's grouped view end to end: the real CLI on six lab hosts and one that cannot be reached
 * (a port nobody listens on), over real SSH. The output must be a line per task with counts, identical
 * changes merged with their hosts as ranges, the failure and the unreachable host in full, and the recap
 * merged; --per-host must give back the line per host; --json and the audit log keep every host's
 * result; on a terminal (a pty from `script`) a progress line is redrawn in place, and only there.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { ROOT, runCli } from '../support/run-cli.ts';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

const PLAYBOOK = join(ROOT, 'test/fixtures/playbooks/fleet-output.ts');
const STATE_DIR = '/tmp/drover-output-test';

/** lab-1…lab-6, lab-3 failing its health check, lab-6 with its own flavour; gone-1 refuses connections. */
function inventory(targets: LabTarget[]): string {
  const host = (target: LabTarget) =>
    `    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${target.keyPath}\n${target.name === 'lab-3' ? '      output_fail: true\n' : ''}${target.name === 'lab-6' ? '      output_flavour: special\n' : ''}`;
  const gone = `    gone-1:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n      ansible_user: root\n      ansible_ssh_private_key_file: ${targets[0]!.keyPath}\n`;
  const text = `all:\n  vars:\n    drover_known_hosts_file: ${targets[0]!.knownHostsPath}\n  hosts:\n${targets.map(host).join('')}${gone}`;
  const path = join(mkdtempSync(join(tmpdir(), 'drover-output-inv-')), 'inventory.yaml');
  writeFileSync(path, text);
  return path;
}

function auditLog(): string {
  return join(mkdtempSync(join(tmpdir(), 'drover-output-audit-')), 'audit.jsonl');
}

interface Outcome {
  host: string;
  task: string;
  status: string;
}

/** The task results a --json stream (`task-result` events) or an audit log (`task` records) holds, as [host, task, status]. */
function resultsIn(jsonLines: string): Array<[string, string, string]> {
  return jsonLines
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { kind?: string; result?: Outcome } & Partial<Outcome>)
    .flatMap((record): Outcome[] => (record.kind === 'task-result' ? [record.result!] : record.kind === 'task' ? [record as Outcome] : []))
    .map((outcome) => [outcome.host, outcome.task, outcome.status]);
}

/** Runs the CLI under `script`, which gives it a pseudo-terminal of 120 columns as its stdout; CI unset so it counts as interactive. */
function droverOnPty(args: string[]): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, join(ROOT, 'bin/drover.js'), ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
    delete env.CI;
    delete env.FORCE_COLOR;
    const child = spawn('script', ['-q', '-e', '-c', `stty cols 120 rows 40; exec ${quoted}`, '/dev/null'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end();
  });
}

describeOnLab('the grouped terminal view on lab hosts', 6, (lab) => {
  const targets = () => lab().slice(0, 6);
  let inventoryPath: string;
  const clean = () => Promise.all(targets().map((target) => onHost(target, `rm -rf ${STATE_DIR}`)));
  const common = ['--keep-going', '--connect-timeout', '2'];

  before(async () => {
    inventoryPath = inventory(targets());
    await clean();
  });
  after(clean);

  it('prints a line per task with counts, merged changes with host ranges, the failure and the unreachable host in full, a merged recap', async function () {
    this.timeout(300_000);
    const log = auditLog();
    const run = await runCli([PLAYBOOK, '-i', inventoryPath, ...common, '--audit-log', log], { timeoutMs: 240_000 });
    expect(run.timedOut, run.stdout).to.equal(false);
    const out = run.stdout;
    expect(run.code, out + run.stderr).to.equal(2);
    expect(out).to.include('PLAY prepare the fleet · gone-1,lab-[1:6] (7 hosts)\n');
    // Every host logs in before the play: the unreachable host in full, its own line and the reason, under the log-in.
    expect(out).to.match(/^ {2}\(log in for play "prepare the fleet"\) \[connect\] {2}unreachable 1\n {2}unreachable +gone-1 {2}\(log in for play "prepare the fleet"\) \[connect\]\n {6}gone-1 \(127\.0\.0\.1:1\)/m);
    expect(out).to.match(/^ {2}common file \[copy\] {2}changed 6\n {4}changed lab-\[1:6\] \(6 hosts\)\n {6}create \/tmp\/drover-output-test\/common\.conf/m);
    expect(out).to.match(/^ {2}flavoured file \[copy\] {2}changed 6\n {4}changed lab-\[1:5\] \(5 hosts\)\n {6}create .*\(19 bytes/m);
    expect(out).to.match(/^ {4}changed lab-6\n {6}create \/tmp\/drover-output-test\/flavour\.conf \(18 bytes/m);
    expect(out).to.match(/^ {2}health check \[shell\] {2}changed 5 · failed 1\n {4}changed lab-\[1:2,4:6\] \(5 hosts\)\n/m);
    expect(out).to.match(/^ {2}failed +lab-3 {2}health check \[shell\]\n[\s\S]*health check refused on purpose/m);
    expect(out).to.match(/^ {2}report \[debug\] {2}ok 5\n {4}ok lab-\[1:2,4:5\] \(4 hosts\): flavour standard\n {4}ok lab-6: flavour special\n/m);
    // No line per host for what went well.
    expect(out).not.to.match(/^ {2}(changed|ok) +lab-\d {2}/m);
    expect(out).to.match(/^ {2}lab-\[1:2,4:6\] : ok=1 changed=3 failed=0 skipped=0 unreachable=0 ignored=0 · 5 hosts$/m);
    expect(out).to.match(/^ {2}lab-3 +: ok=0 changed=2 failed=1 skipped=0 unreachable=0 ignored=0$/m);
    expect(out).to.match(/^ {2}gone-1 +: ok=0 changed=0 failed=0 skipped=0 unreachable=1 ignored=0$/m);
    // Plain output without a terminal: no spinner, no progress line, no colour codes.
    expect(out).not.to.include('hosts done').and.not.include('\u001b[');
    // The audit log keeps every host's own result: 4 tasks on five hosts, 3 on lab-3, the log-in on gone-1.
    const audited = resultsIn(readFileSync(log, 'utf8'));
    expect(audited).to.have.length(24);
    for (const target of targets()) expect(audited.filter(([host]) => host === target.name)).to.have.length(target.name === 'lab-3' ? 3 : 4);
    // The hosts really got the files.
    const read = await onHost(targets()[5]!, `cat ${STATE_DIR}/flavour.conf`);
    expect(read.stdout).to.equal('flavour = special\n');
  });

  it('gives the line per host back with --per-host, and every host result with --json', async function () {
    this.timeout(300_000);
    const perHost = await runCli([PLAYBOOK, '-i', inventoryPath, ...common, '--per-host', '--audit-log', auditLog()], { timeoutMs: 240_000 });
    expect(perHost.code, perHost.stdout + perHost.stderr).to.equal(2);
    // A re-run: the files are in place.
    for (const target of targets()) expect(perHost.stdout).to.match(new RegExp(`^ {2}ok +${target.name} {2}common file \\[copy\\]`, 'm'));
    expect(perHost.stdout).to.match(/^ {2}lab-1 +: ok=3 changed=1 failed=0/m);
    expect(perHost.stdout).to.include('PLAY prepare the fleet · lab-1, lab-2, lab-3, lab-4, lab-5, lab-6, gone-1');

    const json = await runCli([PLAYBOOK, '-i', inventoryPath, ...common, '--json', '--audit-log', auditLog()], { timeoutMs: 240_000 });
    const results = resultsIn(json.stdout);
    expect(results).to.have.length(24);
    expect(results.filter(([host, task]) => host === 'lab-3' && task === 'health check')).to.deep.equal([['lab-3', 'health check', 'failed']]);
  });

  it('redraws a progress line on a terminal, in place, and still prints the grouped lines', async function () {
    this.timeout(300_000);
    const run = await droverOnPty([PLAYBOOK, '-i', inventoryPath, ...common, '--audit-log', auditLog()]);
    expect(run.code, run.output).to.equal(2);
    // ora redraws by moving the cursor back and erasing the line (ESC [ … G / ESC [ 2K), never by new lines.
    expect(run.output).to.match(/\u001b\[(2K|\d*G)/);
    const plain = stripVTControlCharacters(run.output);
    expect(plain).to.match(/common file \[copy\]: \d of 7 hosts done/);
    expect(plain).to.include('(log in for play "prepare the fleet") [connect]  unreachable 1');
    expect(plain).to.match(/common file \[copy\] {2}(ok|changed) 6\r?\n/);
    expect(plain).to.match(/lab-3 +: ok=2 changed=0 failed=1/);
  });
});
