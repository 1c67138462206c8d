/**
 * What drover answers before it loads any command: the main help and its version. main.ts answers them
 * for the installed `drover`; run.ts answers them itself, without starting the drover it supervises for
 * every other command line, which would cost a node process and tsx's loader (about 0.4 s of the 1.4 s
 * that `npx tsx run --help` took on the slower bench machine: issue 13). So this module imports nothing of
 * drover's.
 */
import { readFileSync } from 'node:fs';

export const MAIN_HELP = `drover: agentless automation over SSH — typed TypeScript playbooks, fail-fast, trustworthy dry runs, audited.

Usage:
  tsx run PLAYBOOK.ts -i INVENTORY [--check] [--diff] [options]   run a playbook
  tsx run PLAYBOOK.ts -i INVENTORY --check --save-plan PLAN.json  save the dry run's plan for review
  tsx run apply PLAN.json -i INVENTORY                            apply it exactly as reviewed
  tsx run exec PATTERN -i INVENTORY -- COMMAND…                    one shell command on many hosts
  tsx run module PATTERN -i INVENTORY MODULE key=value…            one module on many hosts
  tsx run inventory -i INVENTORY --list | --graph                  show the inventory
  tsx run audit verify FILE… | audit show FILE                     check or read an audit log
  tsx run audit report FILE… -o report.html                        a page (or --format markdown) for review
  tsx run audit merge LOG… -o MERGED.jsonl                         join the logs of a run's shards (--shard I/N)
  tsx run --version                                                drover's version (and node's)

Each subcommand has --help.`;

/** `drover 0.1.0 (node v20.20.2)`: the package.json beside runner/, in a checkout and in an installed package alike. */
export function versionLine(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `drover ${manifest.version} (node ${process.version})`;
}

/**
 * `--help`, `-h` and no command at all (the main help; no command is an error, status 1) and `--version`:
 * what to print on standard output and the exit status. Undefined for every other command line.
 */
export function answerWithoutCommand(argv: readonly string[]): { text: string; status: number } | undefined {
  switch (argv[0]) {
    case undefined:
      return { text: MAIN_HELP, status: 1 };
    case '-h':
    case '--help':
      return { text: MAIN_HELP, status: 0 };
    case '--version':
      return { text: versionLine(), status: 0 };
    default:
      return undefined;
  }
}
