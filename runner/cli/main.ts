/**
 * The command line: `tsx run …` (run.ts) and the `drover` bin both land here. Every failure the
 * operator can fix ends as one clear message and an exit status, never a stack trace.
 *
 * Each subcommand's module is imported when that subcommand runs, not before: a playbook run needs the
 * engine, transport and every module, `--help` and `audit verify` need none of them, and loading the
 * whole graph (through tsx) was most of `tsx run --help`'s start-up.
 */
import { refuseUndecodableArguments } from './argv-text.ts';
import { describeError } from './describe-error.ts';
import { answerWithoutCommand, MAIN_HELP } from './main-help.ts';

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
    const answer = answerWithoutCommand(argv);
    if (answer) {
      process.stdout.write(`${answer.text}\n`);
      return answer.status;
    }
    switch (command) {
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
