/**
 * Command-line arguments that were not text. Node decodes argv as UTF-8 before drover sees it: a byte
 * that is not UTF-8 arrives as U+FFFD and the original is gone, and on some platforms an argument can
 * hold a lone UTF-16 surrogate. Either way a host name, path or value would silently become a different
 * one (written to a file as EF BF BD), so such an argument is refused, named by its position and shown
 * with the unreadable part marked.
 */
import { UsageError } from './options.ts';

const REPLACEMENT = '\ufffd';
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Throws a UsageError for the first argument that is not valid text (see the file comment). */
export function refuseUndecodableArguments(argv: readonly string[]): void {
  argv.forEach((arg, index) => {
    if (!arg.includes(REPLACEMENT) && !LONE_SURROGATE.test(arg)) return;
    const shown = JSON.stringify(arg).replaceAll(REPLACEMENT, '\\ufffd');
    throw new UsageError(
      `argument ${index + 1} (${shown}) is not valid UTF-8 text${arg.includes(REPLACEMENT) ? ' (\\ufffd marks bytes that could not be decoded, or a literal U+FFFD)' : ' (it holds a lone UTF-16 surrogate)'}; ` +
        'drover refuses it rather than act on a changed name or value: pass it as UTF-8 (e.g. convert the file name with iconv or use a variable file)',
    );
  });
}
