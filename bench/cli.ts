/**
 * `npm run bench [-- --hosts 5,20 --reps 3 --tools drover,ansible,floor --out DIR]`: the benchmark of
 * issue 13. For each N it brings up the lab with N fresh hosts before each tool, runs that tool's first
 * apply, second apply and dry run of the same node preparation (bench/work.ts), measured on the
 * controller (bench/measure.ts), and writes results.md, chart.svg and results.json in the output
 * directory; the ratios the targets are stated in are printed last. bench/README.md has the settings.
 * `npm run bench:ci` is the small version (N = 5, three repetitions, drover against the floor, its first apply held to 4× the floor's).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { down } from '../lab/down.ts';
import { withLabLock } from '../lab/lock.ts';
import { labPaths, LAB_INSTANCE } from '../lab/paths.ts';
import { up } from '../lab/up.ts';
import { gitInfo } from '../runner/cli/git-info.ts';
import { typeCheckPlaybook } from '../runner/cli/typecheck.ts';
import { renderChart } from './chart.ts';
import { measure } from './measure.ts';
import { markdownTable, problems, ratioLines, slowerThanFloor, summarize, type Sample, type Summary } from './report.ts';
import { PHASE_TITLES, PHASES, prepareTool, REPO_DIR, TOOLS, type Tool } from './tools.ts';

export interface BenchOptions {
  hosts: number[];
  reps: number;
  tools: Tool[];
  out: string;
  keepLab: boolean;
  /** Fail when a drover run takes more than this many times the floor's (CI's regression guard). */
  maxRatio?: number;
  /** Run nothing: join the results.json of these earlier runs into one table and chart in `out`. */
  join?: string[];
}

const USAGE = `usage: npm run bench -- [--hosts 5,20,100,500] [--reps 3] [--tools drover,ansible,floor] [--out bench/results] [--keep-lab] [--max-ratio R]
       npm run bench -- --join DIR,DIR… [--out bench/results]   (one table and chart from earlier runs' results.json)`;

/** `--help`: what the benchmark does and its flags (bench/README.md has the settings of each tool). */
export const HELP = `${USAGE}

Brings up lab instance $DROVER_LAB_INSTANCE (default 0) with N fresh hosts before each tool and repetition,
and measures drover, Ansible and the floor (plain OpenSSH) on the same node preparation: first apply,
second apply, dry run. Root, like the lab. Writes results.md, chart.svg and results.json in --out; the
ratios the targets are stated in are printed last.

  --hosts N,N…     lab sizes to measure (default 5,20,100,500)
  --reps R         repetitions of each size and tool (default 3)
  --tools T,T…     drover, ansible, floor (default all three; ansible needs \`apt-get install ansible\`)
  --out DIR        where the results go (default bench/results)
  --keep-lab       leave the last lab up at the end
  --max-ratio R    also exit 1 when drover's first apply takes over R times the floor's (needs drover and floor)
  --join DIR,DIR…  run nothing: one table and chart from earlier runs' results.json
  -h, --help       this text`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = withUsage(() =>
    parseArgs({
      args: argv,
      options: {
        hosts: { type: 'string', default: '5,20,100,500' },
        reps: { type: 'string', default: '3' },
        tools: { type: 'string', default: TOOLS.join(',') },
        out: { type: 'string', default: join(REPO_DIR, 'bench', 'results') },
        'keep-lab': { type: 'boolean', default: false },
        'max-ratio': { type: 'string' },
        join: { type: 'string' },
      },
      strict: true,
    }),
  );
  const hosts = values.hosts.split(',').map((text) => {
    if (!/^[1-9]\d*$/.test(text)) throw new Error(`--hosts takes whole numbers separated by commas, got ${JSON.stringify(values.hosts)}\n${USAGE}`);
    return Number(text);
  });
  if (!/^[1-9]\d*$/.test(values.reps)) throw new Error(`--reps takes a whole number ≥ 1, got ${JSON.stringify(values.reps)}\n${USAGE}`);
  const tools = values.tools.split(',').map((text) => {
    if (!(TOOLS as readonly string[]).includes(text))
      throw new Error(`--tools takes ${TOOLS.join(', ')} separated by commas, got ${JSON.stringify(text)}\n${USAGE}`);
    return text as Tool;
  });
  const maxRatio = values['max-ratio'] === undefined ? undefined : Number(values['max-ratio']);
  if (maxRatio !== undefined && !(maxRatio >= 1)) throw new Error(`--max-ratio takes a number ≥ 1, got ${JSON.stringify(values['max-ratio'])}\n${USAGE}`);
  if (maxRatio !== undefined && !(tools.includes('drover') && tools.includes('floor')))
    throw new Error(`--max-ratio compares drover with the floor: --tools must include both\n${USAGE}`);
  return {
    hosts: [...new Set(hosts)].sort((a, b) => a - b),
    reps: Number(values.reps),
    tools,
    out: resolve(values.out),
    keepLab: values['keep-lab'],
    ...(maxRatio !== undefined && { maxRatio }),
    ...(values.join !== undefined && { join: values.join.split(',').map((dir) => resolve(dir)) }),
  };
}

/** Puts the usage after a parse error's own message (`Unknown option '--frob'` alone does not say what would do). */
function withUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

function firstLine(argv: string[]): string {
  // `ssh -V` answers on stderr.
  const { stdout, stderr } = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (stdout === null) return 'not installed';
  return (stdout || stderr).split('\n')[0]!.trim() || 'not installed';
}

/** What the figures depend on, written beside them. */
async function machineState(): Promise<string[]> {
  return [
    `date: ${new Date().toISOString()}`,
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}`,
    `load average at start (1/5/15 min): ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
    `node ${process.version}; ${firstLine(['ansible-playbook', '--version'])}; ${firstLine(['ssh', '-V'])}`,
    `drover: ${await droverVersion()}`,
  ];
}

/** The commit measured, so that figures joined from several runs say which code each came from. */
async function droverVersion(): Promise<string> {
  const git = await gitInfo(join(REPO_DIR, 'package.json'));
  if (!git) return 'not a git checkout';
  return `commit ${git.commit.slice(0, 12)}${git.dirty ? ' with uncommitted changes' : ''}`;
}

async function freshLab(hosts: number) {
  const paths = labPaths();
  const quiet = () => undefined;
  await withLabLock(paths.lockFile, () => down(paths));
  return withLabLock(paths.lockFile, () => up(paths, { count: hosts, log: quiet }));
}

/**
 * drover type-checks a playbook before running it and caches a success by content (runner/cli/typecheck.ts);
 * the cold check costs seconds. The measured runs are an operator's runs of a playbook already checked, so
 * the check runs once first, unmeasured, through the same function and cache the CLI uses.
 */
async function warmUpTypecheck(): Promise<string> {
  const started = performance.now();
  const { errors } = await typeCheckPlaybook(resolve(REPO_DIR, 'bench/playbook.ts'));
  if (errors.length > 0) throw new Error(`bench/playbook.ts does not type-check:\n  ${errors.join('\n  ')}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  return `${seconds} s (unmeasured; the measured runs find it cached)`;
}

async function writeResults(options: BenchOptions, samples: Sample[], header: string[]): Promise<string[]> {
  const summaries = summarize(samples);
  const ratios = ratioLines(summaries);
  const found = allProblems(options, summaries);
  const markdown = [
    '# drover benchmark',
    '',
    ...header.map((line) => `- ${line}`),
    '',
    markdownTable(summaries),
    '## Ratios (median wall times)',
    '',
    ...ratios.map((line) => `- ${line}`),
    ...(found.length > 0 ? ['', '## Problems', '', ...found.map((line) => `- ${line}`)] : []),
    '',
  ].join('\n');
  await writeFile(join(options.out, 'results.md'), markdown);
  await writeFile(join(options.out, 'results.json'), `${JSON.stringify({ header, samples }, null, 2)}\n`);
  await writeFile(
    join(options.out, 'chart.svg'),
    renderChart(
      summaries,
      `drover, Ansible and the floor: wall time against hosts (${options.join ? `${options.join.length} runs joined` : `${options.reps} rep(s)`}, median)`,
    ),
  );
  return [markdownTable(summaries), ...(found.length > 0 ? ['problems:', ...found] : []), 'ratios:', ...ratios];
}

/** `--join`: the samples and headers of earlier runs, one table and chart; nothing is run. */
async function joinResults(options: BenchOptions & { join: string[] }): Promise<number> {
  const samples: Sample[] = [];
  const header: string[] = [];
  for (const [index, dir] of options.join.entries()) {
    const file = join(dir, 'results.json');
    let saved: { header: string[]; samples: Sample[] };
    try {
      saved = JSON.parse(await readFile(file, 'utf8')) as { header: string[]; samples: Sample[] };
    } catch (error) {
      throw new Error(`--join: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!Array.isArray(saved.samples) || !Array.isArray(saved.header)) throw new Error(`--join: ${file} is not a benchmark's results.json`);
    samples.push(...saved.samples);
    header.push(...saved.header.map((line) => `run ${index + 1}: ${line}`));
  }
  await mkdir(options.out, { recursive: true });
  return finalReport(options, samples, header);
}

async function main(argv: string[]): Promise<number> {
  if (argv.some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const options = parseOptions(argv);
  if (options.join) return joinResults({ ...options, join: options.join });
  if (options.tools.includes('ansible') && firstLine(['ansible-playbook', '--version']) === 'not installed') {
    throw new Error("ansible-playbook is not installed: `apt-get install ansible` (Debian's package), or leave it out with --tools drover,floor");
  }
  await mkdir(options.out, { recursive: true });
  const header = [
    ...(await machineState()),
    `lab instance ${LAB_INSTANCE}; hosts ${options.hosts.join(', ')}; ${options.reps} repetition(s); tools ${options.tools.join(', ')}`,
  ];
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  for (const line of header) log(line);
  const samples: Sample[] = [];
  let warmedUp = false;
  try {
    for (const hosts of options.hosts) {
      for (let rep = 1; rep <= options.reps; rep += 1) {
        for (const tool of options.tools) {
          const started = Date.now();
          const state = await freshLab(hosts);
          log(`N=${hosts} rep ${rep} ${tool}: ${hosts} fresh host(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          const dir = join(options.out, 'work', `${hosts}-${rep}-${tool}`);
          await rm(dir, { recursive: true, force: true });
          await mkdir(dir, { recursive: true });
          if (tool === 'drover' && !warmedUp) {
            header.push(`drover's type check of bench/playbook.ts before the first run: ${await warmUpTypecheck()}`);
            log(header[header.length - 1]!);
            warmedUp = true;
          }
          const run = await prepareTool(tool, { hosts: state.hosts, inventory: state.inventory, key: state.key, knownHosts: state.knownHosts }, dir);
          for (const phase of PHASES) {
            const { argv: command, env } = run.invocation(phase);
            const measured = await measure(command, { env, cwd: REPO_DIR, timeoutMs: 600_000 + 5_000 * hosts });
            await writeFile(join(dir, `${phase}.stdout`), measured.stdout);
            await writeFile(join(dir, `${phase}.stderr`), measured.stderr);
            const changes = await run.changes(phase, measured.stdout);
            samples.push({
              hosts,
              tool,
              phase,
              rep,
              exitCode: measured.exitCode,
              wallMs: measured.wallMs,
              cpuMs: measured.cpuMs,
              peakRssBytes: measured.peakRssBytes,
              peakProcesses: measured.peakProcesses,
              changes,
            });
            log(
              `N=${hosts} rep ${rep} ${tool} ${PHASE_TITLES[phase]}: ${(measured.wallMs / 1000).toFixed(2)} s wall, ${(measured.cpuMs / 1000).toFixed(2)} s CPU, ` +
                `${(measured.peakRssBytes / 1e6).toFixed(0)} MB peak, ${changes} change(s)${measured.exitCode === 0 ? '' : `, EXIT ${measured.exitCode} (output in ${dir})`}`,
            );
          }
        }
      }
      // Written after each N, so a long run that is stopped keeps what it measured.
      await writeResults(options, samples, header);
    }
  } finally {
    if (!options.keepLab) {
      const paths = labPaths();
      await withLabLock(paths.lockFile, () => down(paths));
    }
  }
  header.push(
    `load average at end (1/5/15 min): ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  return finalReport(options, samples, header);
}

/** Writes the results, prints the table and ratios, and gives the exit status: 1 if anything is wrong. */
async function finalReport(options: BenchOptions, samples: Sample[], header: string[]): Promise<number> {
  const lines = await writeResults(options, samples, header);
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`results: ${join(options.out, 'results.md')}, ${join(options.out, 'chart.svg')}\n`);
  return allProblems(options, summarize(samples)).length > 0 ? 1 : 0;
}

function allProblems(options: BenchOptions, summaries: Summary[]): string[] {
  return [...summaries.flatMap(problems), ...(options.maxRatio === undefined ? [] : slowerThanFloor(summaries, options.maxRatio))];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
