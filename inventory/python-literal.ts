/**
 * The part of Python's `ast.literal_eval` that Ansible's INI inventory applies to every `key=value`:
 * `2222` is a number, `True` a boolean, `'a b'` a string without its quotes, `[1, 2]` a list, `80,443` a
 * list too (a tuple), `{'a': 1}` a mapping. Text that literal_eval rejects — `true`, `web01`, `10-5`, `0777`
 * — stays the text, exactly as Ansible keeps it.
 *
 * Source of the rules: ansible/plugins/inventory/ini.py `_parse_value` and the Python `ast.literal_eval`
 * grammar. Where JavaScript cannot hold the Python value the text is kept instead (documented deviations):
 * complex numbers (`1+2j`), integers beyond 2^53, floats that overflow to infinity, `\N{name}` escapes,
 * and bytes that are not UTF-8. A set keeps its first-seen order (Python's is arbitrary).
 */
import { NotALiteral, refuse, tokenize, type Token } from './python-literal-tokens.ts';

export type PythonLiteral = string | number | boolean | null | PythonLiteral[] | { [key: string]: PythonLiteral };

/** Ansible's INI value typing: the literal's value, or the text itself when it is not a Python literal. */
export function iniValue(text: string): PythonLiteral {
  const value = parsePythonLiteral(text);
  return value === undefined ? text : value;
}

/** The value of a Python literal expression, or undefined when `ast.literal_eval` would refuse it. */
export function parsePythonLiteral(text: string): PythonLiteral | undefined {
  try {
    const parser = new LiteralParser(tokenize(text));
    return parser.parseWhole();
  } catch (error) {
    if (error instanceof NotALiteral) return undefined;
    throw error;
  }
}

class LiteralParser {
  #position = 0;

  constructor(private readonly tokens: Token[]) {}

  parseWhole(): PythonLiteral {
    if (this.peek().kind === 'end') refuse();
    const { value } = this.parseSequence('end');
    if (this.peek().kind !== 'end') refuse();
    return value;
  }

  private peek(): Token {
    return this.tokens[this.#position] ?? { kind: 'end' };
  }

  private next(): Token {
    const token = this.peek();
    this.#position++;
    return token;
  }

  private isOp(value: string): boolean {
    const token = this.peek();
    return token.kind === 'op' && token.value === value;
  }

  private expectOp(value: string): void {
    if (!this.isOp(value)) refuse();
    this.#position++;
  }

  private atCloser(closer: string): boolean {
    return closer === 'end' ? this.peek().kind === 'end' : this.isOp(closer);
  }

  /** `a` or `a, b` (a tuple, which Ansible turns into a list), up to the closer. */
  private parseSequence(closer: string): { value: PythonLiteral } {
    const first = this.parseExpression();
    if (!this.isOp(',')) return { value: first };
    const items = [first];
    while (this.isOp(',')) {
      this.#position++;
      if (this.atCloser(closer)) break;
      items.push(this.parseExpression());
    }
    return { value: items };
  }

  private parseExpression(): PythonLiteral {
    const token = this.next();
    switch (token.kind) {
      case 'number':
        return token.value;
      case 'string':
        return this.parseStrings(token);
      case 'name':
        return this.parseName(token.value);
      case 'op':
        return this.parseOperator(token.value);
      case 'end':
        return refuse();
    }
  }

  /** Adjacent literals concatenate (`'a' 'b'`); mixing bytes and text is a Python syntax error. */
  private parseStrings(first: { value: string; bytes: boolean }): string {
    let value = first.value;
    for (let token = this.peek(); token.kind === 'string'; token = this.peek()) {
      if (token.bytes !== first.bytes) refuse();
      value += token.value;
      this.#position++;
    }
    return value;
  }

  private parseName(name: string): PythonLiteral {
    if (name === 'True') return true;
    if (name === 'False') return false;
    if (name === 'None') return null;
    if (name === 'set' && this.isOp('(')) {
      this.#position++;
      this.expectOp(')');
      return [];
    }
    return refuse();
  }

  private parseOperator(op: string): PythonLiteral {
    switch (op) {
      case '-':
      case '+': {
        // literal_eval allows one sign on a number, nothing else (`--1`, `-True` and `10-5` are refused).
        const operand = this.next();
        if (operand.kind !== 'number') refuse();
        const value = op === '-' ? -operand.value : operand.value;
        return value === 0 ? 0 : value;
      }
      case '...':
        // Ansible turns Ellipsis back into its text.
        return '...';
      case '(': {
        if (this.isOp(')')) {
          this.#position++;
          return [];
        }
        // `(1, 2)` is a tuple (a list here) and `(1)` just 1: parseSequence shapes both.
        const { value } = this.parseSequence(')');
        this.expectOp(')');
        return value;
      }
      case '[':
        return this.parseItems(']');
      case '{':
        return this.parseBraces();
      default:
        return refuse();
    }
  }

  private parseItems(closer: string): PythonLiteral[] {
    const items: PythonLiteral[] = [];
    while (!this.isOp(closer)) {
      items.push(this.parseExpression());
      if (!this.isOp(',')) break;
      this.#position++;
    }
    this.expectOp(closer);
    return items;
  }

  /** `{}` is an empty dict, `{k: v}` a dict, `{a, b}` a set (a list here, first-seen order, no duplicates). */
  private parseBraces(): PythonLiteral {
    if (this.isOp('}')) {
      this.#position++;
      return {};
    }
    const first = this.parseExpression();
    if (this.isOp(':')) {
      const entries = new Map<string, PythonLiteral>();
      this.#position++;
      entries.set(dictKey(first), this.parseExpression());
      while (this.isOp(',')) {
        this.#position++;
        if (this.isOp('}')) break;
        const key = dictKey(this.parseExpression());
        this.expectOp(':');
        entries.set(key, this.parseExpression());
      }
      this.expectOp('}');
      return Object.fromEntries(entries);
    }
    const items = [first];
    while (this.isOp(',')) {
      this.#position++;
      if (this.isOp('}')) break;
      items.push(this.parseExpression());
    }
    this.expectOp('}');
    const unique: PythonLiteral[] = [];
    for (const item of items) {
      if (typeof item === 'object' && item !== null) refuse(); // unhashable in a set
      if (!unique.includes(item)) unique.push(item);
    }
    return unique;
  }
}

/** A dict key as JSON would write it; lists and dicts are unhashable in Python and refused. */
function dictKey(key: PythonLiteral): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'boolean' || key === null) return JSON.stringify(key);
  return refuse();
}
