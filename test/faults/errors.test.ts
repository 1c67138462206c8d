/**
 * Issue 8 item 17: each of these used to print a stack trace, "this is a bug in drover", hang, or say
 * nothing useful. Every case drives the installed CLI (`node bin/drover.js`); the cases that need a host
 * to answer (NUL in a command, a refused become password, ignored failures) use a real lab host over SSH.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, ROOT, type CliRun } from '../support/run-cli.ts';
import { describeOnLab, type LabTarget } from '../support/targets.ts';

const dir = mkdtempSync(join(tmpdir(), 'drover-faults-errors-'));
const PLAYBOOKS = join(ROOT, 'test/fixtures/playbooks');
let files = 0;

function file(content: string, name = `file-${++files}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** A fresh audit log path for each run (an existing one is refused, which is one of the cases below). */
function auditPath(): string {
  return join(dir, `audit-${++files}.jsonl`);
}

/** Hosts that refuse the connection at once (port 9 on localhost): a run needs no lab to reach its end. */
const refusingInventory = () => file('all:\n  hosts:\n    u[1:3]:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n');

/** An operator-facing error: one line saying what, no stack trace, not "please report it". */
function expectClearError(run: CliRun, ...mentions: Array<string | RegExp>): void {
  expect(run.timedOut, 'the command hung and was killed').to.equal(false);
  expect(run.code, run.stdout + run.stderr).to.equal(1);
  expect(run.stderr).to.match(/^drover: /);
  expect(run.stderr).to.not.match(/internal error|please report|bug in drover|\n\s+at /);
  for (const mention of mentions) expect(run.stderr).to.match(typeof mention === 'string' ? new RegExp(mention.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')) : mention);
}

describe('faults: clear errors (issue 8 item 17)', function () {
  this.timeout(180_000);

  describe('YAML aliases in an inventory', () => {
    it('refuses a recursive alias, naming the file and line', async () => {
      const path = file('all:\n  hosts:\n    a: &x\n      ansible_host: 127.0.0.1\n      self: *x\n');
      expectClearError(await runCli(['inventory', '-i', path, '--list']), `${path}:5`, '*x');
    });

    it('refuses an alias bomb quickly, naming the file', async () => {
      const levels = ['    a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let level = 1; level < 10; level++)
        levels.push(
          `    a${level}: &a${level} [${Array(10)
            .fill(`*a${level - 1}`)
            .join(', ')}]`,
        );
      const path = file(`all:\n  vars:\n${levels.join('\n')}\n  hosts:\n    h1:\n      ansible_host: 127.0.0.1\n`);
      const run = await runCli(['inventory', '-i', path, '--list'], { timeoutMs: 60_000 });
      expectClearError(run, path, /alias bomb/);
    });

    it('still reads aliases that expand to a bounded value', async () => {
      const path = file('all:\n  vars:\n    base: &base { a: 1, b: [x, y] }\n  hosts:\n    h1:\n      copy: *base\n      <<: *base\n');
      const run = await runCli(['inventory', '-i', path, '--list']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.include('"copy"');
    });
  });

  describe('--audit-log', () => {
    it('refuses an existing file by name, leaves it as it was, and runs nothing', async () => {
      const existing = file('keep me\n', 'existing.jsonl');
      const run = await runCli(['exec', 'all', '-i', refusingInventory(), '--audit-log', existing, '--', 'true']);
      expectClearError(run, existing, /already exists/, /choose a new path/);
      expect(readFileSync(existing, 'utf8')).to.equal('keep me\n');
      expect(run.stdout).to.not.include('RECAP');
      expectClearError(await runCli(['exec', 'all', '-i', refusingInventory(), '--audit-log', dir, '--', 'true']), dir, /is a directory/);
    });

    it('fails on /dev/full with a write error before anything runs', async () => {
      const run = await runCli(['exec', 'all', '-i', refusingInventory(), '--audit-log', '/dev/full', '--', 'true']);
      expectClearError(run, '/dev/full', /cannot be written \(ENOSPC\); nothing was run/);
      expect(run.stdout).to.equal('');
    });

    it("fails fast on a path under /proc (Node's recursive mkdir loops there)", async () => {
      const run = await runCli(['exec', 'all', '-i', refusingInventory(), '--audit-log', '/proc/x/y.jsonl', '--', 'true'], { timeoutMs: 60_000 });
      expectClearError(run, '/proc/x/y.jsonl', /cannot create the directory \/proc\/x/);
      expect(run.durationMs).to.be.lessThan(60_000);
    });
  });

  describe('a reader that goes away', () => {
    it('`audit show LOG | head`: the rest is dropped quietly and the command exits with its own status', async () => {
      // 200 unreachable hosts: a log of a few hundred records, far more than one pipe buffer of `audit show`.
      const log = auditPath();
      const inventory = file('all:\n  hosts:\n    u[1:200]:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n');
      expect((await runCli(['exec', 'all', '-i', inventory, '--audit-log', log, '--', 'true'])).code).to.equal(4);
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolveRun, reject) => {
        const child = spawn(process.execPath, [join(ROOT, 'bin/drover.js'), 'audit', 'show', log], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let errors = '';
        child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
        // Like `head -1`: read the first chunk, then close the pipe.
        child.stdout.once('data', () => child.stdout.destroy());
        child.on('error', reject);
        child.on('close', (exitCode) => resolveRun({ code: exitCode, stderr: errors }));
      });
      expect(stderr).to.equal('');
      expect(code).to.equal(0);
    });
  });

  describe('--tags', () => {
    it('warns at the end about a tag that matched no task, without a line per skipped task', async () => {
      // Every host logs in before a play, so these are hosts of the local connection, in a dry run.
      const local = file('all:\n  hosts:\n    l[1:3]:\n      ansible_connection: local\n');
      const run = await runCli([join(PLAYBOOKS, 'tagged.ts'), '-i', local, '--check', '--tags', 'nosuchtag', '--audit-log', auditPath()]);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stdout).to.match(/warning: --tags nosuchtag matched no task of this run[^\n]*tags seen: setup/);
      expect(run.stdout.split('\n').filter((line) => /^\s+skipped\s/.test(line))).to.have.length(0);
      expect(run.stdout).to.match(/l1\s+: ok=0 changed=0 failed=0 skipped=50/);
      const verbose = await runCli([join(PLAYBOOKS, 'tagged.ts'), '-i', local, '--check', '--limit', 'l1', '--tags', 'nosuchtag', '-v', '--audit-log', auditPath()]);
      expect(verbose.stdout.split('\n').filter((line) => /^\s+skipped\s/.test(line))).to.have.length(50);
    });

    it('is refused by exec and module instead of being ignored', async () => {
      const exec = await runCli(['exec', 'all', '-i', refusingInventory(), '--tags', 'setup', '--audit-log', auditPath(), '--', 'true']);
      expectClearError(exec, /--tags selects tasks of a playbook; `exec`/, /Nothing was run/);
      expect(exec.stdout).to.equal('');
      const module = await runCli(['module', 'all', '-i', refusingInventory(), 'command', 'argv=true', '--skip-tags', 'setup', '--audit-log', auditPath()]);
      expectClearError(module, /--skip-tags selects tasks of a playbook; `module`/);
    });
  });
});

describeOnLab('faults: clear errors on a lab host (issue 8 item 17)', 1, (targets) => {
  const inventory = (target: LabTarget, user: string, vars: Record<string, string> = {}) =>
    file(
      `all:\n  vars:\n    drover_known_hosts_file: ${target.knownHostsPath}\n${Object.entries(vars)
        .map(([key, value]) => `    ${key}: ${value}\n`)
        .join('')}` + `  hosts:\n    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: ${user}\n      ansible_ssh_private_key_file: ${target.keyPath}\n`,
    );

  for (const where of ['argv', 'env']) {
    it(`names the ${where} entry holding a NUL byte, as invalid input, not a bug`, async () => {
      const [target] = targets() as [LabTarget];
      const run = await runCli([join(PLAYBOOKS, 'nul-values.ts'), '-i', inventory(target, 'root', { nul_in: where }), '--audit-log', auditPath()]);
      expect(run.code, run.stdout + run.stderr).to.equal(2);
      expect(run.stdout).to.match(where === 'argv' ? /argv\[1\]: contains a NUL byte/ : /env\.GREETING: contains a NUL byte/);
      expect(run.stdout).to.not.match(/bug in|unexpected error|please report/);
    });
  }

  it('says the become password was refused for the user on the host, and what to do', async () => {
    const [target] = targets() as [LabTarget];
    const run = await runCli(['exec', target.name, '-i', inventory(target, 'ops', { ansible_become_password: 'not-the-password' }), '--become', '--audit-log', auditPath(), '--', 'id -un'], { timeoutMs: 120_000 });
    expect(run.code, run.stdout + run.stderr).to.equal(2);
    expect(run.stdout).to.include(`the become password was refused by sudo for user ops on host ${target.name}`);
    expect(run.stdout).to.match(/-K \(--ask-become-pass\)/);
    expect(run.stdout).to.include('ansible_become_password');
    expect(run.stdout).to.not.include('not-the-password');
  });

  it('counts failures under ignoreErrors as ignored, not failed, in the recap, --json and the audit log', async () => {
    const [target] = targets() as [LabTarget];
    const path = inventory(target, 'root');
    const run = await runCli([join(PLAYBOOKS, 'ignored-failures.ts'), '-i', path, '--audit-log', auditPath()]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.match(new RegExp(`${target.name}\\s+: ok=1 changed=0 failed=0 skipped=0 unreachable=0 ignored=5`));
    expect(run.stdout).to.match(/fails 1 \[command\] \(ignored: ignoreErrors\)/);

    const log = auditPath();
    const json = await runCli([join(PLAYBOOKS, 'ignored-failures.ts'), '-i', path, '--json', '--audit-log', log]);
    expect(json.code, json.stderr).to.equal(0);
    const end = json.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { kind: string; recap?: unknown[] })
      .find((event) => event.kind === 'run-end');
    expect(end?.recap?.[0]).to.include({ host: target.name, failed: 0, ignored: 5 });
    expect(existsSync(log)).to.equal(true);
    const closing = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop()!) as { kind: string; recap: unknown[] };
    expect(closing.recap[0]).to.include({ host: target.name, failed: 0, ignored: 5 });
    expect((await runCli(['audit', 'show', log])).stdout).to.match(new RegExp(`${target.name}: ok=1 changed=0 failed=0 unreachable=0 ignored=5`));
  });
});
