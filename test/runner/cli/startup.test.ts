/**
 * Start-up cost of the command line: a command loads only its own modules (runner/cli/main.ts imports a
 * subcommand's module when it runs; process-main.ts installs its stray-error handlers from
 * stray-errors.ts). Each module drover loads goes through tsx, so `--help` loading the engine, the
 * transport, ssh2 and every task module was most of its start-up time (issue 13).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { EXEC_HELP } from '../../../runner/cli/adhoc-commands.ts';
import { MAIN_HELP } from '../../../runner/cli/main-help.ts';
import { ROOT } from '../../support/run-cli.ts';

/** A command's output and status, and the modules its processes loaded: drover's own files and the packages. */
type Loads = { stdout: string; status: number | null; own: string[]; packages: string[] };

/** What `node bin/drover.js ARGS` loads. */
function loadedBy(args: string[]): Loads {
  return loaded(process.execPath, ['--import', resolve(ROOT, 'test/support/load-log.mjs'), resolve(ROOT, 'bin/drover.js'), ...args], {});
}

/** What `tsx run.ts ARGS` loads, in every process it starts (the load log goes to each through NODE_OPTIONS). */
function loadedThroughRunTs(args: string[]): Loads {
  return loaded(resolve(ROOT, 'node_modules/.bin/tsx'), [resolve(ROOT, 'run.ts'), ...args], {
    // Quoted: NODE_OPTIONS splits at blanks, and the checkout's path may hold one.
    NODE_OPTIONS: `--import ${JSON.stringify(resolve(ROOT, 'test/support/load-log.mjs'))}`,
  });
}

function loaded(program: string, args: string[], env: Record<string, string>): Loads {
  const dir = mkdtempSync(join(tmpdir(), 'drover-startup-'));
  try {
    const log = join(dir, 'loads.txt');
    const result = spawnSync(program, args, {
      cwd: ROOT,
      env: { ...process.env, ...env, DROVER_LOAD_LOG: log, FORCE_COLOR: '0' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const urls = readFileSync(log, 'utf8').trim().split('\n');
    const own = urls.filter((url) => url.startsWith(`file://${ROOT}/`) && !url.includes('/node_modules/')).map((url) => url.slice(`file://${ROOT}/`.length));
    const packages = [...new Set(urls.flatMap((url) => url.match(/\/node_modules\/((@[^/]+\/)?[^/]+)\//)?.[1] ?? []))];
    return { stdout: result.stdout, status: result.status, own, packages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CLI start-up loads only what the command uses', function () {
  // The machine is shared: each case starts node and tsx.
  this.timeout(180_000);

  it('--help loads no engine, transport, reporter, task module or ssh2', () => {
    const run = loadedBy(['--help']);
    expect(run.status).to.equal(0);
    expect(run.stdout).to.equal(`${MAIN_HELP}\n`);
    for (const heavy of ['runner/cli/run-context.ts', 'runner/engine/run-playbook.ts', 'runner/transport/ssh.ts', 'runner/report/terminal.ts', 'modules/registry.ts', 'modules/copy.ts']) {
      expect(run.own, heavy).not.to.include(heavy);
    }
    expect(run.packages).not.to.include('ssh2');
    expect(run.own.length, run.own.join(' ')).to.be.below(30);
  });

  it("help COMMAND still prints that command's help, and an unknown name (or an Object property) the main help", () => {
    const exec = loadedBy(['help', 'exec']);
    expect(exec.stdout).to.equal(`${EXEC_HELP}\n`);
    expect(exec.own).to.include('runner/cli/adhoc-commands.ts');
    expect(exec.own).not.to.include('runner/cli/audit-command.ts');
    expect(loadedBy(['help', 'constructor']).stdout).to.equal(`${MAIN_HELP}\n`);
  });

  it("--version prints the package version and node's, loading nothing else", () => {
    const run = loadedBy(['--version']);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect([run.status, run.stdout]).to.deep.equal([0, `drover ${version} (node ${process.version})\n`]);
    expect(run.own.length, run.own.join(' ')).to.be.below(30);
    expect(run.packages).not.to.include('ssh2');
  });

  it('run.ts answers --help, -h, no command and --version itself, without starting the drover it supervises', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const cases: Array<[string[], number, string]> = [
      [['--help'], 0, `${MAIN_HELP}\n`],
      [['-h'], 0, `${MAIN_HELP}\n`],
      [[], 1, `${MAIN_HELP}\n`],
      [['--version'], 0, `drover ${version} (node ${process.version})\n`],
    ];
    for (const [args, status, stdout] of cases) {
      const run = loadedThroughRunTs(args);
      expect([run.status, run.stdout], args.join(' ')).to.deep.equal([status, stdout]);
      expect(run.own, args.join(' ')).not.to.include('bin/drover.js');
    }
    // Anything else is drover's to answer, supervised as before.
    const exec = loadedThroughRunTs(['help', 'exec']);
    expect(exec.stdout).to.equal(`${EXEC_HELP}\n`);
    expect(exec.own).to.include('bin/drover.js');
  });

  it('a playbook run still loads the engine and the modules', () => {
    const run = loadedBy(['test/fixtures/no-such-playbook.ts', '-i', 'none.yaml']);
    expect(run.status).to.equal(1);
    expect(run.own).to.include('runner/cli/playbook-command.ts');
    expect(run.own).to.include('modules/registry.ts');
  });
});
