/**
 * Audit records leaving the controller as they are written (issue 10 part 3, second bullet): real runs
 * through the CLI (`exec` to hosts that refuse the connection at once, a `--check` playbook run) copy their
 * log to a command's stdin and to syslog servers this test runs (TCP with octet counting, UDP), byte for
 * byte; unreachable or failing destinations are refused before the run or reported with exit status 5.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli } from '../support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'drover-audit-copy-'));
const inventory = join(dir, 'inventory.yaml');
let runs = 0;

async function execRun(args: string[]) {
  const log = join(dir, `run-${++runs}.jsonl`);
  const run = await runCli(['exec', 'all', '-i', inventory, '--audit-log', log, ...args, '--', 'true'], { env: { SSH_AUTH_SOCK: '' } });
  return { run, log };
}

const logLines = (log: string) => readFileSync(log, 'utf8').split('\n').filter(Boolean);

/** An RFC 5424 message as drover sends it: facility log audit, severity info, the run id as MSGID. */
function parseSyslog(message: string): { msgid: string; line: string } {
  const match = /^<110>1 \d{4}-\d\d-\d\dT\S+Z \S+ drover-audit \d+ (\S+) - (.*)$/s.exec(message);
  expect(match, message.slice(0, 200)).to.not.equal(null);
  return { msgid: match![1]!, line: match![2]! };
}

describe('audit records copied off the controller as they are written (--audit-copy)', function () {
  this.timeout(300_000);

  before(() => {
    writeFileSync(inventory, 'all:\n  hosts:\n    u[1:3]:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('command:CMD gets every record on its stdin, byte for byte, and a signature made for the log verifies the copy', async () => {
    const copy = join(dir, 'copy.jsonl');
    const key = join(dir, 'key');
    expect(spawnSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-C', 'ops@drover.test', '-f', key, '-q']).status).to.equal(0);
    const { run, log } = await execRun(['--audit-copy', `command:cat > '${copy}'`, '--audit-sign-key', key]);
    expect(run.code, run.stdout + run.stderr).to.equal(4);
    expect(readFileSync(copy)).to.deep.equal(readFileSync(log));
    expect(logLines(log).length).to.be.greaterThan(5);
    // The copy kept elsewhere is checked against the signature as well as the original is.
    const allowed = join(dir, 'allowed_signers');
    writeFileSync(allowed, `ops@drover.test ${readFileSync(`${key}.pub`, 'utf8')}`);
    const openssh = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'ops@drover.test', '-n', 'drover-audit', '-s', `${log}.sig`], { input: readFileSync(copy) });
    expect(openssh.status, openssh.stderr.toString()).to.equal(0);
  });

  it('syslog://HOST:PORT sends each record as an RFC 5424 message over TCP with octet counting', async () => {
    const received: Buffer[] = [];
    const server: Server = createServer((socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const { run, log } = await execRun(['--audit-copy', `syslog://127.0.0.1:${port}`]);
      expect(run.code, run.stdout + run.stderr).to.equal(4);
      // RFC 6587 octet counting: "LENGTH SP MESSAGE", repeated.
      const stream = Buffer.concat(received);
      const messages: string[] = [];
      for (let at = 0; at < stream.length; ) {
        const space = stream.indexOf(0x20, at);
        const length = Number(stream.subarray(at, space).toString());
        messages.push(stream.subarray(space + 1, space + 1 + length).toString());
        at = space + 1 + length;
      }
      const parsed = messages.map(parseSyslog);
      expect(parsed.map((message) => message.line)).to.deep.equal(logLines(log));
      const runId = (JSON.parse(logLines(log)[0]!) as { runId: string }).runId;
      expect(new Set(parsed.map((message) => message.msgid))).to.deep.equal(new Set([runId]));
    } finally {
      server.close();
    }
  });

  it('syslog+udp://HOST:PORT sends one datagram per record', async () => {
    const received: string[] = [];
    const server = createSocket('udp4');
    server.on('message', (message) => received.push(message.toString()));
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    try {
      const { run, log } = await execRun(['--audit-copy', `syslog+udp://127.0.0.1:${server.address().port}`]);
      expect(run.code, run.stdout + run.stderr).to.equal(4);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(received.map((message) => parseSyslog(message).line)).to.deep.equal(logLines(log));
    } finally {
      server.close();
    }
  });

  it('refuses to start when a syslog server is unreachable or a destination is unknown: exit 1, no log, no host contacted', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const unreachable = await execRun(['--audit-copy', `syslog://127.0.0.1:${port}`]);
    expect(unreachable.run.code, unreachable.run.stderr).to.equal(1);
    expect(unreachable.run.stderr).to.include(`cannot connect to 127.0.0.1 port ${port} (ECONNREFUSED)`);
    expect(existsSync(unreachable.log)).to.equal(false);
    const unknown = await execRun(['--audit-copy', 'ftp://example.com/']);
    expect(unknown.run.code).to.equal(1);
    expect(unknown.run.stderr).to.include('not a destination drover knows');
    if (!existsSync('/dev/log')) {
      const noSyslog = await execRun(['--audit-copy', 'syslog']);
      expect(noSyslog.run.code).to.equal(1);
      expect(noSyslog.run.stderr).to.include('there is no syslog on this controller (/dev/log does not exist)');
    }
  });

  it('an ok run whose copy command fails ends with exit 5 and says so; the local log is whole', async () => {
    const log = join(dir, 'failing-copy.jsonl');
    // Every host logs in before a play: an ok run needs reachable hosts, here of the local connection (a dry
    // run of shell tasks, so nothing is sent to them).
    const local = join(dir, 'local.yaml');
    writeFileSync(local, 'all:\n  hosts:\n    l[1:3]:\n      ansible_connection: local\n');
    const run = await runCli([join(ROOT, 'test/fixtures/playbooks/fail-fast.ts'), '-i', local, '--check', '--audit-log', log, '--audit-copy', 'command:echo refusing >&2; exit 3']);
    expect(run.code, run.stdout + run.stderr).to.equal(5);
    expect(run.stderr).to.match(/audit copy to command:echo refusing >&2; exit 3 failed: the command exited with status 3: refusing/);
    // The report's last line said the run's own status (0); the last word says why the process exits 5.
    expect(run.stderr.trimEnd().split('\n').at(-1)).to.equal('drover: exit 5: the run itself ended with 0, but its audit trail is not whole (above)');
    const verify = await runCli(['audit', 'verify', log]);
    expect(verify.code, verify.stdout).to.equal(0);
  });
});
