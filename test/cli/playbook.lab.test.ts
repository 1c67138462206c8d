/**
 * drover end to end: the real CLI, a real inventory, real SSH to the lab's hosts, and the hosts' real
 * state read back with the plain OpenSSH client.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

/** An inventory of exactly these lab hosts (the lab may have more): first control plane, rest workers. */
function labInventory(targets: LabTarget[]): string {
  const host = (target: LabTarget) => `            ${target.name}:\n              ansible_host: ${target.address}\n              ansible_user: root\n              ansible_ssh_private_key_file: ${target.keyPath}\n`;
  const text = `all:\n  vars:\n    drover_known_hosts_file: ${targets[0]!.knownHostsPath}\n  children:\n    k8s:\n      children:\n        control_plane:\n          hosts:\n${host(targets[0]!)}        workers:\n          hosts:\n${targets.slice(1).map(host).join('')}`;
  const path = join(mkdtempSync(join(tmpdir(), 'drover-inv-')), 'inventory.yaml');
  writeFileSync(path, text);
  return path;
}

const ROOT = resolve(import.meta.dirname, '../..');
const PLAYBOOKS = join(ROOT, 'test/fixtures/playbooks');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  auditPath: string;
}

/** Runs `tsx run.ts …` as an operator would, with its own audit log file. */
/** `interruptWhen`: Ctrl-C (SIGINT) is sent when it resolves, as an operator would press it. */
function drover(args: string[], options: { input?: string; interruptWhen?: () => Promise<void>; env?: Record<string, string> } = {}): Promise<CliRun> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'drover-audit-')), 'audit.jsonl');
  return new Promise((resolveRun, reject) => {
    // audit and inventory write no log (and inventory refuses the option).
    const auditArgs = args[0] === 'audit' || args[0] === 'inventory' ? [] : ['--audit-log', auditPath];
    // Options go before `--`: what follows it is the remote command.
    const split = args.includes('--') ? args.indexOf('--') : args.length;
    const argv = [...args.slice(0, split), ...auditArgs, ...args.slice(split)];
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'run.ts'), ...argv], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    if (options.interruptWhen) {
      options.interruptWhen().then(
        () => child.kill('SIGINT'),
        (error: unknown) => {
          child.kill('SIGKILL');
          reject(error);
        },
      );
    }
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr, auditPath }));
    child.stdin.end(options.input ?? '');
  });
}

function auditRecords(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function cleanHosts(targets: LabTarget[]): Promise<void> {
  await Promise.all(targets.map((target) => onHost(target, 'rm -rf /tmp/drover-cli-test')));
}

describeOnLab('drover CLI against lab hosts', 3, (targets) => {
  let inventory: string;
  before(async () => {
    inventory = labInventory(targets());
    await cleanHosts(targets());
  });
  afterEach(async () => cleanHosts(targets()));

  it('applies a playbook on every host at once and leaves a verifiable audit log', async () => {
    const run = await drover([join(PLAYBOOKS, 'write-file.ts'), '-i', inventory]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    for (const target of targets()) {
      const file = await onHost(target, 'cat /tmp/drover-cli-test/marker');
      expect(file.stdout).to.equal(`written by drover on ${target.name}\n`);
    }
    expect(run.stdout).to.match(/RECAP/);
    const verify = await drover(['audit', 'verify', run.auditPath]);
    expect(verify.code, verify.stdout).to.equal(0);
    const records = auditRecords(run.auditPath);
    expect(records[0]).to.include({ kind: 'run-start', mode: 'apply' });
    expect(records.filter((record) => record.kind === 'task')).to.have.length(3);
    expect(records[records.length - 1]).to.include({ kind: 'run-end', exitCode: 0 });

    const again = await drover([join(PLAYBOOKS, 'write-file.ts'), '-i', inventory]);
    expect(again.code).to.equal(0);
    expect(auditRecords(again.auditPath).filter((record) => record.kind === 'task' && record.changed)).to.have.length(0);
  });

  it('in check mode reports what would change with a diff and changes nothing', async () => {
    const run = await drover([join(PLAYBOOKS, 'write-file.ts'), '-i', inventory, '--check', '--diff']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.include('would change');
    expect(run.stdout).to.include('+written by drover on lab-1');
    for (const target of targets()) {
      expect((await onHost(target, 'test -e /tmp/drover-cli-test && echo exists || echo absent')).stdout.trim()).to.equal('absent');
    }
    const records = auditRecords(run.auditPath);
    expect(records[0]).to.include({ mode: 'check' });
    const tasks = records.filter((record) => record.kind === 'task');
    expect(tasks.every((record) => (record.commands as Array<{ executed: boolean }>).every((command) => !command.executed))).to.equal(true);
  });

  it('stops everywhere at the first failure: no host starts another task', async () => {
    const run = await drover([join(PLAYBOOKS, 'fail-fast.ts'), '-i', inventory]);
    expect(run.code, run.stdout + run.stderr).to.equal(2);
    expect(run.stdout).to.include('lab-1 fails on purpose');
    expect(run.stdout).to.match(/STOPPING \(fail-fast\)/);
    for (const target of targets()) {
      const marker = await onHost(target, 'test -e /tmp/drover-cli-test/second-task && echo ran || echo not-run');
      expect(marker.stdout.trim(), target.name).to.equal('not-run');
    }
    const end = auditRecords(run.auditPath).pop();
    expect(end).to.include({ kind: 'run-end', exitCode: 2 });
  });

  it('with --keep-going lets the other hosts finish', async () => {
    const run = await drover([join(PLAYBOOKS, 'fail-fast.ts'), '-i', inventory, '--keep-going']);
    expect(run.code).to.equal(2);
    const states = await Promise.all(targets().map((target) => onHost(target, 'test -e /tmp/drover-cli-test/second-task && echo ran || echo not-run')));
    expect(states.map((state) => state.stdout.trim())).to.deep.equal(['not-run', 'ran', 'ran']);
  });

  it('passes values between plays, runs handlers once, and keeps secrets out of every output', async () => {
    const run = await drover([join(PLAYBOOKS, 'flow.ts'), '-i', inventory, '-v', '--skip-tags', 'extra']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const token = (await onHost(targets()[1]!, 'cat /tmp/drover-cli-test/token')).stdout;
    expect(token).to.match(/^tok-[0-9a-f-]{36}$/);
    expect((await onHost(targets()[2]!, 'cat /tmp/drover-cli-test/token')).stdout).to.equal(token);
    // Two tasks notified the handler; it ran once per worker.
    expect((await onHost(targets()[1]!, 'cat /tmp/drover-cli-test/handler-runs')).stdout).to.equal('x\n');
    // --skip-tags extra
    expect((await onHost(targets()[1]!, 'test -e /tmp/drover-cli-test/tagged && echo yes || echo no')).stdout.trim()).to.equal('no');
    expect(run.stdout).to.not.include(token);
    expect(readFileSync(run.auditPath, 'utf8')).to.not.include(token);
    expect(readFileSync(run.auditPath, 'utf8')).to.include('********');
  });

  it("runs an ad-hoc command on a group and prints each host's output", async () => {
    const run = await drover(['exec', 'workers', '-i', inventory, '--', 'hostname']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.include('lab-2 | rc=0');
    expect(run.stdout).to.include('lab-3 | rc=0');
    expect(run.stdout).to.not.include('lab-1 |');
    const failing = await drover(['exec', 'all', '-i', inventory, '--', 'test "$(hostname)" != lab-2']);
    expect(failing.code).to.equal(2);
    expect(failing.stdout).to.include('lab-2 | rc=1');
  });

  it('runs one module ad hoc with key=value parameters, in check mode and for real', async () => {
    const args = ['module', 'lab-2', '-i', inventory, 'copy', 'dest=/tmp/drover-cli-test/adhoc', 'content=hello', 'create_parents=true', 'mode=0600'];
    const check = await drover([...args, '--check', '--diff']);
    expect(check.code, check.stdout + check.stderr).to.equal(0);
    expect(check.stdout).to.include('+hello');
    expect((await onHost(targets()[1]!, 'test -e /tmp/drover-cli-test/adhoc && echo yes || echo no')).stdout.trim()).to.equal('no');
    const apply = await drover(args);
    expect(apply.code, apply.stdout + apply.stderr).to.equal(0);
    expect((await onHost(targets()[1]!, "stat -c '%a' /tmp/drover-cli-test/adhoc; cat /tmp/drover-cli-test/adhoc")).stdout).to.equal('600\nhello');
    const wrong = await drover(['module', 'lab-2', '-i', inventory, 'copy', 'dest=/tmp/x', 'contnet=hello']);
    // Checked once, before any host is contacted: a usage error (exit 1), not a failure on each host.
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.include('did you mean content?');
  });

  it('lists the inventory with merged variables and secrets masked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-list-'));
    writeFileSync(join(dir, 'hosts.ini'), '[web]\nweb1 ansible_host=10.0.0.1 ansible_password=hunter2hunter2\n[web:vars]\nhttp_port=8080\n');
    const list = await drover(['inventory', '-i', join(dir, 'hosts.ini'), '--list']);
    expect(list.code, list.stderr).to.equal(0);
    const parsed = JSON.parse(list.stdout) as { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    expect(parsed._meta.hostvars.web1).to.include({ ansible_host: '10.0.0.1', http_port: 8080 });
    expect(list.stdout).to.not.include('hunter2hunter2');
    const broken = await drover(['inventory', '-i', join(dir, 'missing.yaml'), '--graph']);
    expect(broken.code).to.equal(1);
    expect(broken.stderr).to.match(/missing\.yaml/);
  });

  it('on Ctrl-C lets running commands finish, starts nothing new and closes the audit log', async () => {
    // Ctrl-C once the first task runs on every host (it says so with a file, then works for 6 s more).
    const firstTaskRunning = async () => {
      await Promise.all(
        targets().map(async (target) => {
          const started = await onHost(target, 'for i in $(seq 600); do test -e /tmp/drover-cli-test/first-task-started && exit 0; sleep 0.1; done; exit 1');
          if (started.exitCode !== 0) throw new Error(`the first task did not start on ${target.name} within 60 s`);
        }),
      );
    };
    const run = await drover([join(PLAYBOOKS, 'slow.ts'), '-i', inventory], { interruptWhen: firstTaskRunning });
    expect(run.code, run.stdout + run.stderr).to.equal(130);
    expect(run.stdout).to.match(/STOPPING \(interrupted\)/);
    for (const target of targets()) {
      const state = await onHost(target, 'cat /tmp/drover-cli-test/first-task; test -e /tmp/drover-cli-test/second-task && echo second || echo no-second');
      expect(state.stdout, target.name).to.equal('done\nno-second\n');
    }
    const last = auditRecords(run.auditPath).pop();
    expect(last).to.include({ kind: 'run-end', interrupted: true, exitCode: 130 });
    expect((await drover(['audit', 'verify', run.auditPath])).code).to.equal(0);
  });

  it('becomes root with sudo and a password sent on stdin, never shown', async () => {
    const password = 'drover-lab-ops';
    const dir = mkdtempSync(join(tmpdir(), 'drover-become-'));
    const asOps = readFileSync(inventory, 'utf8').replace(/ansible_user: root/g, 'ansible_user: ops');
    const inventoryWith = (become: string) => {
      const path = join(dir, `inventory-${become.length}.yaml`);
      writeFileSync(path, become ? asOps.replace('  vars:\n', `  vars:\n    ansible_become_password: ${become}\n`) : asOps);
      return path;
    };
    const run = await drover(['exec', 'lab-2', '-i', inventoryWith(password), '--become', '--', 'id -un; sleep 1']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.include('root');
    expect(run.stdout).to.not.include(password);
    expect(readFileSync(run.auditPath, 'utf8')).to.not.include(password);

    const withoutBecome = await drover(['exec', 'lab-2', '-i', inventoryWith(password), '--', 'id -un']);
    expect(withoutBecome.stdout).to.include('ops');

    const wrong = await drover(['exec', 'lab-2', '-i', inventoryWith('not-the-password'), '--become', '--', 'id -un']);
    expect(wrong.code).to.equal(2);
    expect(wrong.stdout).to.not.include('not-the-password');

    const noPassword = await drover(['exec', 'lab-2', '-i', inventoryWith(''), '--become', '--', 'id -un']);
    expect(noPassword.code).to.equal(2);
    expect(noPassword.stdout).to.match(/password is required/);
  });

  it('runs serial batches one after another, and maxFailPercentage stops the batches after a failure', async () => {
    const run = await drover([join(PLAYBOOKS, 'batches.ts'), '-i', inventory]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.include('(batch 3/3)');
    const times = await Promise.all(
      targets().map(async (target) => {
        const [start, end] = (await onHost(target, 'cat /tmp/drover-cli-test/start /tmp/drover-cli-test/end')).stdout.trim().split('\n').map(BigInt);
        return { start: start!, end: end! };
      }),
    );
    expect(
      times[1]!.start > times[0]!.end && times[2]!.start > times[1]!.end,
      JSON.stringify(times, (_, v) => String(v)),
    ).to.equal(true);

    await cleanHosts(targets());
    const dir = mkdtempSync(join(tmpdir(), 'drover-batch-'));
    writeFileSync(join(dir, 'inventory.yaml'), readFileSync(inventory, 'utf8').replace('  vars:\n', '  vars:\n    fail_host: lab-1\n'));
    const failing = await drover([join(PLAYBOOKS, 'batches.ts'), '-i', join(dir, 'inventory.yaml'), '--keep-going']);
    expect(failing.code, failing.stdout).to.equal(2);
    expect(failing.stdout).to.match(/STOPPING \(max-fail-percentage\)/);
    const ran = await Promise.all(targets().map((target) => onHost(target, 'test -e /tmp/drover-cli-test/start && echo ran || echo not-run')));
    expect(ran.map((result) => result.stdout.trim())).to.deep.equal(['ran', 'not-run', 'not-run']);
  });

  it('prints one JSON event per line with --json', async () => {
    const run = await drover([join(PLAYBOOKS, 'write-file.ts'), '-i', inventory, '--check', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; runId: string; result?: { status: string } });
    expect(events[0]!.kind).to.equal('run-start');
    expect(events[events.length - 1]!.kind).to.equal('run-end');
    expect(new Set(events.map((event) => event.runId)).size).to.equal(1);
    expect(events.filter((event) => event.kind === 'task-result').map((event) => event.result!.status)).to.deep.equal(['changed', 'changed', 'changed']);
    expect(run.stdout).to.not.match(/\u001b\[/);
  });

  it('refuses a host whose key changed, naming the host and the fingerprint', async () => {
    const lab = targets();
    const knownHosts = readFileSync(lab[0]!.knownHostsPath, 'utf8').split('\n').filter(Boolean);
    const key = (address: string) =>
      knownHosts
        .find((line) => line.startsWith(`${address} `))!
        .split(' ')
        .slice(1)
        .join(' ');
    // lab-1's address now presents a key that is not the one on record: the one of lab-2.
    const forged = knownHosts.map((line) => (line.startsWith(`${lab[0]!.address} `) ? `${lab[0]!.address} ${key(lab[1]!.address)}` : line));
    const dir = mkdtempSync(join(tmpdir(), 'drover-kh-'));
    writeFileSync(join(dir, 'known_hosts'), `${forged.join('\n')}\n`);
    const inventoryText = readFileSync(inventory, 'utf8').replace(/drover_known_hosts_file: .*/, `drover_known_hosts_file: ${join(dir, 'known_hosts')}`);
    writeFileSync(join(dir, 'inventory.yaml'), inventoryText);
    const run = await drover(['exec', 'lab-1', '-i', join(dir, 'inventory.yaml'), '--', 'true']);
    expect(run.code, run.stdout + run.stderr).to.equal(4);
    expect(run.stdout).to.match(/lab-1/);
    expect(run.stdout).to.match(/SHA256:[A-Za-z0-9+/]{43}/);
  });

  it('refuses to start when a variable the playbook needs is missing, before touching any host', async () => {
    const playbook = join(PLAYBOOKS, 'needs-var.ts');
    const run = await drover([playbook, '-i', inventory]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('cluster_name');
    expect(run.stderr).to.include('nothing was run');
    for (const target of targets()) {
      expect((await onHost(target, 'test -e /tmp/drover-cli-test && echo yes || echo no')).stdout.trim()).to.equal('no');
    }
  });

  it('refuses a template naming a value no host provides, before the first task anywhere', async () => {
    const run = await drover([join(PLAYBOOKS, 'template-preflight.ts'), '-i', inventory]);
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    expect(run.stderr).to.include('motd.hbs:2:8: the template uses "node_role"');
    expect(run.stderr).to.include('nothing was run');
    for (const target of targets()) {
      expect((await onHost(target, 'test -e /tmp/drover-cli-test && echo yes || echo no')).stdout.trim()).to.equal('no');
    }
    const dir = mkdtempSync(join(tmpdir(), 'drover-role-'));
    writeFileSync(join(dir, 'inventory.yaml'), readFileSync(inventory, 'utf8').replace('  vars:\n', '  vars:\n    node_role: worker\n'));
    const fixed = await drover([join(PLAYBOOKS, 'template-preflight.ts'), '-i', join(dir, 'inventory.yaml')]);
    expect(fixed.code, fixed.stdout + fixed.stderr).to.equal(0);
    expect((await onHost(targets()[1]!, 'cat /tmp/drover-cli-test/motd')).stdout).to.equal('# managed by drover\nrole=worker\ngreeting=hello lab-2\npeer=a\n');
  });

  it('fails a host whose playbook code throws, naming the file and line, and counts it in the recap', async () => {
    const run = await drover([join(PLAYBOOKS, 'throws.ts'), '-i', inventory, '--keep-going']);
    expect(run.code, run.stdout + run.stderr).to.equal(2);
    expect(run.stdout).to.include(`the playbook's code threw at ${join(PLAYBOOKS, 'throws.ts')}:10:`);
    expect(run.stdout).to.include('lab-1 has no address on the cluster network');
    expect(run.stdout).to.match(/lab-1 : ok=0 changed=0 failed=1/);
    expect(run.stdout).to.match(/lab-2 : ok=1 changed=0 failed=0/);
  });

  it('honours ProxyJump and UserKnownHostsFile from ansible_ssh_common_args, and ~ in paths', async () => {
    const [bastion, target] = targets();
    const home = mkdtempSync(join(tmpdir(), 'drover-home-'));
    copyFileSync(target!.keyPath, join(home, 'lab-key'));
    copyFileSync(target!.knownHostsPath, join(home, 'lab-known-hosts'));
    const path = join(home, 'inventory.yaml');
    writeFileSync(
      path,
      [
        'all:',
        '  hosts:',
        `    ${target!.name}:`,
        `      ansible_host: ${target!.address}`,
        '      ansible_user: root',
        '      ansible_ssh_private_key_file: ~/lab-key',
        `      ansible_ssh_common_args: -o UserKnownHostsFile=~/lab-known-hosts -o ProxyJump=root@${bastion!.address} -o ControlMaster=auto`,
        '',
      ].join('\n'),
    );
    const run = await drover(['exec', target!.name, '-i', path, '--', 'echo "from ${SSH_CLIENT%% *}"'], { env: { HOME: home } });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    // sshd on the target saw the connection come from the jump host, not from the controller.
    expect(run.stdout).to.include(`from ${bastion!.address}`);
    expect(run.stdout).to.include('drover does not act on ansible_ssh_common_args (-o ControlMaster=auto)');

    // A hop named by an alias is resolved through ~/.ssh/config, as ssh does (HostName, User, IdentityFile).
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh/config'), `Host jumpbox\n  HostName ${bastion!.address}\n  User root\n  IdentityFile ~/lab-key\n`);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/-o ProxyJump=\S+/, '-J jumpbox'));
    const viaAlias = await drover(['exec', target!.name, '-i', path, '--', 'echo "from ${SSH_CLIENT%% *}"'], { env: { HOME: home } });
    expect(viaAlias.code, viaAlias.stdout + viaAlias.stderr).to.equal(0);
    expect(viaAlias.stdout).to.include(`from ${bastion!.address}`);
  });

  it('refuses bad input with one clear line before touching any host, never a stack trace', async () => {
    const cases: Array<{ args: string[]; says: string }> = [
      { args: [join(PLAYBOOKS, 'write-file.ts'), '-i', inventory, '--limit', 'no-such-host'], says: "--limit: 'no-such-host' in host pattern 'no-such-host' matches no host and no group" },
      // A --limit that names hosts, none of which the plays select.
      { args: [join(PLAYBOOKS, 'write-file.ts'), '-i', inventory, '--limit', 'ungrouped'], says: 'narrowed by --limit ungrouped; nothing was run' },
      { args: [join(PLAYBOOKS, 'write-file.ts')], says: 'no inventory was given' },
      { args: [join(PLAYBOOKS, 'no-such-playbook.ts'), '-i', inventory], says: 'no-such-playbook.ts does not exist' },
      { args: [PLAYBOOKS, '-i', inventory], says: "is a directory: give the playbook's .ts file" },
      { args: [join(PLAYBOOKS, 'write-file.ts'), '-i', inventory, '-i', inventory], says: '--inventory was given 2 times' },
      { args: [join(PLAYBOOKS, 'write-file.ts'), '-i', inventory, '--tags', ''], says: '--tags is empty: name at least one tag' },
      { args: ['exec', 'no-such-group', '-i', inventory, '--', 'mkdir -p /tmp/drover-cli-test'], says: "'no-such-group' in host pattern 'no-such-group' matches no host and no group" },
      { args: ['module', 'all', '-i', inventory, 'file', 'path=/tmp/drover-cli-test', 'stat=directory'], says: 'invalid parameters for file: stat: unknown parameter; did you mean state?' },
    ];
    for (const { args, says } of cases) {
      const run = await drover(args);
      expect(run.code, args.join(' ') + '\n' + run.stdout + run.stderr).to.equal(1);
      expect(run.stderr)
        .to.include(says)
        .and.not.include('internal error')
        .and.not.match(/^\s+at /m);
    }
    for (const target of targets()) {
      expect((await onHost(target, 'test -e /tmp/drover-cli-test && echo yes || echo no')).stdout.trim()).to.equal('no');
    }
  });

  it('detects a tampered audit log', async () => {
    const run = await drover([join(PLAYBOOKS, 'write-file.ts'), '-i', inventory, '--check']);
    const lines = readFileSync(run.auditPath, 'utf8').split('\n');
    lines[1] = lines[1]!.replace(/"lab-1"/, '"lab-9"');
    writeFileSync(run.auditPath, lines.join('\n'));
    const verify = await drover(['audit', 'verify', run.auditPath]);
    expect(verify.code).to.equal(1);
    expect(verify.stdout).to.match(/BROKEN at record 2/);
    // Several logs at once: each gets its verdict, and one broken log makes the whole check fail.
    const good = await drover([join(PLAYBOOKS, 'write-file.ts'), '-i', inventory, '--check']);
    const both = await drover(['audit', 'verify', good.auditPath, run.auditPath]);
    expect(both.code).to.equal(1);
    expect(both.stdout).to.include(`${good.auditPath}: intact`).and.include(`${run.auditPath}: BROKEN at record 2`);
    expect((await drover(['audit', 'verify', good.auditPath, good.auditPath])).code).to.equal(0);
    const show = await drover(['audit', 'show', run.auditPath]);
    expect(show.code).to.equal(1);
    expect(show.stdout).to.match(/chain: BROKEN at record 2/);
  });
});
