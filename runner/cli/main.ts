/**
 * The command line: `tsx run …` (run.ts) and the `drover` bin both land here. Every failure the
 * operator can fix ends as one clear message and an exit status, never a stack trace.
 *
 * Each subcommand's module is imported when that subcommand runs, not before: a playbook run needs the
 * engine, transport and every module, `--help` and `audit verify` need none of them, and loading the
 * whole graph (through tsx) was most of `tsx run --help`'s start-up.
 */
import { readFileSync } from 'node:fs';
import { refuseUndecodableArguments } from './argv-text.ts';
import { describeError } from './describe-error.ts';

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

/** `help COMMAND`: that command's help text, from its module (loaded for it alone). */
const HELP_BY_COMMAND: Record<string, () => Promise<string>> = {
  exec: async () => (await import('./adhoc-commands.ts')).EXEC_HELP,
  module: async () => (await import('./adhoc-commands.ts')).MODULE_HELP,
  inventory: async () => (await import('./inventory-command.ts')).INVENTORY_HELP,
  audit: async () => (await import('./audit-command.ts')).AUDIT_HELP,
  apply: async () => (await import('./apply-command.ts')).APPLY_HELP,
  playbook: async () => (await import('./playbook-command.ts')).PLAYBOOK_HELP,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    refuseUndecodableArguments(argv);
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
        process.stdout.write(`${MAIN_HELP}\n`);
        return command === undefined ? 1 : 0;
      case '--version':
        process.stdout.write(`${versionLine()}\n`);
        return 0;
      case 'help': {
        const help = Object.hasOwn(HELP_BY_COMMAND, rest[0] ?? '') ? await HELP_BY_COMMAND[rest[0]!]!() : MAIN_HELP;
        process.stdout.write(`${help}\n`);
        return 0;
      }
      case 'exec':
        return await (await import('./adhoc-commands.ts')).execCommand(rest);
      case 'module':
        return await (await import('./adhoc-commands.ts')).moduleCommand(rest);
      case 'inventory':
        return await (await import('./inventory-command.ts')).inventoryCommand(rest);
      case 'audit':
        return await (await import('./audit-command.ts')).auditCommand(rest);
      case 'apply':
        return await (await import('./apply-command.ts')).applyCommand(rest);
      default:
        return await (await import('./playbook-command.ts')).playbookCommand(argv);
    }
  } catch (error) {
    process.stderr.write(`drover: ${describeError(error)}\n`);
    return 1;
  }
}

/** `drover 0.1.0 (node v20.20.2)`: the package.json beside runner/, in a checkout and in an installed package alike. */
export function versionLine(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `drover ${manifest.version} (node ${process.version})`;
}
