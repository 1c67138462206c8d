/**
 * `audit merge` (issue 13 §4): the logs of one run's shards, made by real CLI runs (`exec --shard I/N` to
 * hosts that refuse the connection at once, so no lab is needed), joined into one log that verifies, keeps
 * each part provable, and detects a tampered or missing part. It starts the CLI some forty times, so it
 * runs in the second stage (*.e2e.test.ts).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closingFields, CLOSING_KIND, sealRecord, sha256 } from '../../../runner/audit/chain.ts';
import { wholeExitCode } from '../../../runner/audit/merge.ts';
import { originalLine } from '../../../runner/audit/merged-parts.ts';
import { shardOf } from '../../../runner/cli/shard.ts';
import { runCli } from '../../support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'drover-audit-merge-'));
const inventory = join(dir, 'inventory.yaml');
const part = (name: string) => join(dir, `${name}.jsonl`);
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const records = (path: string) => lines(path).map((line) => JSON.parse(line) as Record<string, unknown>);
let outputs = 0;
const output = () => join(dir, `merged-${++outputs}.jsonl`);

function write(name: string, content: string[]): string {
  writeFileSync(part(name), content.map((line) => `${line}\n`).join(''));
  return part(name);
}

/** A log whose records were changed and then every hash recomputed, as a forger who knows the format would. */
function resealed(log: Array<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const record of log) {
    const { seq: _seq, prev: _prev, hash: _hash, ...body } = record;
    // The closing record's count and head are recomputed; a part's shard-end keeps its own.
    if (body.kind === CLOSING_KIND) {
      delete body.records;
      delete body.head;
    }
    const seq = out.length + 1;
    out.push(sealRecord(seq, out[seq - 2], body.kind === CLOSING_KIND ? { ...body, ...closingFields(seq, out[seq - 2]) } : body));
  }
  return out;
}

async function shardRun(name: string, index: number, count: number, extra: string[] = []) {
  const run = await runCli(['exec', 'all', '-i', inventory, '--shard', `${index}/${count}`, '--audit-log', part(name), ...extra, '--', 'true']);
  return run;
}

describe('audit merge', function () {
  this.timeout(300_000);

  before(async () => {
    // Port 9 on localhost refuses at once: every host is unreachable (exit 4), and each run writes a whole log.
    writeFileSync(inventory, 'all:\n  hosts:\n    u[1:9]:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n');
    for (const index of [1, 2, 3]) {
      const run = await shardRun(`p${index}`, index, 3);
      expect(run.code, run.stdout + run.stderr).to.equal(4);
    }
  });

  it('shards split the hosts exactly, each run-start naming its part of the whole selection', () => {
    const starts = [1, 2, 3].map((index) => records(part(`p${index}`))[0]!);
    const hosts = starts.flatMap((start) => start.hosts as string[]);
    expect([...hosts].sort()).to.deep.equal(['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9']);
    for (const [position, start] of starts.entries()) {
      expect(start.shard).to.deep.include({ index: position + 1, count: 3, selectedHosts: 9, hosts: (start.hosts as string[]).length });
      expect((start.shard as { selectedDigest: string }).selectedDigest).to.equal(sha256(['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9'].join('\n')));
      for (const host of start.hosts as string[]) expect(shardOf(host, 3)).to.equal(position + 1);
    }
  });

  it('joins the parts into one log that verifies, keeping each part provable, with the whole exit status', async () => {
    const merged = output();
    // Given out of order: the merged log holds them by shard.
    const merge = await runCli(['audit', 'merge', part('p3'), part('p1'), part('p2'), '-o', merged]);
    expect(merge.code, merge.stdout + merge.stderr).to.equal(4);
    expect(merge.stdout).to.match(/shard 1\/3: p1\.jsonl, intact, \d+ records/);
    expect(merge.stdout).to.include('whole run: exit 4 (hosts unreachable)');
    const verify = await runCli(['audit', 'verify', merged]);
    expect(verify.code, verify.stdout).to.equal(0);
    expect(verify.stdout).to.match(/intact, \d+ records/);

    const log = records(merged);
    const head = log[0]!;
    expect(head).to.include({ kind: 'merge', shardCount: 3, selectedHosts: 9, exitCode: 4 });
    expect(head.missing).to.deep.equal([]);
    const parts = head.parts as Array<Record<string, unknown>>;
    expect(parts.map((p) => p.shard)).to.deep.equal([1, 2, 3]);
    for (const summary of parts) expect(summary.signature).to.deep.equal({ status: 'missing' });
    for (const [position, summary] of parts.entries()) {
      const file = part(`p${position + 1}`);
      const own = records(file);
      const closing = own[own.length - 1]!;
      expect(summary).to.include({ file: `p${position + 1}.jsonl`, sha256: sha256(readFileSync(file, 'utf8')), records: own.length, head: closing.head, closingHash: closing.hash, verdict: 'intact', exitCode: 4 });
      // Each original line, byte for byte, from its re-sealed record's source fields.
      const rebuilt = log.filter((record) => (record.source as { shard?: number } | undefined)?.shard === position + 1).map(originalLine);
      expect(rebuilt).to.deep.equal(lines(file));
    }
    const end = log[log.length - 1]!;
    expect(end).to.include({ kind: 'run-end', exitCode: 4, merged: true, records: log.length, head: log[log.length - 2]!.hash });
    expect((end.recap as Array<{ host: string }>).map((line) => line.host).sort()).to.deep.equal(['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9']);
    // Only the last record closes the merged log; the parts' closing records are renamed.
    expect(log.filter((record) => record.kind === 'run-end')).to.have.length(1);
    expect(log.filter((record) => record.kind === 'shard-end')).to.have.length(3);
    expect((await runCli(['audit', 'show', merged])).code).to.equal(0);
  });

  it('refuses to go on with a shard missing, and with --allow-missing writes a log that verifies incomplete naming it', async () => {
    const refused = output();
    const merge = await runCli(['audit', 'merge', part('p1'), part('p3'), '-o', refused]);
    expect(merge.code).to.equal(1);
    expect(merge.stderr).to.match(/shard\(s\) 2 of 3 missing: .*--allow-missing.*nothing was written/);
    expect(existsSync(refused)).to.equal(false);

    const merged = output();
    const allowed = await runCli(['audit', 'merge', part('p1'), part('p3'), '-o', merged, '--allow-missing']);
    expect(allowed.code, allowed.stdout + allowed.stderr).to.equal(3);
    expect(allowed.stdout).to.include('shard 2/3: MISSING');
    const verify = await runCli(['audit', 'verify', merged]);
    expect(verify.code, verify.stdout).to.equal(3);
    expect(verify.stdout).to.match(/INCOMPLETE .*shard\(s\) 2 of 3 missing/);
    expect(records(merged).at(-1)).to.include({ exitCode: 3 });
  });

  it('refuses a part that is broken or incomplete, naming the file and the verdict', async () => {
    const good = lines(part('p2'));
    const edited = write(
      'p2-edited',
      good.map((line, index) => (index === 1 ? line.replace(/"u\d"/, '"u99"') : line)),
    );
    const cut = write('p2-cut', good.slice(0, -1));
    for (const [file, verdict] of [
      [edited, /BROKEN at record 2/],
      [cut, /INCOMPLETE/],
    ] as const) {
      const merge = await runCli(['audit', 'merge', part('p1'), file, part('p3'), '-o', output()]);
      expect(merge.code, merge.stdout).to.equal(1);
      expect(merge.stderr).to.include(`${file} cannot be merged`);
      expect(merge.stderr).to.match(verdict);
    }
  });

  it('refuses a shard given twice, parts of different runs, and a log that is not a shard', async () => {
    const twice = await runCli(['audit', 'merge', part('p1'), part('p2'), part('p2'), part('p3'), '-o', output()]);
    expect(twice.code).to.equal(1);
    expect(twice.stderr).to.match(/shard 2\/3 is given twice/);

    // Another selection (a --limit), another N, another mode, no shard at all.
    expect((await shardRun('limited', 2, 3, ['--limit', 'u1:u2:u3:u4:u5'])).code).to.equal(4);
    expect((await shardRun('n4', 2, 4)).code).to.equal(4);
    const unsharded = await runCli(['exec', 'all', '-i', inventory, '--audit-log', part('whole'), '--', 'true']);
    expect(unsharded.code).to.equal(4);
    const cases: Array<[string, RegExp]> = [
      [part('limited'), /not a part of the same run .*--limit is "u1:u2:u3:u4:u5" where p1\.jsonl has \(not set\).*selected-host count is 5 where p1\.jsonl has 9/],
      [part('n4'), /not a part of the same run .*shard count N is 4 where p1\.jsonl has 3/],
      [part('whole'), /is not the log of a shard: .*--shard I\/N/],
    ];
    for (const [file, message] of cases) {
      const merge = await runCli(['audit', 'merge', part('p1'), file, part('p3'), '-o', output()]);
      expect(merge.code, file).to.equal(1);
      expect(merge.stderr).to.match(message);
    }
  });

  it('detects a merged log that was changed and re-sealed: a part record edited, a part dropped', async () => {
    const merged = output();
    expect((await runCli(['audit', 'merge', part('p1'), part('p2'), part('p3'), '-o', merged])).code).to.equal(4);
    const log = records(merged);
    // The forger's tool itself: re-sealing the log unchanged gives a log that verifies.
    expect((await runCli(['audit', 'verify', write('resealed-unchanged', resealed(log))])).code).to.equal(0);
    const partRecord = log.findIndex((record) => (record.source as { shard?: number } | undefined)?.shard === 2 && record.kind === 'host-unreachable');
    const tampered: Array<[string, Array<Record<string, unknown>>, RegExp]> = [
      ['a part record edited', log.map((record, index) => (index === partRecord ? { ...record, message: 'all fine' } : record)), /shard 2's record \d+ does not hash to its source hash/],
      ['a part record removed', log.filter((_, index) => index !== partRecord), /shard 2's record has source seq|source prev does not match/],
      ['a whole part dropped', log.filter((record) => (record.source as { shard?: number } | undefined)?.shard !== 2), /part of shard 2 .* is not whole/],
      [
        'a whole part dropped and the merge record rewritten',
        log.filter((record) => (record.source as { shard?: number } | undefined)?.shard !== 2).map((record, index) => (index === 0 ? { ...record, parts: (record.parts as Array<{ shard: number }>).filter((p) => p.shard !== 2) } : record)),
        /are not shards 1 to 3/,
      ],
    ];
    for (const [what, changed, problem] of tampered) {
      const file = write(`tampered-${what.replace(/\W+/g, '-')}`, resealed(changed));
      const verify = await runCli(['audit', 'verify', file]);
      expect(verify.code, `${what}: ${verify.stdout}`).to.equal(1);
      expect(verify.stdout, what).to.match(/BROKEN/);
      expect(verify.stdout, what).to.match(problem);
    }
  });

  it('an empty shard warns and exits 0, and its log still counts as a part', async () => {
    writeFileSync(join(dir, 'one.yaml'), 'all:\n  hosts:\n    solo:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n');
    const home = shardOf('solo', 2);
    const empty = 3 - home;
    const runs = await Promise.all([home, empty].map((index) => runCli(['exec', 'all', '-i', join(dir, 'one.yaml'), '--shard', `${index}/2`, '--audit-log', part(`solo${index}`), '--', 'true'])));
    expect(runs[0]!.code).to.equal(4);
    expect(runs[1]!.code, runs[1]!.stdout + runs[1]!.stderr).to.equal(0);
    expect(runs[1]!.stdout).to.match(new RegExp(`shard ${empty}/2 holds none of the 1 selected host\\(s\\): nothing to do here`));
    expect(records(part(`solo${empty}`))[0]!.shard).to.deep.include({ index: empty, count: 2, selectedHosts: 1, hosts: 0 });
    const merged = output();
    const merge = await runCli(['audit', 'merge', part('solo1'), part('solo2'), '-o', merged]);
    expect(merge.code, merge.stdout + merge.stderr).to.equal(4);
    expect((await runCli(['audit', 'verify', merged])).code).to.equal(0);
  });

  it('shards a playbook run after --limit, and refuses to merge shards of another playbook', async () => {
    const playbook = (name: string) => join(import.meta.dirname, '../../fixtures/playbooks', name);
    const limit = ['--limit', 'u1:u2:u3:u4:u5', '--check'];
    const runs = await Promise.all([
      runCli([playbook('tagged.ts'), '-i', inventory, '--shard', '1/2', '--audit-log', part('book1'), ...limit]),
      runCli([playbook('tagged.ts'), '-i', inventory, '--shard', '2/2', '--audit-log', part('book2'), ...limit]),
      runCli([playbook('fail-fast.ts'), '-i', inventory, '--shard', '2/2', '--audit-log', part('other2'), ...limit]),
    ]);
    for (const run of runs) expect(run.code, run.stdout + run.stderr).to.be.oneOf([0, 4]);
    const starts = [part('book1'), part('book2')].map((file) => records(file)[0]!);
    expect(starts.flatMap((start) => start.hosts as string[]).sort()).to.deep.equal(['u1', 'u2', 'u3', 'u4', 'u5']);
    for (const start of starts) expect(start.shard).to.deep.include({ count: 2, selectedHosts: 5 });
    const merged = output();
    const merge = await runCli(['audit', 'merge', part('book1'), part('book2'), '-o', merged]);
    expect(merge.code, merge.stdout + merge.stderr).to.be.oneOf([0, 4]);
    expect((await runCli(['audit', 'verify', merged])).code).to.equal(0);
    const other = await runCli(['audit', 'merge', part('book1'), part('other2'), '-o', output()]);
    expect(other.code).to.equal(1);
    expect(other.stderr).to.match(/not a part of the same run .*playbook sha256/);
  });

  it('refuses shards of runs that ran another command, other extra variables or other tags', async () => {
    const playbook = join(import.meta.dirname, '../../fixtures/playbooks/tagged.ts');
    const book = (name: string, index: number, extra: string[]) => runCli([playbook, '-i', inventory, '--check', '--shard', `${index}/2`, '--audit-log', part(name), ...extra]);
    const runs = await Promise.all([
      runCli(['exec', 'all', '-i', inventory, '--shard', '1/2', '--audit-log', part('cmd1'), '--', 'hostname']),
      runCli(['exec', 'all', '-i', inventory, '--shard', '2/2', '--audit-log', part('cmd2'), '--', 'echo a different command']),
      book('port1', 1, ['-e', 'app_port=80']),
      book('port2', 2, ['-e', 'app_port=9999']),
      book('tags2', 2, ['-e', 'app_port=80', '--tags', 'nothing']),
    ]);
    for (const run of runs) expect(run.code, run.stdout + run.stderr).to.be.oneOf([0, 4]);
    const cases: Array<[string, string, string]> = [
      [part('cmd1'), part('cmd2'), 'its command (after --) is "echo a different command" where cmd1.jsonl has "hostname"'],
      [part('port1'), part('port2'), 'its extra variable app_port is "9999" where port1.jsonl has "80"'],
      [part('port1'), part('tags2'), 'its --tags is ["nothing"] where port1.jsonl has []'],
    ];
    for (const [first, second, field] of cases) {
      const merged = output();
      const merge = await runCli(['audit', 'merge', first, second, '-o', merged]);
      expect(merge.code, merge.stdout + merge.stderr).to.equal(1);
      expect(merge.stderr).to.include(`${second} is not a part of the same run as ${first}: ${field}`);
      expect(merge.stderr).to.match(/run the odd shard again that way.*; nothing was written/);
      expect(existsSync(merged)).to.equal(false);
    }
  });

  it("records each signed part's signer, and refuses a part whose signature does not match it", async () => {
    const key = join(dir, 'signer');
    const made = spawnSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-C', 'ops@example.com', '-f', key, '-q'], { encoding: 'utf8', timeout: 60_000 });
    expect(made.status, made.stderr).to.equal(0);
    for (const index of [1, 2]) {
      const run = await runCli(['exec', 'all', '-i', inventory, '--shard', `${index}/2`, '--audit-log', part(`signed${index}`), '--audit-sign-key', key, '--', 'true']);
      expect(run.code, run.stdout + run.stderr).to.equal(4);
      expect(existsSync(`${part(`signed${index}`)}.sig`)).to.equal(true);
    }
    const merged = output();
    const merge = await runCli(['audit', 'merge', part('signed1'), part('signed2'), '-o', merged]);
    expect(merge.code, merge.stdout + merge.stderr).to.equal(4);
    const fingerprint = spawnSync('ssh-keygen', ['-l', '-f', `${key}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1]!;
    expect(merge.stdout).to.include(`shard 1/2: signed1.jsonl, intact`);
    expect(merge.stdout).to.include(`signed by ED25519 key ${fingerprint} (signature matches)`);
    const parts = records(merged)[0]!.parts as Array<{ signature: { status: string; signer?: string } }>;
    for (const summary of parts) expect(summary.signature.status).to.equal('unchecked');
    expect(parts[0]!.signature.signer).to.equal(`ED25519 key ${fingerprint}`);

    // Shard 1's signature put beside shard 2's log: the signature no longer matches, and the merge refuses.
    const swapped = write('signed2-swapped', lines(part('signed2')));
    copyFileSync(`${part('signed1')}.sig`, `${swapped}.sig`);
    const refused = await runCli(['audit', 'merge', part('signed1'), swapped, '-o', output()]);
    expect(refused.code, refused.stdout).to.equal(1);
    expect(refused.stderr).to.include(`${swapped} cannot be merged`);
  });

  it('never overwrites the merged log', async () => {
    const merged = output();
    writeFileSync(merged, 'keep\n');
    const merge = await runCli(['audit', 'merge', part('p1'), part('p2'), part('p3'), '-o', merged]);
    expect(merge.code).to.equal(1);
    expect(merge.stderr).to.match(/cannot write .*EEXIST/);
    expect(readFileSync(merged, 'utf8')).to.equal('keep\n');
  });

  it('takes the whole exit status from the parts: failed (2, 130, 143) over missing (3) over unreachable (4) over drift (6) over ok', () => {
    expect(wholeExitCode([0, 0, 0], 0)).to.equal(0);
    expect(wholeExitCode([0, 4, 0], 0)).to.equal(4);
    expect(wholeExitCode([4, 2, 0], 0)).to.equal(2);
    expect(wholeExitCode([0, 130], 0)).to.equal(2);
    expect(wholeExitCode([143, 4], 1)).to.equal(2);
    expect(wholeExitCode([0, 4], 1)).to.equal(3);
    expect(wholeExitCode([0], 1)).to.equal(3);
    expect(wholeExitCode([0, 6, 0], 0)).to.equal(6);
    expect(wholeExitCode([6, 4], 0)).to.equal(4);
    expect(wholeExitCode([6, 2], 0)).to.equal(2);
    expect(wholeExitCode([6], 1)).to.equal(3);
    expect(wholeExitCode([0, 5], 0)).to.equal(2);
  });
});
