/**
 * The documentation of a module's parameters for `run module --help MODULE`: the doc comment written
 * above each field of the module's `params` schema, read from the module's source file when help is
 * asked for, never at start-up. The comments stay where authors write them and editors show them
 * (hovering a parameter in a playbook), with no second copy to drift. drover runs from its TypeScript
 * sources (tsx), installed as a package too, so the source is always there to read.
 *
 * The reader is a small scanner, not a TypeScript parser: it skips strings, template literals, regular
 * expressions and comments, finds `const params = s.object({ … })`, and takes the doc comment before
 * each key at the top level of that object. A spread (`...fileAttributeParams`) is followed into the file
 * it is imported from (or this file), where `const NAME = { … }` is read the same way.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

type Token = { kind: 'doc'; text: string } | { kind: 'word'; text: string } | { kind: 'punct'; text: string };

/** Parameter name → its doc comment as one paragraph; parameters without one are absent. */
export function paramDocs(file: string): Map<string, string> {
  const docs = new Map<string, string>();
  collect(file, (tokens) => findParamsObject(tokens), docs, 0);
  return docs;
}

function collect(file: string, locate: (tokens: Token[]) => number, docs: Map<string, string>, depth: number): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return;
  }
  const tokens = tokenize(text);
  const start = locate(tokens);
  if (start < 0) return;
  for (const entry of objectEntries(tokens, start)) {
    if (entry.kind === 'key') {
      if (entry.doc !== undefined && !docs.has(entry.name)) docs.set(entry.name, entry.doc);
    } else if (depth < 4) {
      // A spread of fields declared in this file, or imported from another one.
      const from = importedFrom(tokens, entry.name);
      collect(from ? resolve(dirname(file), from) : file, (inner) => findObjectConst(inner, entry.name), docs, depth + 1);
    }
  }
}

/** Index of the `{` that opens the object given to `.object(` after `const params =`; -1 when absent. */
function findParamsObject(tokens: Token[]): number {
  for (let i = 0; i + 2 < tokens.length; i++) {
    if (isWord(tokens[i], 'const') && isWord(tokens[i + 1], 'params') && isPunct(tokens[i + 2], '=')) {
      for (let j = i + 3; j + 2 < tokens.length; j++) {
        if (isWord(tokens[j], 'object') && isPunct(tokens[j + 1], '(') && isPunct(tokens[j + 2], '{')) return j + 2;
      }
    }
  }
  return -1;
}

/** Index of the `{` in `const NAME = {` (exported or not); -1 when absent. */
function findObjectConst(tokens: Token[], name: string): number {
  for (let i = 0; i + 3 < tokens.length; i++) {
    if (isWord(tokens[i], 'const') && isWord(tokens[i + 1], name) && isPunct(tokens[i + 2], '=') && isPunct(tokens[i + 3], '{')) return i + 3;
  }
  return -1;
}

/** The relative module a name is imported from (`import { a, name } from './lib/x.ts'`). */
function importedFrom(tokens: Token[], name: string): string | undefined {
  for (let i = 0; i < tokens.length; i++) {
    if (!isWord(tokens[i], 'import')) continue;
    let j = i + 1;
    let named = false;
    while (j < tokens.length && !isWord(tokens[j], 'from')) {
      if (isWord(tokens[j], name)) named = true;
      j++;
    }
    const source = tokens[j + 1];
    if (named && source?.kind === 'word' && source.text.startsWith('.')) return source.text;
  }
  return undefined;
}

type Entry = { kind: 'key'; name: string; doc?: string } | { kind: 'spread'; name: string };

/** The keys (with their doc comments) and spreads at the top level of the object opened at `start`. */
function objectEntries(tokens: Token[], start: number): Entry[] {
  const entries: Entry[] = [];
  let depth = 0;
  let atEntry = true;
  let doc: string | undefined;
  for (let i = start; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'punct' && '([{'.includes(token.text)) {
      depth++;
      continue;
    }
    if (token.kind === 'punct' && ')]}'.includes(token.text)) {
      if (--depth === 0) break;
      continue;
    }
    if (depth !== 1) continue;
    if (token.kind === 'doc') {
      doc = token.text;
      continue;
    }
    if (token.kind === 'punct' && token.text === ',') {
      atEntry = true;
      doc = undefined;
      continue;
    }
    if (!atEntry) continue;
    const next = tokens[i + 1];
    if (token.kind === 'punct' && token.text === '...' && next?.kind === 'word') entries.push({ kind: 'spread', name: next.text });
    else if (token.kind === 'word' && (isPunct(next, ':') || (isPunct(next, '?') && isPunct(tokens[i + 2], ':'))))
      entries.push({ kind: 'key', name: token.text, doc });
    atEntry = false;
  }
  return entries;
}

function isWord(token: Token | undefined, text: string): boolean {
  return token?.kind === 'word' && token.text === text;
}

function isPunct(token: Token | undefined, text: string): boolean {
  return token?.kind === 'punct' && token.text === text;
}

/** After these, a `/` starts a regular expression rather than dividing. */
const BEFORE_REGEX = new Set(['(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^', 'return', 'typeof', 'case']);

/**
 * Words (identifiers, numbers and the text of string literals), punctuation and doc comments. Other
 * comments and the insides of template literals and regular expressions are skipped, so nothing in them
 * can look like a key or a bracket.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  /** For each open `{`: whether it opened a template literal's `${`. */
  const braces: boolean[] = [];
  let i = 0;
  const previous = () => tokens.at(-1)?.text;
  const skipTemplate = () => {
    // From inside a template literal to its end or to a `${`.
    while (i < text.length) {
      const char = text[i]!;
      if (char === '\\') i += 2;
      else if (char === '`') {
        i++;
        tokens.push({ kind: 'word', text: '`template`' });
        return;
      } else if (char === '$' && text[i + 1] === '{') {
        i += 2;
        braces.push(true);
        tokens.push({ kind: 'punct', text: '(' });
        return;
      } else i++;
    }
  };
  while (i < text.length) {
    const char = text[i]!;
    if (/\s/.test(char)) {
      i++;
    } else if (text.startsWith('/**', i) && !text.startsWith('/**/', i)) {
      const end = text.indexOf('*/', i + 3);
      const body = text.slice(i + 3, end < 0 ? text.length : end);
      tokens.push({ kind: 'doc', text: docText(body) });
      i = end < 0 ? text.length : end + 2;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (char === '"' || char === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== char && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      tokens.push({ kind: 'word', text: text.slice(i + 1, j) });
      i = j + 1;
    } else if (char === '`') {
      i++;
      skipTemplate();
    } else if (char === '/' && (tokens.length === 0 || BEFORE_REGEX.has(previous() ?? ''))) {
      let j = i + 1;
      let inClass = false;
      while (j < text.length && text[j] !== '\n') {
        if (text[j] === '\\') j++;
        else if (text[j] === '[') inClass = true;
        else if (text[j] === ']') inClass = false;
        else if (text[j] === '/' && !inClass) break;
        j++;
      }
      j++;
      while (j < text.length && /[a-z]/.test(text[j]!)) j++;
      tokens.push({ kind: 'word', text: '/regex/' });
      i = j;
    } else if (/[A-Za-z0-9_$]/.test(char)) {
      // An identifier, a keyword or a number (with its digits, dot and suffix).
      const match = /^(?:[A-Za-z_$][A-Za-z0-9_$]*|[0-9][0-9A-Za-z_.]*)/.exec(text.slice(i, i + 200))!;
      tokens.push({ kind: 'word', text: match[0] });
      i += match[0].length;
    } else if (text.startsWith('...', i)) {
      tokens.push({ kind: 'punct', text: '...' });
      i += 3;
    } else if (char === '{') {
      braces.push(false);
      tokens.push({ kind: 'punct', text: '{' });
      i++;
    } else if (char === '}') {
      i++;
      if (braces.pop()) {
        tokens.push({ kind: 'punct', text: ')' });
        skipTemplate();
      } else {
        tokens.push({ kind: 'punct', text: '}' });
      }
    } else {
      tokens.push({ kind: 'punct', text: char });
      i++;
    }
  }
  return tokens;
}

/** A doc comment's body as one paragraph: the leading `*` of each line and tags such as @example dropped. */
function docText(body: string): string {
  const lines = body.split('\n').map((line) => line.replace(/^\s*\*?\s?/, '').trimEnd());
  const untilTag = lines.findIndex((line) => line.startsWith('@'));
  return (untilTag < 0 ? lines : lines.slice(0, untilTag)).join(' ').replace(/\s+/g, ' ').trim();
}
