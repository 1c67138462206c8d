/**
 * node:util parseArgs's errors in drover's words, on one line. Its own messages end an unknown option's
 * advice with a quote it never closes (`… after '--', as in '-- "--bogus"`), name options in its own
 * notation (`Option '-f, --forks <value>' argument missing`) and span three lines for a value that looks
 * like an option. parseArgs gives no fields, only a code and the message, so the option is read back from
 * the message; a message of another shape is passed on as it is.
 */
import { closest } from '../names.ts';

/** What went wrong, naming the option, without the trailing "see --help" (the caller adds its own). */
export function describeParseArgsError(error: unknown, known: readonly string[]): string {
  const message = error instanceof Error ? error.message.replace(/^TypeError \[\w+\]: /, '') : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /^Unknown option '([^']*)'/.exec(message)?.[1];
    if (option !== undefined) {
      const name = option.replace(/^-+/, '').replace(/=.*$/, '');
      const hint = option.startsWith('--') ? closest(name, [...known]) : undefined;
      return `unknown option ${option}${hint ? `; did you mean --${hint}?` : ''}`;
    }
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // `'-f, --forks <value>'` or `'--forks'`: the long name is what people look up in --help.
    const names = /^Option '([^']*)'/.exec(message)?.[1]?.replace(/ <value>$/, '');
    if (names !== undefined) {
      if (/argument missing$/.test(message)) return `option ${names} needs a value`;
      if (/does not take an argument$/.test(message)) return `option ${names} takes no value: give ${names.split(', ').at(-1)} alone`;
      if (/argument is ambiguous/.test(message)) {
        const long = /use '(--[\w-]+)=-XYZ'/.exec(message)?.[1] ?? names;
        return `option ${names} needs a value, and the word after it starts with "-": give the value, or write ${long}=VALUE for a value that starts with "-"`;
      }
    }
  }
  return message.replaceAll('\n', ' ');
}
