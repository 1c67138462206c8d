/**
 * Issue 8, "Dangerous or corrupting input" (items 11–15): hostile or careless input is refused before it
 * does harm, and bytes a module does not manage survive its edits. The module tests run through drover's
 * runner over real SSH on a lab host and read the file's bytes back with the plain OpenSSH client.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inventoryFromText } from '../../inventory/load.ts';
import { InventoryError } from '../../inventory/errors.ts';
import { file } from '../../modules/file.ts';
import { hosts } from '../../modules/hosts.ts';
import { lineinfile } from '../../modules/lineinfile.ts';
import { mount } from '../../modules/mount.ts';
import { sysctl } from '../../modules/sysctl.ts';
import { refuseUndecodableArguments } from '../../runner/cli/argv-text.ts';
import { typeCheckPlaybook } from '../../runner/cli/typecheck.ts';
import { SchemaError, s } from '../../runner/schema.ts';
import { q } from '../support/file-test-support.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRATCH = '/tmp/drover-faults-input';

/** The file's bytes on the host, read with OpenSSH (base64, so no byte is decoded on the way). */
async function bytesOf(target: LabTarget, path: string): Promise<Buffer> {
  const out = await onHost(target, `base64 -w0 < ${q(path)}`);
  expect(out.exitCode, out.stderr).to.equal(0);
  return Buffer.from(out.stdout.trim(), 'base64');
}

/** Writes exact bytes to a file on the host with OpenSSH. */
async function seedBytes(target: LabTarget, path: string, bytes: Buffer): Promise<void> {
  const out = await onHost(target, `base64 -d > ${q(path)}`, bytes.toString('base64'));
  expect(out.exitCode, out.stderr).to.equal(0);
}

/** Runs the real CLI (`node --import tsx run.ts …`) through bash, so that argv may hold bytes that are not UTF-8. */
function droverShell(command: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('bash', ['-c', `exec ${q(process.execPath)} --import tsx ${q(join(ROOT, 'run.ts'))} ${command}`], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
}

describe('faults: dangerous or corrupting input (issue 8 items 11–15)', function () {
  this.timeout(600_000);
  let target: LabTarget;

  before(async function () {
    [target] = (await labTargets(this, 1)) as [LabTarget];
    await onHost(target, `rm -rf ${SCRATCH} && mkdir -p ${SCRATCH}`);
  });

  after(async () => {
    if (target) await onHost(target, `rm -rf ${SCRATCH} /etc/sysctl.d/99-drover-faults.conf`);
  });

  describe('11. paths that mean / are refused, every path parameter is normalised', () => {
    it('file state=absent refuses //, /., /tmp/.., /usr/../ and never runs rm on the host', async () => {
      for (const path of ['//', '/.', '/tmp/..', '/usr/../', '///./']) {
        expect(() => file.params.parse({ path, state: 'absent' }, ''), path).to.throw(SchemaError, /means \/ \(the root directory\)|has a \.\. component/);
        for (const check of [true, false]) {
          const result = await applyModule(target, file, { path, state: 'absent' }, { check });
          expect(result.status, `${path} check=${check}`).to.equal('failed');
          expect(
            result.commands.filter((command) => command.executed),
            path,
          ).to.deep.equal([]);
        }
      }
      expect((await onHost(target, 'test -d /usr/bin && test -d /tmp && echo intact')).stdout).to.equal('intact\n');
    });

    it('acts on the normal form: /x/./y/ is /x/y in the plan, the dry run and on the host', async () => {
      await onHost(target, `mkdir -p ${SCRATCH}/gone/inner`);
      const dry = await applyModule(target, file, { path: `${SCRATCH}//gone/./`, state: 'absent' }, { check: true });
      expect(dry.changes).to.deep.equal([`remove directory ${SCRATCH}/gone`]);
      const real = await applyModule(target, file, { path: `${SCRATCH}//gone/./`, state: 'absent' });
      expect(real.status, real.msg).to.equal('changed');
      expect((await onHost(target, `test -e ${SCRATCH}/gone`)).exitCode).to.equal(1);
      expect(mount.params.parse({ path: '/mnt//data/', state: 'unmounted' }, '').path).to.equal('/mnt/data');
      expect(() => mount.params.parse({ path: '//', state: 'absent' }, '')).to.throw(SchemaError, /root filesystem/);
    });
  });

  describe('12. bytes that are not UTF-8 survive, and argv that is not text is refused', () => {
    const LATIN1 = (text: string) => Buffer.from(text, 'latin1');

    it('hosts keeps a latin-1 line it does not manage byte for byte', async () => {
      const path = `${SCRATCH}/hosts`;
      const before = LATIN1('127.0.0.1\tlocalhost\n10.0.0.9\tcaf\xe9 # pr\xeat \xff\n');
      await seedBytes(target, path, before);
      const result = await applyModule(target, hosts, { path, entries: [{ address: '10.0.0.11', names: ['cp-1'] }] });
      expect(result.status, result.msg).to.equal('changed');
      const after = await bytesOf(target, path);
      expect(after.subarray(0, before.length).equals(before), after.toString('latin1')).to.equal(true);
      expect(after.subarray(before.length).toString()).to.equal('# BEGIN drover managed hosts\n10.0.0.11 cp-1\n# END drover managed hosts\n');
      expect((await applyModule(target, hosts, { path, entries: [{ address: '10.0.0.11', names: ['cp-1'] }] })).status).to.equal('ok');
    });

    it('sysctl keeps latin-1 comments in its file while adding a key', async () => {
      const path = '/etc/sysctl.d/99-drover-faults.conf';
      const before = LATIN1('# r\xe9glage local\nvm.overcommit_memory = 1\n');
      await seedBytes(target, path, before);
      const result = await applyModule(target, sysctl, { name: 'vm.swappiness', value: 7, sysctlFile: path, reload: false });
      expect(result.status, result.msg).to.equal('changed');
      const after = await bytesOf(target, path);
      expect(after.toString('latin1')).to.equal('# r\xe9glage local\nvm.overcommit_memory = 1\nvm.swappiness = 7\n');
      expect(after.subarray(0, before.length).equals(before)).to.equal(true);
    });

    it('mount keeps a LABEL=café fstab line written in latin-1', async () => {
      const path = `${SCRATCH}/fstab`;
      const before = LATIN1('LABEL=caf\xe9 /data ext4 defaults 0 2\n');
      await seedBytes(target, path, before);
      const result = await applyModule(target, mount, { path: '/mnt/drover-faults', src: 'tmpfs', fstype: 'tmpfs', opts: 'size=1m', state: 'present', fstab: path });
      expect(result.status, result.msg).to.equal('changed');
      const after = await bytesOf(target, path);
      expect(after.subarray(0, before.length).equals(before), after.toString('latin1')).to.equal(true);
      expect(after.subarray(before.length).toString()).to.match(/^tmpfs \/mnt\/drover-faults tmpfs size=1m 0 0\n$/);
    });

    it('the CLI refuses an argument with bytes that are not UTF-8, naming it', async () => {
      const run = await droverShell(`inventory -i "$(printf 'caf\\351.yaml')" --list`);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/argument 3 \("caf\\ufffd\.yaml"\) is not valid UTF-8 text/);
    });

    it('lone surrogates are refused in argv and in every string parameter', () => {
      expect(() => refuseUndecodableArguments(['module', 'all', 'x=\ud800'])).to.throw(/argument 3 .* lone UTF-16 surrogate/);
      expect(() => refuseUndecodableArguments(['ok', 'caf\u00e9', '\ud83d\ude00'])).not.to.throw();
      expect(() => s.string().parse('a\udc80', 'line')).to.throw(SchemaError, /lone UTF-16 surrogate/);
    });
  });

  describe('13. lineinfile with a multi-line line', () => {
    it('is refused with a clear error instead of appending a copy on every run', async () => {
      const path = `${SCRATCH}/multi`;
      await seedBytes(target, path, Buffer.from('first\n'));
      for (let run = 0; run < 2; run++) {
        const result = await applyModule(target, lineinfile, { path, line: 'a = 1\nb = 2' });
        expect(result.status, result.msg).to.equal('failed');
        expect(result.msg).to.match(/line: holds a line break .* use blockinfile/);
      }
      expect((await bytesOf(target, path)).toString()).to.equal('first\n');
    });
  });

  describe('14. inventories that make one name two machines, or names that forge output', () => {
    it('refuses a host given two different addresses, naming both places', () => {
      const text = 'a:\n  hosts:\n    lab-5:\n      ansible_host: 10.0.0.5\nb:\n  hosts:\n    lab-5:\n      ansible_host: 10.0.0.6\n';
      expect(() => inventoryFromText(text, 'inv.yaml')).to.throw(InventoryError, /inv\.yaml:7: host 'lab-5' is given ansible_host=10\.0\.0\.6 here, but ansible_host=10\.0\.0\.5 at inv\.yaml:3/);
    });

    it('refuses host names with ESC, CR or a newline, shown escaped', () => {
      for (const [name, code] of [
        ['a\\eb', 'U+001B'],
        ['a\\rb', 'U+000D'],
        ['a\\nb', 'U+000A'],
      ] as const) {
        const text = `all:\n  hosts:\n    "${name}":\n`;
        expect(() => inventoryFromText(text, 'inv.yaml'), name).to.throw(InventoryError, new RegExp(`host name "${name.replace(/\\/g, '\\\\')}" holds the control character ${code.replace('+', '\\+')}`));
      }
    });
  });

  describe('15. the playbook is type-checked and its variables validated before any host is contacted', () => {
    let dir: string;
    let inventory: string;
    const marker = `${SCRATCH}/first-task-ran`;

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'drover-faults-pb-'));
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      inventory = join(dir, 'inventory.yaml');
      writeFileSync(
        inventory,
        `all:\n  vars:\n    drover_known_hosts_file: ${target.knownHostsPath}\n  hosts:\n    ${target.name}:\n      ansible_host: ${target.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${target.keyPath}\n`,
      );
    });

    function playbook(name: string, vars: string, secondTask: string): string {
      const path = join(dir, name);
      writeFileSync(
        path,
        `import { definePlaybook, s } from ${JSON.stringify(join(ROOT, 'runner/playbook.ts'))};
const book = definePlaybook({ name: 'faults', vars: s.object({ ${vars} }) });
const play = book.play({
  name: 'two tasks',
  hosts: 'all',
  tasks: async (t) => {
    await t.copy('first', { dest: ${JSON.stringify(marker)}, content: 'ran\\n' });
    ${secondTask}
  },
});
export default book.playbook([play]);
`,
      );
      return path;
    }

    it('a misspelt module parameter stops the run with file:line:col before the first task', async () => {
      const path = playbook('misspelt.ts', '', `await t.copy('second', { dset: '/tmp/x', content: 'y' });`);
      await onHost(target, `rm -f ${marker}`);
      const run = await droverShell(`${q(path)} -i ${q(inventory)} --audit-log ${q(join(dir, 'a1.jsonl'))}`, { DROVER_CACHE_DIR: join(dir, 'cache') });
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.match(/\/misspelt\.ts:8:30 - error TS2353: Object literal may only specify known properties, and 'dset' does not exist/);
      expect(run.stderr).to.include('nothing was run, no host was contacted');
      expect((await onHost(target, `test -e ${marker}`)).exitCode, 'the first task ran').to.equal(1);

      const unchecked = await droverShell(`${q(path)} -i ${q(inventory)} --no-typecheck --audit-log ${q(join(dir, 'a2.jsonl'))}`);
      expect(unchecked.code, 'with --no-typecheck the run goes ahead and fails at the task').to.equal(2);
      expect((await onHost(target, `test -e ${marker}`)).exitCode).to.equal(0);
    });

    it("a variable's default that its own schema refuses stops the run before the first task", async () => {
      const path = playbook('bad-default.ts', 'port: s.int({ min: 1 }).default(0)', '');
      await onHost(target, `rm -f ${marker}`);
      const run = await droverShell(`${q(path)} -i ${q(inventory)} --audit-log ${q(join(dir, 'a3.jsonl'))}`, { DROVER_CACHE_DIR: join(dir, 'cache') });
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.match(/vars\.port: 0 is below the minimum 1/);
      expect((await onHost(target, `test -e ${marker}`)).exitCode, 'the first task ran').to.equal(1);
    });

    it('the cached check costs under 0.3 s (cold and cached times printed)', async () => {
      const path = playbook('clean.ts', '', '');
      const previous = process.env.DROVER_CACHE_DIR;
      process.env.DROVER_CACHE_DIR = join(dir, 'timing-cache');
      try {
        let started = performance.now();
        const cold = await typeCheckPlaybook(path);
        const coldMs = performance.now() - started;
        started = performance.now();
        const cached = await typeCheckPlaybook(path);
        const cachedMs = performance.now() - started;
        console.log(`      type check: cold ${Math.round(coldMs)} ms, cached ${Math.round(cachedMs)} ms`);
        expect(cold).to.include({ cached: false });
        expect(cold.errors).to.deep.equal([]);
        expect(cached).to.include({ cached: true });
        expect(cachedMs).to.be.below(300);
        // An edit to the playbook invalidates the entry.
        writeFileSync(path, `${'// edited\n'}${(await import('node:fs')).readFileSync(path, 'utf8')}`);
        expect(await typeCheckPlaybook(path)).to.include({ cached: false });
      } finally {
        if (previous === undefined) delete process.env.DROVER_CACHE_DIR;
        else process.env.DROVER_CACHE_DIR = previous;
      }
    });
  });
});
