/**
 * The tokens of a Python literal expression (strings with their prefixes and escapes, numbers in every
 * base, names, brackets and signs), for python-literal.ts. Anything Python's tokenizer would reject, or
 * that drover cannot represent, raises NotALiteral.
 */

/** Raised wherever `ast.literal_eval` would refuse the text. */
export class NotALiteral extends Error {}

export function refuse(): never {
  throw new NotALiteral();
}

export type Token =
  | { kind: 'string'; value: string; bytes: boolean }
  | { kind: 'number'; value: number }
  | { kind: 'name'; value: string }
  | { kind: 'op'; value: string }
  | { kind: 'end' };

const DIGITS = '[0-9](?:_?[0-9])*';
const POINT_FLOAT = `(?:(?:${DIGITS})?\\.${DIGITS}|${DIGITS}\\.)`;
const EXPONENT = `[eE][+-]?${DIGITS}`;
const NUMBER_PATTERNS: ReadonlyArray<readonly [RegExp, (text: string) => number]> = [
  [/^0[xX](?:_?[0-9a-fA-F])+/, (text) => integer(text.slice(2), 16)],
  [/^0[oO](?:_?[0-7])+/, (text) => integer(text.slice(2), 8)],
  [/^0[bB](?:_?[01])+/, (text) => integer(text.slice(2), 2)],
  [new RegExp(`^(?:(?:${POINT_FLOAT}|${DIGITS})${EXPONENT}|${POINT_FLOAT})`), (text) => float(text)],
  [/^(?:[1-9](?:_?[0-9])*|0(?:_?0)*)/, (text) => integer(text, 10)],
];
const STRING_PREFIXES = new Set(['', 'r', 'u', 'b', 'br', 'rb']);
const OPERATORS = ['...', '(', ')', '[', ']', '{', '}', ',', ':', '+', '-'];

function integer(digits: string, radix: number): number {
  const clean = digits.replaceAll('_', '');
  const value = radix === 10 ? Number(clean) : parseInt(clean, radix);
  if (!Number.isSafeInteger(value)) refuse();
  return value;
}

function float(text: string): number {
  const value = Number(text.replaceAll('_', ''));
  if (!Number.isFinite(value)) refuse();
  return value;
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (char === ' ' || char === '\t' || char === '\f') {
      i++;
      continue;
    }
    // Python's tokenizer drops a comment, so `8080 # web port` in a :vars line is 8080.
    if (char === '#') break;
    const rest = text.slice(i);
    const stringStart = /^([A-Za-z]{0,2})('''|"""|'|")/.exec(rest);
    if (stringStart) {
      const prefix = (stringStart[1] ?? '').toLowerCase();
      if (!STRING_PREFIXES.has(prefix)) refuse();
      const quote = stringStart[2] ?? "'";
      const bodyStart = i + stringStart[0].length;
      const bodyEnd = findStringEnd(text, bodyStart, quote);
      const body = text.slice(bodyStart, bodyEnd);
      const bytes = prefix.includes('b');
      tokens.push({ kind: 'string', value: prefix.includes('r') ? rawBody(body, bytes) : pythonUnescape(body, bytes), bytes });
      i = bodyEnd + quote.length;
      continue;
    }
    if (/^[0-9]|^\.[0-9]/.test(rest)) {
      const matched = NUMBER_PATTERNS.map(([pattern, convert]) => ({ match: pattern.exec(rest), convert })).find(({ match }) => match !== null);
      if (!matched?.match) refuse();
      const literal = matched.match[0];
      // `56L`, `1_`, `0777`, `1.2.3` and complex `2j` are all refused here, as Python refuses or
      // (for complex) as drover cannot represent them.
      if (/^[A-Za-z0-9_.]/.test(text.slice(i + literal.length))) refuse();
      tokens.push({ kind: 'number', value: matched.convert(literal) });
      i += literal.length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (name) {
      tokens.push({ kind: 'name', value: name[0] });
      i += name[0].length;
      continue;
    }
    const operator = OPERATORS.find((op) => rest.startsWith(op));
    if (!operator) refuse();
    tokens.push({ kind: 'op', value: operator });
    i += operator.length;
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

function findStringEnd(text: string, from: number, quote: string): number {
  let i = from;
  while (i < text.length) {
    if (text.startsWith(quote, i)) return i;
    const char = text.charAt(i);
    if (char === '\\') i += 2;
    else if ((char === '\n' || char === '\r') && quote.length === 1) refuse();
    else i++;
  }
  return refuse();
}

function rawBody(body: string, bytes: boolean): string {
  if (bytes) return decodeBytes([...body].map(byteOf));
  return body;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\n': '',
};

/** Python's escape sequences; an unknown one keeps its backslash, as Python does. */
function pythonUnescape(body: string, bytes: boolean): string {
  const units: number[] = [];
  let text = '';
  const emit = (code: number): void => {
    if (!bytes) text += String.fromCodePoint(code);
    else if (code > 0xff) refuse();
    else units.push(code);
  };
  const emitChar = (char: string): void => {
    emit(bytes ? byteOf(char) : (char.codePointAt(0) ?? 0));
  };
  for (let i = 0; i < body.length; i++) {
    const char = body.charAt(i);
    if (char !== '\\') {
      const code = body.codePointAt(i) ?? 0;
      if (code > 0xffff) i++;
      emitChar(String.fromCodePoint(code));
      continue;
    }
    const next = body.charAt(i + 1);
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      if (simple !== '') emitChar(simple);
      i += 1;
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(body.slice(i + 1));
    if (octal) {
      emit(parseInt(octal[0], 8));
      i += octal[0].length;
      continue;
    }
    const hexLength = next === 'x' ? 2 : !bytes && next === 'u' ? 4 : !bytes && next === 'U' ? 8 : 0;
    if (hexLength > 0) {
      const hex = body.slice(i + 2, i + 2 + hexLength);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(hex)) refuse();
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) refuse();
      emit(code);
      i += 1 + hexLength;
      continue;
    }
    if (!bytes && next === 'N') refuse();
    emitChar('\\');
  }
  return bytes ? decodeBytes(units) : text;
}

function byteOf(char: string): number {
  const code = char.codePointAt(0) ?? 0;
  // Python refuses non-ASCII characters in a bytes literal.
  if (code > 0x7f) refuse();
  return code;
}

/** Ansible turns bytes into text as UTF-8. */
function decodeBytes(units: number[]): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(units));
  } catch {
    return refuse();
  }
}
