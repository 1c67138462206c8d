/**
 * Issue 8, secrets (items 6–10): secrets at the edges, tried against a real lab host over real SSH through
 * the real CLI, with the host read back by the plain OpenSSH client, and a run-wide count of every secret
 * value (and every 10-character piece of one) found in the run's audit log, stdout and stderr.
 *
 * Item 6 samples /proc/[0-9]*\/cmdline and /proc/[0-9]*\/environ on the host in a loop while the playbook runs;
 * the sampler reads the values it looks for from files (a pattern on its own command line would find itself).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MASK, Redactor, secret } from '../../runner/secret.ts';
import { CappedOutput } from '../../runner/transport/capped-output.ts';
import { describeOnLab, onHost, type LabTarget } from '../support/targets.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PLAYBOOK = join(ROOT, 'test/faults/fixtures/secrets-playbook.ts');
const DIR = '/tmp/drover-secrets8';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  auditPath: string;
}

/** Runs `node --import tsx run.ts …` as an operator would, with its own audit log. */
function drover(args: string[], env: Record<string, string> = {}, withAudit = true): Promise<CliRun> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'drover-secrets8-audit-')), 'audit.jsonl');
  return new Promise((resolveRun, reject) => {
    const argv = withAudit ? [...args, '--audit-log', auditPath] : args;
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'run.ts'), ...argv], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr, auditPath }));
    child.stdin.end('');
  });
}

function oneHostInventory(target: LabTarget): string {
  const text = `all:\n  vars:\n    drover_known_hosts_file: ${target.knownHostsPath}\n  hosts:\n    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${target.keyPath}\n`;
  const path = join(mkdtempSync(join(tmpdir(), 'drover-secrets8-inv-')), 'inventory.yaml');
  writeFileSync(path, text);
  return path;
}

/** A kubeadm-style token (6.16 lowercase hex) that has both letters and digits. */
function joinToken(): string {
  for (;;) {
    const token = `${randomBytes(3).toString('hex')}.${randomBytes(8).toString('hex')}`;
    if (/[a-f]/.test(token) && /[0-9]/.test(token)) return token;
  }
}

/** Every piece of `value` of `length` characters (the whole value when shorter). */
function pieces(value: string, length = 10): string[] {
  if (value.length <= length) return [value];
  return Array.from({ length: value.length - length + 1 }, (_, index) => value.slice(index, index + length));
}

/** How many of the values (or their 10-character pieces) occur in the text, naming each one found by its label. */
function leaks(text: string, values: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [label, value] of Object.entries(values)) {
    const piece = pieces(value).find((item) => text.includes(item));
    if (piece !== undefined) found.push(`${label} (${JSON.stringify(piece)})`);
  }
  return found;
}

/**
 * Samples every process's argv and environment on the host until `${DIR}/stop` exists (at most 240 s):
 * per sample, whether the `marker` file's line is in some argv (the command under test runs), whether
 * a line of `cmdline-secrets` is in some argv, and whether a line of `environ-secrets` is in some environment.
 */
const SAMPLER = `cd ${DIR} || exit 1
n=0; m=0; a=0; e=0; end=$(( $(date +%s) + 240 ))
: > started
while [ ! -e stop ] && [ "$(date +%s)" -lt "$end" ]; do
  n=$((n + 1))
  args=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n')
  if printf '%s\\n' "$args" | grep -q -F -f marker; then m=$((m + 1)); fi
  if printf '%s\\n' "$args" | grep -q -F -f cmdline-secrets; then a=$((a + 1)); fi
  if cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -q -F -f environ-secrets; then e=$((e + 1)); fi
done
echo "samples=$n marker=$m cmdline=$a environ=$e"`;

interface Samples {
  samples: number;
  marker: number;
  cmdline: number;
  environ: number;
}

describe('faults: secrets (issue 8 items 6-10)', () => {
  describe('in process', () => {
    it('item 7: masks a secret the output cap cut through (its first characters are left before the note)', () => {
      const token = joinToken();
      const redactor = new Redactor();
      redactor.add(secret(token));
      const output = new CappedOutput(100);
      output.push(Buffer.from(`${'a'.repeat(95)}${token}and more`));
      const shown = redactor.redact(output.text());
      expect(shown, 'the cap must have cut through the token, or this proves nothing').to.include('output truncated');
      expect(shown).to.not.include(token.slice(0, 5));
      expect(shown).to.include(`${'a'.repeat(95)}${MASK}`);
    });

    it('item 7: masks a secret that arrives in two stream chunks', () => {
      const token = joinToken();
      const redactor = new Redactor();
      redactor.add(secret(token));
      const output = new CappedOutput(1000);
      output.push(Buffer.from(`join ${token.slice(0, 9)}`));
      output.push(Buffer.from(`${token.slice(9)} done\n`));
      expect(redactor.redact(output.text())).to.equal(`join ${MASK} done\n`);
    });
  });

  describe('item 9: inventory --list', () => {
    it('masks password variables whatever their type: list, mapping, number, boolean, nested', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'drover-secrets8-inv-'));
      const path = join(dir, 'inventory.yaml');
      const values = { list1: 'listpw-7Qx9Rk2m', list2: 'listpw-4Hc8Zt1v', object: 'objpw-9Lm3Wq6e', deep: 'deeppw-2Ks7Np5d', nested: 'nestedpw-8Vb4Jy3u', number: '918273645' };
      writeFileSync(
        path,
        [
          'all:',
          '  hosts:',
          '    h1:',
          '      ansible_host: 10.9.8.7',
          `      ansible_password: [${values.list1}, ${values.list2}]`,
          `      ansible_become_password: { first: ${values.object}, more: [${values.deep}] }`,
          `      ssh_password: ${values.number}`,
          '      become_password: true',
          '      creds:',
          `        ansible_ssh_pass: ${values.nested}`,
          '        user: deploy',
          '',
        ].join('\n'),
      );
      const run = await drover(['inventory', '-i', path, '--list'], {}, false);
      expect(run.code, run.stderr).to.equal(0);
      expect(leaks(run.stdout + run.stderr, values)).to.deep.equal([]);
      const vars = (JSON.parse(run.stdout) as { _meta: { hostvars: Record<string, Record<string, unknown>> } })._meta.hostvars.h1!;
      expect(vars.ansible_password).to.deep.equal([MASK, MASK]);
      expect(vars.ansible_become_password).to.deep.equal({ first: MASK, more: [MASK] });
      expect(vars.ssh_password).to.equal(MASK);
      expect(vars.become_password).to.equal(MASK);
      expect(vars.creds).to.deep.equal({ ansible_ssh_pass: MASK, user: 'deploy' });
      expect(vars.ansible_host).to.equal('10.9.8.7');
    });
  });

  describeOnLab('against a lab host over SSH (items 6, 7, 8, 10 and the run-wide count)', 1, (targets) => {
    const secrets = {
      argv: `argv-${randomBytes(9).toString('hex')}`,
      env: `env-${randomBytes(9).toString('hex')}`,
      token: joinToken(),
      chunked: joinToken(),
      join: joinToken(),
      pem: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    const joinLine = `kubeadm join 10.0.0.1:6443 --token ${secrets.join} --discovery-token-ca-cert-hash sha256:${randomBytes(32).toString('hex')}`;
    /** What must appear nowhere: each secret, the join command, and each base64 line of the key. */
    const forbidden: Record<string, string> = {
      'argv secret': secrets.argv,
      'env secret': secrets.env,
      'cut token': secrets.token,
      'chunked token': secrets.chunked,
      'join token': secrets.join,
      'join command': joinLine,
      ...Object.fromEntries(
        secrets.pem
          .split('\n')
          .filter((line) => line !== '' && !line.startsWith('-----'))
          .map((line, index) => [`pem line ${index + 1}`, line]),
      ),
    };
    let run: CliRun;
    let samples: Samples;
    let target: LabTarget;

    before(async function () {
      this.timeout(600_000);
      target = targets()[0]!;
      const setup = await onHost(
        target,
        `rm -rf ${DIR} && mkdir -p ${DIR} && cd ${DIR} && cat > all && sed -n 1p all > marker && sed -n 2,3p all > cmdline-secrets && sed -n 3p all > environ-secrets && sed -n '4,$p' all > join.txt && rm all`,
        ['drover-secrets8-env', secrets.argv, secrets.env, 'root', 'true', '/etc', joinLine, ''].join('\n'),
      );
      expect(setup.exitCode, setup.stderr).to.equal(0);
      const sampler = onHost(target, SAMPLER);
      // The sampler must be looking before the first task starts.
      for (let waited = 0; (await onHost(target, `test -e ${DIR}/started`)).exitCode !== 0; waited += 200) {
        if (waited > 60_000) throw new Error('the sampler did not start on the host');
        await new Promise((done) => setTimeout(done, 200));
      }
      run = await drover([PLAYBOOK, '-i', oneHostInventory(target)], {
        SECRETS8_ARGV: secrets.argv,
        SECRETS8_ENV: secrets.env,
        SECRETS8_PEM: secrets.pem,
        SECRETS8_TOKEN: secrets.token,
        SECRETS8_CHUNKED: secrets.chunked,
      });
      await onHost(target, `touch ${DIR}/stop`);
      const report = (await sampler).stdout.trim();
      const match = /^samples=(\d+) marker=(\d+) cmdline=(\d+) environ=(\d+)$/.exec(report);
      if (!match) throw new Error(`the sampler said: ${report}`);
      samples = { samples: Number(match[1]), marker: Number(match[2]), cmdline: Number(match[3]), environ: Number(match[4]) };
      console.log(`      sampler on ${target.name}: ${report}`);
    });

    after(async () => {
      if (target) await onHost(target, `rm -rf ${DIR}`);
    });

    function audit(): string {
      return readFileSync(run.auditPath, 'utf8');
    }

    function auditRecord(task: string): Record<string, unknown> {
      const line = audit()
        .trim()
        .split('\n')
        .map((text) => JSON.parse(text) as Record<string, unknown>)
        .find((record) => record.task === task);
      if (!line) throw new Error(`no audit record for task ${task}`);
      return line;
    }

    it('runs to the end, with a closing record in the audit log', () => {
      expect(run.stdout, run.stderr).to.include('RECAP');
      expect(audit()).to.include('"kind":"run-end"');
    });

    it('item 6: refuses a secret as a program argument, saying to use env or stdin, and it reaches no process list', () => {
      const record = auditRecord('secret in argv');
      expect(record.status).to.equal('failed');
      expect(String(record.msg)).to.match(/cannot be a program argument.*env.*stdin/s);
      expect(run.stdout).to.match(/cannot be a program argument/);
      expect(samples.samples, 'the sampler must have run throughout').to.be.greaterThan(20);
      expect(samples.marker, 'the env command must have been seen running, or the sampling proves nothing').to.be.greaterThan(0);
      expect(samples.cmdline, `argv or env secret seen in /proc/PID/cmdline in ${samples.cmdline} of ${samples.samples} samples`).to.equal(0);
    });

    it('item 6: a secret in env reaches the command and no argv, and shows in /proc/PID/environ to root (as the README says)', async () => {
      expect(auditRecord('secret in env').status).to.equal('changed');
      const sum = await onHost(target, `cat ${DIR}/env.sum`);
      expect(sum.stdout.split(' ')[0]).to.equal(createHash('sha256').update(secrets.env).digest('hex'));
      expect(samples.environ, "root reads a command's environment: the README says so").to.be.greaterThan(0);
    });

    it('item 10: a multi-line secret (an RSA PEM key) in env reaches the command byte for byte', async () => {
      expect(auditRecord('pem in env').status, String(auditRecord('pem in env').msg)).to.equal('changed');
      const key = await onHost(target, `cat ${DIR}/key.pem`);
      expect(key.stdout).to.equal(secrets.pem);
      expect(secrets.pem.split('\n').length).to.be.greaterThan(20);
    });

    it('item 10: the key, echoed whole or in part, is masked in the audit log and the terminal', () => {
      const whole = auditRecord('pem in env');
      expect(String(whole.stderrTail)).to.include(MASK);
      const part = auditRecord('part of the pem');
      expect(part.status).to.equal('failed');
      expect(String(part.msg)).to.include(MASK);
      const pemLines = Object.fromEntries(Object.entries(forbidden).filter(([label]) => label.startsWith('pem line')));
      expect(leaks(audit(), pemLines)).to.deep.equal([]);
      expect(leaks(run.stdout + run.stderr, pemLines)).to.deep.equal([]);
    });

    it('item 7: a cut through a secret (audit stderr tail at 2000, failure message at 4000) leaves no piece of it', () => {
      const token = { token: secrets.token };
      const at2000 = auditRecord('cut at 2000');
      expect(String(at2000.stderrTail).length, 'the audit tail is cut to 2000 characters').to.be.at.most(2000);
      expect(String(at2000.stderrTail)).to.not.include(secrets.token.slice(-10));
      const at4000 = auditRecord('cut at 4000');
      expect(String(at4000.msg)).to.not.include(secrets.token.slice(-10));
      expect(run.stdout).to.not.include(secrets.token.slice(-10));
      expect(leaks(audit(), token)).to.deep.equal([]);
      expect(leaks(run.stdout + run.stderr, token)).to.deep.equal([]);
    });

    it('item 7: a secret printed in two halves a second apart (two SSH data chunks) is masked', () => {
      const record = auditRecord('secret across chunks');
      expect(String(record.msg)).to.include(MASK);
      expect(leaks(audit() + run.stdout + run.stderr, { chunked: secrets.chunked })).to.deep.equal([]);
    });

    it('item 8: a secret output masks its join command and token, not the words around it', () => {
      const record = auditRecord('after the secret output');
      expect(String(record.msg)).to.include('ls -d /etc/ssh; echo root is true');
      expect(String(record.msg)).to.include(MASK);
      expect(run.stdout).to.include('ls -d /etc/ssh; echo root is true');
      expect(run.stdout).to.not.include(`${MASK}/ssh`);
      expect(leaks(audit() + run.stdout + run.stderr, { join: secrets.join, line: joinLine })).to.deep.equal([]);
    });

    it('run-wide: no secret value, nor any 10-character piece of one, in the audit log, stdout or stderr', () => {
      const found = [...leaks(audit(), forbidden).map((item) => `audit log: ${item}`), ...leaks(run.stdout, forbidden).map((item) => `stdout: ${item}`), ...leaks(run.stderr, forbidden).map((item) => `stderr: ${item}`)];
      const pieceCount = Object.values(forbidden).reduce((sum, value) => sum + pieces(value).length, 0);
      console.log(
        `      run-wide: ${Object.keys(forbidden).length} secret values (${pieceCount} 10-character pieces) × 3 outputs (audit ${audit().length} B, stdout ${run.stdout.length} B, stderr ${run.stderr.length} B): found ${found.length}`,
      );
      expect(found).to.deep.equal([]);
    });
  });
});
