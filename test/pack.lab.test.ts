/**
 * drover as another repository uses it: `npm pack` this checkout, install the tarball into a fresh project
 * of its own (no drover checkout in sight), type-check a playbook there that imports 'drover', and run it
 * with `npx drover` against a lab host, reading the host's state back with the OpenSSH client.
 *
 * Needs npm and the registry or npm's cache for drover's dependencies (the install prefers the cache).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWithLab, labSsh } from './support/lab.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never throws on a non-zero exit (the test asserts the code). */
function run(program: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<Run> {
  // npm sets npm_package_* / npm_lifecycle_* for `npm test`; a child npm in another project must not see them.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_(package|lifecycle|config_(prefix|global|local_prefix))/i.test(key)));
  return new Promise((resolveRun) => {
    execFile(program, args, { cwd, env: { ...env, FORCE_COLOR: '0', NO_COLOR: '1' }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function expectSuccess(what: string, result: Run): void {
  expect(result.code, `${what} exited with ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`).to.equal(0);
}

const PLAYBOOK = `import { definePlaybook, s, secret } from 'drover';
import { machineIdFacts } from 'drover/facts';

const book = definePlaybook({
  name: 'site',
  vars: s.object({ pack_test_path: s.string(), pack_test_token: s.string() }),
});

const site = book.play({
  name: 'a file from another repository',
  hosts: 'all',
  tasks: async (t, host) => {
    // A Secret made by this file's 'drover' must be recognised by the CLI's runner: with a second copy of
    // the runner loaded it would not be, and the token would show in the output.
    await t.copy('marker file', { dest: host.vars.pack_test_path, content: secret(host.vars.pack_test_token), mode: '0640' });
    // Facts come from the package's second entry, 'drover/facts', typed like the rest.
    const id = await host.fact(machineIdFacts);
    await t.debug('machine id', { msg: \`machine id \${id.machineId}\` });
  },
});

export default book.playbook([site]);
`;

/** Wrong on purpose: \`mode\` is a string; a typed 'drover' import makes this a compile error. */
const MISTYPED = `import { definePlaybook } from 'drover';

const book = definePlaybook({ name: 'mistyped' });
export default book.playbook([
  book.play({ name: 'x', hosts: 'all', tasks: async (t) => { await t.copy('x', { dest: '/tmp/x', content: '', mode: 640 }); } }),
]);
`;

describeWithLab('drover packed, installed in another project, runs its playbook', 1, (lab) => {
  let work: string | undefined;
  let project: string;
  let tarball: string;
  const token = `drover-pack-${randomBytes(8).toString('hex')}`;
  const markerPath = `/tmp/${token}`;

  before(async function () {
    this.timeout(900_000);
    work = await mkdtemp(join(tmpdir(), 'drover-pack-'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', work], ROOT);
    expectSuccess('npm pack', packed);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
    tarball = join(work, info!.filename);

    project = join(work, 'infra');
    await mkdir(join(project, 'playbooks'), { recursive: true });
    const own = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    // The user's project pins the same compiler and Node types drover itself uses (dependencies of drover since
    // the playbook type check runs at run time).
    const pinned = (name: string): string => {
      const version = own.dependencies[name] ?? own.devDependencies[name];
      if (!version) throw new Error(`package.json pins no version of ${name}`);
      return `${name}@${version}`;
    };
    await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'infra', private: true, type: 'module' }, null, 2)}\n`);
    await writeFile(
      join(project, 'tsconfig.json'),
      `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] }, include: ['playbooks'] }, null, 2)}\n`,
    );
    const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball, pinned('typescript'), pinned('@types/node')], project, 600_000);
    expectSuccess('npm install of the tarball', installed);
  });

  after(async function () {
    this.timeout(120_000);
    if (!work) return; // skipped: no lab here
    await rm(work, { recursive: true, force: true });
    await labSsh(lab(), lab().hosts[0]!, `rm -f ${markerPath}`);
  });

  it('packs the runner, its modules and type declarations, and no tests, lab or lab state', async () => {
    const listing = await run('tar', ['tzf', tarball], ROOT);
    expectSuccess('tar', listing);
    const files = listing.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.replace(/^package\//, ''));
    expect(files).to.include.members(['package.json', 'bin/drover.js', 'run.ts', 'runner/index.ts', 'runner/cli/main.ts', 'modules/registry.ts', 'types/runner/index.d.ts']);
    const stray = files.filter((file) => /^(test|lab|playbooks|audit|\.lab[^/]*|\.ci|node_modules)\//.test(file) || /\.test\.ts$/.test(file));
    expect(stray).to.deep.equal([]);
  });

  it("type-checks a playbook that imports 'drover', and refuses a mistyped parameter", async () => {
    await writeFile(join(project, 'playbooks', 'site.ts'), PLAYBOOK);
    expectSuccess('tsc on the project', await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', '.'], project));

    await writeFile(join(project, 'playbooks', 'mistyped.ts'), MISTYPED);
    const refused = await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', '.'], project);
    await rm(join(project, 'playbooks', 'mistyped.ts'));
    expect(refused.code).to.not.equal(0);
    expect(refused.stdout).to.match(/playbooks\/mistyped\.ts\(\d+,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
  });

  it('runs it with npx drover on a lab host, with one copy of the runner, then finds nothing to change', async () => {
    const host = lab().hosts[0]!;
    await writeFile(join(project, 'playbooks', 'site.ts'), PLAYBOOK);
    // The project's own inventory, beside its playbooks, with the lab's connection variables.
    const labInventory = await readFile(lab().inventoryPath, 'utf8');
    await writeFile(join(project, 'inventory.yaml'), labInventory);
    await mkdir(join(project, 'host_vars'), { recursive: true });
    await writeFile(join(project, 'host_vars', `${host.name}.yaml`), `pack_test_path: ${markerPath}\npack_test_token: ${token}\n`);
    const argv = ['drover', 'playbooks/site.ts', '-i', 'inventory.yaml', '--limit', host.name];

    const applied = await run('npx', argv, project);
    expectSuccess('npx drover (apply)', applied);
    expect(applied.stdout).to.match(/changed=1 failed=0/);
    expect(`${applied.stdout}${applied.stderr}`).to.not.include(token);

    const onHost = await labSsh(lab(), host, `stat -c %a ${markerPath} && cat ${markerPath}`);
    expect(onHost.code, onHost.stderr).to.equal(0);
    expect(onHost.stdout).to.equal(`640\n${token}`);
    const machineId = (await labSsh(lab(), host, 'cat /etc/machine-id')).stdout.trim();
    expect(machineId).to.match(/^[0-9a-f]{32}$/);
    expect(applied.stdout).to.include(`machine id ${machineId}`);

    const again = await run('npx', argv, project);
    expectSuccess('npx drover (again)', again);
    expect(again.stdout).to.match(/ok=2 changed=0 failed=0/);
  });

  it("refuses the playbook when another installation of drover (this checkout's CLI) runs it", async () => {
    // The runner's identity check is what guarantees one copy: a second copy must be refused, not run.
    const refused = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'run.ts'), 'playbooks/site.ts', '-i', 'inventory.yaml', '--check'], project);
    expect(refused.code, refused.stdout).to.equal(1);
    expect(refused.stderr).to.include('imports another installation of drover than the one running it');
  });

  it('runs the other commands from the installed package', async () => {
    const host = lab().hosts[0]!;
    const exec = await run('npx', ['drover', 'exec', host.name, '-i', 'inventory.yaml', '--', 'cat', markerPath], project);
    expectSuccess('npx drover exec', exec);
    expect(exec.stdout).to.include(token);
    const help = await run('npx', ['drover', 'module', '--help', 'copy'], project);
    expectSuccess('npx drover module --help copy', help);
    expect(help.stdout).to.match(/^copy: /m);
    const logs = (await run('sh', ['-c', 'ls audit/*.jsonl'], project)).stdout.split('\n').filter(Boolean);
    expect(logs.length).to.be.greaterThan(0);
    expectSuccess('npx drover audit verify', await run('npx', ['drover', 'audit', 'verify', ...logs], project));
  });
});
