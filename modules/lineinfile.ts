/**
 * lineinfile: make sure one line is in a file (replacing the line a regexp finds, or inserting it after
 * or before a matching line, or at the start or end), or that no line matching is left. Ansible's
 * semantics, parameter for parameter, so a playbook ported from Ansible edits files the same way.
 *
 * @example
 *   await t.lineinfile('no swap in fstab', { path: '/etc/fstab', regexp: '^([^#].*\\sswap\\s.*)$', line: '# \\1', backrefs: true });
 *   await t.lineinfile('sshd: no passwords', { path: '/etc/ssh/sshd_config', regexp: '^#?PasswordAuthentication', line: 'PasswordAuthentication no', insertafter: '^#?UsePAM' });
 *
 * The edit is computed on the controller by `editLines` (pure, exported, table-tested against Ansible's
 * documented behaviour) from the file's bytes, which one probe fetches; the new content is then written
 * atomically by `planFileContent` (modules/lib/). Regular expressions use Python syntax where it differs from
 * JavaScript's in the common cases (`(?P<name>…)`, `(?P=name)`, a leading `(?i)`/`(?m)`/`(?s)`, `\A`,
 * `\Z`), and `\1` / `\g<name>` in `line` with `backrefs`. As in Ansible the regexp is searched in each
 * line; here the line's final newline is not part of the searched text, so `$` means end of line.
 */
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange, type HostContext, type Plan } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { planFileContent, type FileContentOptions } from './lib/file-content.ts';
import { fileAttributeParams, hostPath } from './lib/file-params.ts';
import { readFileState, type FileState } from './facts/file-state.ts';

/** What `editLines` needs: Ansible's lineinfile parameters. */
export interface LineEdit {
  state: 'present' | 'absent';
  /** The line to put (present) or to remove when neither regexp nor searchString is given (absent). */
  line?: string;
  /** Lines to replace (present, the last match or the first with firstmatch) or remove (absent). */
  regexp?: string;
  /** Like regexp, but a plain substring. */
  searchString?: string;
  /** A regexp, `EOF` or `BOF`: insert after the last matching line when regexp found nothing. */
  insertafter?: string;
  /** A regexp or `BOF`: insert before the last matching line when regexp found nothing. */
  insertbefore?: string;
  backrefs?: boolean;
  firstmatch?: boolean;
}

export interface EditResult {
  /** The new content (unchanged content when nothing to do). */
  text: string;
  changed: boolean;
  /** Ansible's message: "line added", "line replaced", "2 line(s) removed", or "". */
  message: string;
  /**
   * The same as a clause that ends the change's summary, which is an imperative a dry run puts "would"
   * before (`update /etc/x (8 → 12 bytes), adding the line`): "adding the line", "replacing the matched
   * line", "removing 2 line(s)", or "".
   */
  doing: string;
}

const LINESEP = '\n';

/** Splits after each "\n", keeping it, like Python's readlines(). */
function readLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === '' ? [] : lines;
}

/** The text a regexp is searched in: the line without its final newline. */
function searchable(line: string): string {
  return line.endsWith('\n') ? line.slice(0, -1) : line;
}

/** Python's rstrip('\r\n'): the line's text without any trailing CR/LF. */
function bare(line: string): string {
  return line.replace(/[\r\n]+$/, '');
}

function endsWithBreak(line: string | undefined): boolean {
  return line !== undefined && (line.endsWith('\n') || line.endsWith('\r'));
}

/** Pure: applies a lineinfile edit to a file's text (`null`: the file does not exist yet). */
export function editLines(before: string | null, edit: LineEdit): EditResult {
  const lines = before === null ? [] : readLines(before);
  const original = before ?? '';
  const regexp = edit.regexp !== undefined ? pythonRegex(edit.regexp, 'regexp') : undefined;
  const matches = (line: string): RegExpExecArray | boolean | null => {
    if (regexp) return regexp.exec(searchable(line));
    if (edit.searchString !== undefined) return line.includes(edit.searchString);
    return edit.line !== undefined && bare(line) === edit.line;
  };

  if (edit.state === 'absent') {
    const kept = lines.filter((line) => !matches(line));
    const removed = lines.length - kept.length;
    return {
      text: kept.join(''),
      changed: removed > 0,
      message: removed > 0 ? `${removed} line(s) removed` : '',
      doing: removed > 0 ? `removing ${removed} line(s)` : '',
    };
  }

  if (edit.line === undefined) throw new ModuleError('line is required with state=present', 'give the line to put in the file');
  const line = edit.line;
  let insertafter = edit.insertafter;
  const insertbefore = edit.insertbefore;
  if (insertafter === undefined && insertbefore === undefined) insertafter = 'EOF';
  const insertRe =
    insertafter !== undefined && insertafter !== 'BOF' && insertafter !== 'EOF'
      ? pythonRegex(insertafter, 'insertafter')
      : insertbefore !== undefined && insertbefore !== 'BOF'
        ? pythonRegex(insertbefore, 'insertbefore')
        : undefined;

  // Ansible: a regexp (or searchString) match wins; insertafter/insertbefore only place a line that no
  // regexp found. [0]: the line to replace, [1]: the insertion point.
  let found = -1;
  let insertAt = -1;
  let match: RegExpExecArray | null = null;
  let anyMatch = false;
  if (regexp || edit.searchString !== undefined) {
    for (let index = 0; index < lines.length; index++) {
      const result = matches(lines[index]!);
      if (result) {
        found = index;
        anyMatch = true;
        if (result !== true) match = result;
        if (edit.firstmatch) break;
      }
    }
  }
  if (!anyMatch) {
    for (let index = 0; index < lines.length; index++) {
      const current = lines[index]!;
      if (bare(current) === line) {
        found = index;
      } else if (insertRe?.test(searchable(current))) {
        if (insertafter !== undefined) {
          insertAt = index + 1;
          if (edit.firstmatch) break;
        }
        if (insertbefore !== undefined) {
          insertAt = index;
          if (edit.firstmatch) break;
        }
      }
    }
  }

  const result = [...lines];
  const done = (message: 'line added' | 'line replaced'): EditResult => ({
    text: result.join(''),
    changed: result.join('') !== original || before === null,
    message,
    doing: message === 'line added' ? 'adding the line' : 'replacing the matched line',
  });
  const unchanged: EditResult = { text: original, changed: false, message: '', doing: '' };
  if (found !== -1) {
    let newLine = edit.backrefs && match ? expandBackrefs(line, match) : line;
    if (!newLine.endsWith(LINESEP)) newLine += LINESEP;
    if (result[found] !== newLine) {
      result[found] = newLine;
      return done('line replaced');
    }
    return unchanged;
  }
  if (edit.backrefs) return unchanged;
  if (insertbefore === 'BOF' || insertafter === 'BOF') {
    result.unshift(line + LINESEP);
    return done('line added');
  }
  if (insertafter === 'EOF' || insertAt === -1) {
    if (result.length > 0 && !endsWithBreak(result[result.length - 1])) result.push(LINESEP);
    result.push(line + LINESEP);
    return done('line added');
  }
  if (insertafter !== undefined) {
    if (result.length === insertAt) {
      if (bare(result[insertAt - 1]!) === line) return unchanged;
      if (!endsWithBreak(result[result.length - 1])) result[result.length - 1] += LINESEP;
      result.push(line + LINESEP);
      return done('line added');
    }
    if (bare(result[insertAt]!) === line) return unchanged;
    result.splice(insertAt, 0, line + LINESEP);
    return done('line added');
  }
  result.splice(insertAt, 0, line + LINESEP);
  return done('line added');
}

/**
 * Compiles a regexp written for Ansible (Python `re`) as a JavaScript RegExp: the differences that
 * appear in real playbooks are translated, anything else is taken as it is. An invalid pattern is a
 * ModuleError naming the parameter.
 */
export function pythonRegex(pattern: string, parameter: string): RegExp {
  let source = pattern;
  let flags = '';
  const inline = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (inline) {
    for (const flag of inline[1]!) {
      if (flag === 'i' || flag === 'm' || flag === 's') flags += flags.includes(flag) ? '' : flag;
      else if (flag !== 'u' && flag !== 'a') {
        throw new ModuleError(
          `${parameter} ${JSON.stringify(pattern)} uses the Python flag (?${flag}), which drover does not support`,
          'rewrite the pattern without it',
        );
      }
    }
    source = source.slice(inline[0].length);
  }
  // One pass that steps over every escape: `\\A` is an escaped backslash and an A, not Python's \A, and
  // `\(?P<` an escaped parenthesis. \A and \Z are the ends of the whole string even under (?m), where
  // JavaScript's ^ and $ also match at line ends: lookarounds that no character may precede or follow.
  source = source.replace(/\\([\s\S])|\(\?P<|\(\?P=(\w+)\)/g, (whole, escaped: string | undefined, backreference: string | undefined) => {
    if (escaped === 'A') return '(?<![\\s\\S])';
    if (escaped === 'Z') return '(?![\\s\\S])';
    if (escaped !== undefined) return whole;
    if (backreference !== undefined) return `\\k<${backreference}>`;
    return '(?<';
  });
  try {
    return new RegExp(source, flags + 'u');
  } catch {
    try {
      // Without the u flag, as Python would accept escapes such as \- outside classes.
      return new RegExp(source, flags);
    } catch (error) {
      throw new ModuleError(`${parameter} ${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}`, 'fix the pattern');
    }
  }
}

/** Python's match.expand: `\1`…`\99`, `\g<1>`, `\g<name>`, `\n`, `\t`, `\\`; an unmatched group is empty. */
export function expandBackrefs(template: string, match: RegExpExecArray): string {
  return template.replace(/\\(g<(\w+)>|\d{1,2}|[ntr\\])/g, (whole, token: string, named: string | undefined) => {
    if (named !== undefined) {
      const value = /^\d+$/.test(named) ? match[Number(named)] : match.groups?.[named];
      if (!/^\d+$/.test(named) && !(match.groups && named in match.groups)) {
        throw new ModuleError(`line refers to the group ${named}, which the regexp does not have`, 'name the group in regexp with (?P<name>…) or (?<name>…)');
      }
      return value ?? '';
    }
    if (/^\d+$/.test(token)) {
      const index = Number(token);
      if (index >= match.length) throw new ModuleError(`line refers to group ${index}, but the regexp has ${match.length - 1}`, 'count the groups in regexp');
      return match[index] ?? '';
    }
    return { n: '\n', t: '\t', r: '\r', '\\': '\\' }[token] ?? whole;
  });
}

/** A refinement refusing CR and LF: lineinfile compares single lines, so such a value never matches. */
function oneLine(hint: string): (value: string) => string | undefined {
  return (value) =>
    /[\r\n]/.test(value)
      ? `holds a line break (${JSON.stringify(value)}); lineinfile manages exactly one line, so it would add it again on every run: ${hint}`
      : undefined;
}

const params = s
  .object({
    /** The file to edit (absolute). Symbolic links are followed, as in Ansible. */
    path: hostPath(),
    /** `present`: the line is in the file; `absent`: no line matching regexp, searchString or line is. */
    state: s.enum(['present', 'absent']).default('present'),
    /**
     * The line to put in the file (with backrefs, may use `\1` / `\g<name>` from regexp). One line: a
     * line with a newline in it can never match a line of the file, so it would be added again on every
     * run; it is refused (use blockinfile for several lines).
     */
    line: s.string().refine(oneLine('to manage several lines as one unit, use blockinfile')).optional(),
    /** A regular expression (Python syntax) for the line to replace (the last match, or the first with firstmatch) or remove. */
    regexp: s.string().optional(),
    /** A plain substring for the line to replace or remove (instead of regexp). */
    searchString: s.string().refine(oneLine('a line of the file never contains a line break')).optional(),
    /** Where a new line goes when regexp matched nothing: after the last line matching this regexp, or `EOF` (default), or `BOF`. */
    insertafter: s.string().optional(),
    /** Where a new line goes when regexp matched nothing: before the last line matching this regexp, or `BOF`. */
    insertbefore: s.string().optional(),
    /** Expand `\1`… in line from the regexp match; when regexp matches nothing the file is left alone. */
    backrefs: s.boolean().default(false),
    /** Use the first matching line (for regexp and insertafter/insertbefore) instead of the last. */
    firstmatch: s.boolean().default(false),
    /** Create the file (and its directories) when it does not exist; otherwise a missing file is an error. */
    create: s.boolean().default(false),
    /** Keep a timestamped copy of the old file before changing it. */
    backup: s.boolean().default(false),
    ...fileAttributeParams,
  })
  .rule((p) => (p.insertafter !== undefined && p.insertbefore !== undefined ? 'give at most one of insertafter and insertbefore' : undefined))
  .rule((p) => (p.regexp !== undefined && p.searchString !== undefined ? 'give at most one of regexp and searchString' : undefined))
  .rule((p) => (p.backrefs && p.regexp === undefined ? 'backrefs needs regexp' : undefined))
  .rule((p) => (p.state === 'present' && p.line === undefined ? 'line is required with state=present' : undefined))
  .rule((p) =>
    p.state === 'absent' && p.line === undefined && p.regexp === undefined && p.searchString === undefined
      ? 'state=absent needs one of line, regexp or searchString'
      : undefined,
  );

export type LineinfileParams = InputOf<typeof params>;

export const lineinfile = defineModule({
  name: 'lineinfile',
  summary: 'Make sure a line is in a file (by regexp, after/before a match) or that matching lines are not',
  params,
  async plan(p, host) {
    const state = await readEditable(host, p.path);
    if (state.kind === 'absent' && p.state === 'absent') return noChange(`${p.path} does not exist; nothing to remove`);
    if (state.kind === 'absent' && !p.create) {
      throw new ModuleError(`${p.path} does not exist on ${host.name}`, 'set create to make it, or fix the path');
    }
    const before = state.kind === 'absent' ? null : fileText(state);
    const edit = editLines(before, p);
    return planEditedFile(p, state, edit, host);
  },
});

/** One probe with the whole content (an edit needs all of it); links are followed as Ansible does. */
export async function readEditable(host: HostContext, path: string): Promise<FileState> {
  const state = await readFileState(host, path, { follow: true, content: 'always' });
  if (state.kind === 'directory') throw new ModuleError(`${state.path} is a directory`, 'give the path of a file');
  if (state.kind === 'other') throw new ModuleError(`${state.path} is not a regular file`, 'give the path of a regular file');
  return state;
}

/** The file's text; a file that is not UTF-8 cannot be edited line by line safely. */
export function fileText(state: FileState): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(state.content ?? Buffer.alloc(0));
  } catch {
    throw new ModuleError(`${state.path} is not UTF-8 text`, 'edit it with copy or template instead');
  }
}

/** Writes an edited text through planFileContent, also applying mode/owner/group when only they differ. */
export async function planEditedFile(
  p: { backup: boolean; create?: boolean; mode?: string; owner?: string; group?: string },
  state: FileState,
  edit: EditResult,
  host: HostContext,
): Promise<Plan> {
  const options: FileContentOptions = {
    path: state.path,
    content: edit.text,
    mode: p.mode,
    owner: p.owner,
    group: p.group,
    backup: p.backup,
    createParents: p.create,
  };
  const plan = await planFileContent(options, host, state);
  if (plan.changes.length === 0) return noChange(`${state.path}: ${edit.message || 'already as asked'}`);
  // The file's summary stays the imperative ("update /etc/x (…)"), so that "would" reads before it in a dry run.
  if (edit.doing) plan.changes[0]!.summary = `${plan.changes[0]!.summary}, ${edit.doing}`;
  return plan;
}
