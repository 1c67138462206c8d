/**
 * The command line: `tsx run …` (run.ts) and the `drover` bin both land here. Every failure the
 * operator can fix ends as one clear message and an exit status, never a stack trace.
 */
import { execCommand, EXEC_HELP, moduleCommand, MODULE_HELP } from './adhoc-commands.ts';
import { refuseUndecodableArguments } from './argv-text.ts';
import { applyCommand, APPLY_HELP } from './apply-command.ts';
import { auditCommand, AUDIT_HELP } from './audit-command.ts';
import { describeError } from './describe-error.ts';
import { inventoryCommand, INVENTORY_HELP } from './inventory-command.ts';
import { PLAYBOOK_HELP, playbookCommand } from './playbook-command.ts';

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

Each subcommand has --help.`;

const HELP_BY_COMMAND: Record<string, string> = {
  exec: EXEC_HELP,
  module: MODULE_HELP,
  inventory: INVENTORY_HELP,
  audit: AUDIT_HELP,
  apply: APPLY_HELP,
  playbook: PLAYBOOK_HELP,
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
      case 'help':
        process.stdout.write(`${HELP_BY_COMMAND[rest[0] ?? ''] ?? MAIN_HELP}\n`);
        return 0;
      case 'exec':
        return await execCommand(rest);
      case 'module':
        return await moduleCommand(rest);
      case 'inventory':
        return await inventoryCommand(rest);
      case 'audit':
        return await auditCommand(rest);
      case 'apply':
        return await applyCommand(rest);
      default:
        return await playbookCommand(argv);
    }
  } catch (error) {
    process.stderr.write(`drover: ${describeError(error)}\n`);
    return 1;
  }
}
