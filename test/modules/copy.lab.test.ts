import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { copy, type CopyParams } from '../../modules/copy.ts';
import { planFileContent, SECRET_CONTENT } from '../../modules/lib/file-content.ts';
import { defineModule } from '../../runner/module.ts';
import { s } from '../../runner/schema.ts';
import { Secret } from '../../runner/secret.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { expectNoCanary, HOSTILE, readBack, removeScratchDir, scratchDirTarget, snapshot as snapshotOf } from '../support/file-test-support.ts';
import { planCommands } from '../support/plan-display.ts';
import { seededSampler } from '../support/seeded-random.ts';
import { applyModule, onHost, type LabTarget } from '../support/targets.ts';

const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

// ── On a real lab host ────────────────────────────────────────────────────────────────────────────

const ROOT = '/tmp/drover-test-files/copy';
const snapshot = (target: LabTarget) => snapshotOf(target, ROOT);

describe('copy on a lab host', function () {
  let target: LabTarget;
  before(async function () {
    target = await scratchDirTarget(this, ROOT, ['/tmp/pwned']);
  });
  after(async () => removeScratchDir(target, ROOT));

  it('writes, reads back, does nothing the second time, and check mode changes nothing', async () => {
    const params: CopyParams = { dest: `${ROOT}/a.conf`, content: 'a=1\nb=2\n', mode: '0640', owner: 'root', group: 'daemon' };
    const first = await applyModule(target, copy, params);
    expect(first.status, first.msg).to.equal('changed');
    expect(first.diffs).to.deep.equal([{ kind: 'file', path: `${ROOT}/a.conf`, before: null, after: 'a=1\nb=2\n' }]);
    expect(await readBack(target, `${ROOT}/a.conf`)).to.deep.equal({ content: 'a=1\nb=2\n', stat: '640 root daemon' });

    const again = await applyModule(target, copy, params);
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands.filter((command) => command.executed)).to.deep.equal([]);

    const before = await snapshot(target);
    const check = await applyModule(target, copy, { ...params, content: 'a=1\nb=3\n', mode: '0600' }, { check: true });
    expect(check.changed).to.equal(true);
    expect(check.diffs).to.deep.equal([{ kind: 'file', path: `${ROOT}/a.conf`, before: 'a=1\nb=2\n', after: 'a=1\nb=3\n' }]);
    expect(check.commands.every((command) => !command.executed)).to.equal(true);
    expect(await snapshot(target)).to.equal(before);
  });

  it('changes only the mode or owner of a file whose content is right', async () => {
    const path = `${ROOT}/meta.conf`;
    await applyModule(target, copy, { dest: path, content: 'x\n', mode: '0644' });
    const result = await applyModule(target, copy, { dest: path, content: 'x\n', mode: '0600', group: 'daemon' });
    expect(result.status).to.equal('changed');
    expect(result.diffs).to.deep.equal([
      { kind: 'value', name: `${path} mode`, before: '0644', after: '0600' },
      { kind: 'value', name: `${path} owner`, before: 'root:root', after: 'root:daemon' },
    ]);
    expect((await readBack(target, path)).stat).to.equal('600 root daemon');
  });

  it('keeps a timestamped backup and keeps the old mode when none is asked', async () => {
    const path = `${ROOT}/backed.conf`;
    await onHost(target, `printf 'old\\n' > ${path} && chmod 0604 ${path}`);
    const result = await applyModule(target, copy, { dest: path, content: 'new\n', backup: true });
    expect(result.status).to.equal('changed');
    expect(await readBack(target, path)).to.deep.equal({ content: 'new\n', stat: '604 root root' });
    const backups = await onHost(target, `for f in ${path}.*~; do cat "$f"; stat -c %a "$f"; done`);
    expect(backups.stdout).to.equal('old\n604\n');
  });

  it('predicts in check mode exactly what the real run does (seeded sample)', async () => {
    const { next: random, pick } = seededSampler(4242);
    for (let sample = 0; sample < 12; sample++) {
      const params: CopyParams = {
        dest: `${ROOT}/sample-${pick(['a', 'b'])}.conf`,
        content: pick(['one\n', 'two\n', 'one\n', '', 'x'.repeat(100)]),
        ...(random() < 0.5 ? { mode: pick(['0644', '0600', '0640']) } : {}),
        ...(random() < 0.3 ? { group: pick(['root', 'daemon']) } : {}),
      };
      await predictThenApply(target, copy, params, `sample ${sample}: ${JSON.stringify(params)}`);
    }
  });

  it('carries hostile strings in dest and content literally', async () => {
    for (const [index, hostile] of HOSTILE.entries()) {
      const path = `${ROOT}/h${index} ${hostile.replace(/\//g, '_')}`;
      const result = await applyModule(target, copy, { dest: path, content: `${hostile}\n` });
      expect(result.status, `${JSON.stringify(hostile)}: ${result.msg}`).to.equal('changed');
      expect((await readBack(target, path)).content).to.equal(`${hostile}\n`);
      expect((await applyModule(target, copy, { dest: path, content: `${hostile}\n` })).status).to.equal('ok');
    }
    await expectNoCanary(target);
  });

  it('writes a secret without showing it anywhere in the result', async () => {
    const path = `${ROOT}/token`;
    const result = await applyModule(target, copy, { dest: path, content: new Secret('s3cr3t-t0ken-value'), mode: '0600' });
    expect(result.status, result.msg).to.equal('changed');
    expect(JSON.stringify(result)).not.to.include('s3cr3t-t0ken-value');
    expect(result.diffs[0]).to.deep.include({ before: null, after: SECRET_CONTENT });
    expect((await readBack(target, path)).content).to.equal('s3cr3t-t0ken-value');
  });

  it('fails clearly when the directory does not exist or the owner is unknown', async () => {
    const missingDir = await applyModule(target, copy, { dest: `${ROOT}/no/such/dir/x`, content: 'x' });
    expect(missingDir.status).to.equal('failed');
    expect(missingDir.msg).to.equal(`cannot write ${ROOT}/no/such/dir/x: its directory ${ROOT}/no/such/dir does not exist`);
    expect(missingDir.failure?.hint).to.match(/createParents/);
    const badOwner = await applyModule(target, copy, { dest: `${ROOT}/x`, content: 'x', owner: 'drover-no-such-user' });
    expect(badOwner.status).to.equal('failed');
    expect(badOwner.msg).to.match(/user "drover-no-such-user" does not exist/);
    expect((await onHost(target, `test -e ${ROOT}/x`)).exitCode).to.equal(1);
  });

  it('leaves the old file or the new one, never half, and no temp file, when a write is cut off', async function () {
    this.timeout(120_000);
    // The real planner, its write command given a time limit far too short for 256 MiB.
    const slowCopy = defineModule({
      name: 'copy-with-timeout',
      summary: 'test only',
      params: s.object({ dest: s.string(), size: s.int(), timeoutMs: s.int() }),
      async plan(p, host) {
        const plan = await planFileContent({ path: p.dest, content: Buffer.alloc(p.size, 'n') }, host);
        for (const command of planCommands(plan)) command.timeoutMs = p.timeoutMs;
        return plan;
      },
    });
    const path = `${ROOT}/interrupted`;
    await onHost(target, `printf 'old content\\n' > ${path}`);
    const result = await applyModule(target, slowCopy, { dest: path, size: 256 * 1024 * 1024, timeoutMs: 300 });
    expect(result.status).to.equal('failed');
    expect(result.commands[0]?.timedOut).to.equal(true);
    // The command's traps run as it is stopped: wait until no process of it is left on the host (its
    // script names the destination; the bracket keeps this probe's own command line from matching).
    const gone = await onHost(target, `for i in $(seq 300); do pgrep -f '[/]${path.slice(1)}' >/dev/null || exit 0; sleep 0.1; done; exit 1`);
    expect(gone.exitCode, 'the cut-off write command is still running on the host after 30 s').to.equal(0);
    const after = await onHost(target, `sha256sum < ${path} | cut -d' ' -f1; ls -A ${ROOT} | grep -c '^\\.drover\\.' || true`);
    const [hash, temps] = after.stdout.trim().split('\n');
    expect([sha('old content\n'), sha(Buffer.alloc(256 * 1024 * 1024, 'n'))]).to.include(hash);
    expect(temps).to.equal('0');
  });
});
