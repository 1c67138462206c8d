/**
 * Issue 8 item 16: `audit verify` and `audit show` must not call a log intact unless it ends with its
 * closing record. The log is a real one, written by a real `exec` run (to hosts that refuse the connection,
 * so no lab is needed); each case cuts or forges it and asks the real CLI.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealRecord } from '../../runner/audit/chain.ts';
import { runCli } from '../support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'drover-faults-audit-'));
let lines: string[] = [];

function logFile(name: string, content: string[]): string {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, content.map((line) => `${line}\n`).join(''));
  return path;
}

/** A record appended after the last one, chained exactly as the writer would chain it. */
function forgedAppend(log: string[]): string[] {
  const last = log[log.length - 1]!;
  const seq = (JSON.parse(last) as { seq: number }).seq + 1;
  return [...log, sealRecord(seq, last, { kind: 'task', runId: 'forged', host: 'u1', task: 'cover tracks', status: 'ok' })];
}

/** The closing record re-sealed (chain intact) with a record count that does not match the log. */
function forgedCount(log: string[]): string[] {
  const body = JSON.parse(log[log.length - 1]!) as Record<string, unknown>;
  delete body.seq;
  delete body.prev;
  delete body.hash;
  return [...log.slice(0, -1), sealRecord(log.length, log[log.length - 2], { ...body, records: log.length + 3 })];
}

describe('faults: audit log completeness (issue 8 item 16)', function () {
  this.timeout(180_000);

  before(async () => {
    const inventory = join(dir, 'inventory.yaml');
    // Port 9 on localhost refuses at once: every host is unreachable, and the run still writes a whole log.
    writeFileSync(inventory, 'all:\n  hosts:\n    u[1:6]:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n');
    const path = join(dir, 'run.jsonl');
    const run = await runCli(['exec', 'all', '-i', inventory, '--audit-log', path, '--', 'true']);
    expect(run.code, run.stdout + run.stderr).to.equal(4);
    lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    expect(lines.length).to.be.greaterThan(6);
  });

  it('calls a whole log intact (exit 0), its closing record carrying the record count and the chain head', async () => {
    const closing = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
    const before = JSON.parse(lines[lines.length - 2]!) as Record<string, unknown>;
    expect(closing).to.include({ kind: 'run-end', records: lines.length, head: before.hash });
    const verify = await runCli(['audit', 'verify', logFile('whole', lines)]);
    expect(verify.code, verify.stdout).to.equal(0);
    expect(verify.stdout).to.match(/intact, \d+ records/);
    expect((await runCli(['audit', 'show', logFile('whole', lines)])).code).to.equal(0);
  });

  const incomplete: Array<[string, (log: string[]) => string[]]> = [
    ['a log missing its last record', (log) => log.slice(0, -1)],
    ['a log missing its last five records', (log) => log.slice(0, -5)],
    ['a log of only its first record', (log) => log.slice(0, 1)],
    ['an empty file', () => []],
  ];
  for (const [what, cut] of incomplete) {
    it(`reports ${what} as incomplete (exit 3), in verify and in show`, async () => {
      const path = logFile(what.replace(/\W+/g, '-'), cut(lines));
      const verify = await runCli(['audit', 'verify', path]);
      expect(verify.code, verify.stdout).to.equal(3);
      expect(verify.stdout).to.include('INCOMPLETE');
      expect(verify.stdout).to.not.include('intact');
      const show = await runCli(['audit', 'show', path]);
      expect(show.code, show.stdout).to.equal(3);
      expect(show.stdout).to.match(/chain: INCOMPLETE/);
    });
  }

  const broken: Array<[string, (log: string[]) => string[], RegExp]> = [
    ['a correctly chained record appended after the closing record', forgedAppend, /BROKEN at record \d+.*follows the closing record/],
    ['a closing record whose record count does not match the log', forgedCount, /BROKEN at record \d+.*closing record's count and head/],
  ];
  for (const [what, forge, message] of broken) {
    it(`reports ${what} as broken (exit 1), in verify and in show`, async () => {
      const path = logFile(what.replace(/\W+/g, '-'), forge(lines));
      const verify = await runCli(['audit', 'verify', path]);
      expect(verify.code, verify.stdout).to.equal(1);
      expect(verify.stdout).to.match(message);
      expect((await runCli(['audit', 'show', path])).code).to.equal(1);
    });
  }

  it('gives the worst status of several logs, and documents the statuses in audit --help', async () => {
    const whole = logFile('several-whole', lines);
    const cut = logFile('several-cut', lines.slice(0, -1));
    const forged = logFile('several-forged', forgedAppend(lines));
    expect((await runCli(['audit', 'verify', whole, cut])).code).to.equal(3);
    const all = await runCli(['audit', 'verify', whole, cut, forged]);
    expect(all.code).to.equal(1);
    expect(all.stdout.trim().split('\n')).to.have.length(3);
    const help = await runCli(['audit', '--help']);
    expect(help.stdout).to.match(/3 a log incomplete/);
    expect(help.stdout).to.match(/closing/);
  });
});
