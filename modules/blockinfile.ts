/**
 * blockinfile: keep a block of lines between two marker lines in a file — insert it, update it in place
 * when it changed, or remove it — so re-runs never duplicate it. Ansible's semantics and parameters.
 *
 * @example
 *   await t.blockinfile('lab hosts', {
 *     path: '/etc/hosts',
 *     block: '10.0.0.11 node-1\n10.0.0.12 node-2',
 *     marker: '# {mark} DROVER lab hosts',
 *   });
 *
 * The edit is `editBlock` (pure, exported, table-tested), computed on the controller from the file's
 * bytes; the result is written atomically by `planFileContent` (modules/lib/).
 */
import { ModuleError } from '../runner/module-error.ts';
import { defineModule, noChange } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import { fileAttributeParams, hostPath } from './lib/file-params.ts';
import { fileText, planEditedFile, pythonRegex, readEditable, type EditResult } from './lineinfile.ts';

/** The default marker; `{mark}` becomes markerBegin / markerEnd. */
export const DEFAULT_MARKER = '# {mark} DROVER MANAGED BLOCK';

export interface BlockEdit {
  state: 'present' | 'absent';
  /** The lines between the markers; an empty block removes the markers too (as in Ansible). */
  block: string;
  marker: string;
  markerBegin: string;
  markerEnd: string;
  /** A regexp or `EOF`: where a new block goes (after the last matching line). */
  insertafter?: string;
  /** A regexp or `BOF`: where a new block goes (before the last matching line). */
  insertbefore?: string;
  /** Put a blank line before the block unless it starts the file or follows one. */
  prependNewline?: boolean;
  /** Put a blank line after the block unless it ends the file or a blank line follows. */
  appendNewline?: boolean;
}

const LINESEP = '\n';

/** Splits after "\r\n", "\r" or "\n", keeping them, like Python's bytes.splitlines(True). */
function splitLines(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\r\n|\r(?!\n)|\n)/);
}

/** Pure: applies a blockinfile edit to a file's text (`null`: the file does not exist yet). */
export function editBlock(before: string | null, edit: BlockEdit): EditResult {
  const lines = before === null ? [] : splitLines(before);
  const present = edit.state === 'present';
  let insertafter = edit.insertafter;
  const insertbefore = edit.insertbefore;
  if (insertafter === undefined && insertbefore === undefined) insertafter = 'EOF';
  const insertRe =
    insertafter !== undefined && insertafter !== 'EOF'
      ? pythonRegex(insertafter, 'insertafter')
      : insertbefore !== undefined && insertbefore !== 'BOF'
        ? pythonRegex(insertbefore, 'insertbefore')
        : undefined;

  const begin = edit.marker.split('{mark}').join(edit.markerBegin) + LINESEP;
  const end = edit.marker.split('{mark}').join(edit.markerEnd) + LINESEP;
  let blockLines: string[] = [];
  if (present && edit.block !== '') {
    const block = edit.block.endsWith(LINESEP) ? edit.block : edit.block + LINESEP;
    blockLines = [begin, ...splitLines(block), end];
  }

  let n0: number | undefined;
  let n1: number | undefined;
  lines.forEach((line, index) => {
    if (line === begin) n0 = index;
    if (line === end) n1 = index;
  });

  let at: number;
  if (n0 === undefined || n1 === undefined) {
    let position: number | undefined;
    if (insertRe) {
      if (insertRe.flags.includes('m')) {
        // A multi-line pattern is searched in the whole text; the position is the line it ends (after)
        // or starts (before) on.
        const text = before ?? '';
        const match = insertRe.exec(text);
        if (match) {
          const offset = insertafter !== undefined ? match.index + match[0].length : match.index;
          position = countNewlines(text.slice(0, offset));
        }
      } else {
        lines.forEach((line, index) => {
          if (insertRe.test(line.replace(/\r?\n$|\r$/, ''))) position = index;
        });
      }
      if (position === undefined) position = lines.length;
      else if (insertafter !== undefined) position += 1;
    } else if (insertbefore !== undefined) {
      position = 0;
    } else {
      position = lines.length;
    }
    at = position;
  } else if (n0 < n1) {
    lines.splice(n0, n1 - n0 + 1);
    at = n0;
  } else {
    lines.splice(n1, n0 - n1 + 1);
    at = n1;
  }

  if (at > 0 && !lines[at - 1]!.endsWith(LINESEP)) lines[at - 1] += LINESEP;
  if (edit.prependNewline && present && at !== 0 && lines[at - 1] !== LINESEP) {
    lines.splice(at, 0, LINESEP);
    at += 1;
  }
  lines.splice(at, 0, ...blockLines);
  if (edit.appendNewline && present) {
    const after = at + blockLines.length;
    if (after < lines.length && lines[after] !== LINESEP) lines.splice(after, 0, LINESEP);
  }

  const text = lines.join('');
  if (before === text) return { text, changed: false, message: '', doing: '' };
  const message = before === null ? 'file created' : blockLines.length === 0 ? 'block removed' : 'block inserted';
  return { text, changed: true, message, doing: blockLines.length === 0 ? 'removing the block' : 'writing the block' };
}

function countNewlines(text: string): number {
  let count = 0;
  for (const char of text) if (char === '\n') count++;
  return count;
}

const params = s
  .object({
    /** The file to edit (absolute). Symbolic links are followed, as in Ansible. */
    path: hostPath(),
    /** `present`: the block is in the file between its markers; `absent`: the markers and block are removed. */
    state: s.enum(['present', 'absent']).default('present'),
    /** The text between the markers (a final newline is added when missing). An empty block removes the block. */
    block: s.string().default(''),
    /** The marker line template; `{mark}` becomes markerBegin or markerEnd. Make it unique per block in a file. */
    marker: s
      .string({ pattern: /\{mark\}/, what: 'a marker line containing {mark}' })
      .refine((value) => (/[\r\n]/.test(value) ? 'a marker must be one line' : undefined))
      .default(DEFAULT_MARKER),
    /** What `{mark}` becomes in the first marker line. */
    markerBegin: s.string({ pattern: /^[^\r\n]*$/, what: 'one line of text' }).default('BEGIN'),
    /** What `{mark}` becomes in the last marker line. */
    markerEnd: s.string({ pattern: /^[^\r\n]*$/, what: 'one line of text' }).default('END'),
    /** Where a new block goes: after the last line matching this regexp (Python syntax; `(?m)` searches across lines), or `EOF` (default). */
    insertafter: s.string().optional(),
    /** Where a new block goes: before the last line matching this regexp, or `BOF`. */
    insertbefore: s.string().optional(),
    /** Add a blank line before a new block unless one is there. */
    prependNewline: s.boolean().default(false),
    /** Add a blank line after a new block unless one is there. */
    appendNewline: s.boolean().default(false),
    /** Create the file (and its directories) when it does not exist; otherwise a missing file is an error. */
    create: s.boolean().default(false),
    /** Keep a timestamped copy of the old file before changing it. */
    backup: s.boolean().default(false),
    ...fileAttributeParams,
  })
  .rule((p) => (p.insertafter !== undefined && p.insertbefore !== undefined ? 'give at most one of insertafter and insertbefore' : undefined))
  .rule((p) => (p.markerBegin === p.markerEnd ? 'markerBegin and markerEnd must differ, or the block could not be found again' : undefined));

export type BlockinfileParams = InputOf<typeof params>;

export const blockinfile = defineModule({
  name: 'blockinfile',
  summary: 'Keep a block of lines between marker lines in a file (insert, update in place, remove)',
  params,
  contentParams: ['block'],
  async plan(p, host) {
    const state = await readEditable(host, p.path);
    if (state.kind === 'absent' && p.state === 'absent') return noChange(`${p.path} does not exist; no block to remove`);
    if (state.kind === 'absent' && !p.create) {
      throw new ModuleError(`${p.path} does not exist on ${host.name}`, 'set create to make it, or fix the path');
    }
    const before = state.kind === 'absent' ? null : fileText(state);
    return planEditedFile(p, state, editBlock(before, p), host);
  },
});
