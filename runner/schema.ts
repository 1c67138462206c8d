/**
 * Run-time schemas for module parameters and playbook variables.
 *
 * One declaration gives both the TypeScript types (input as a playbook writes it, output with defaults
 * applied, as a planner receives it) and the run-time check that ad-hoc (`run module … key=value`) and
 * inventory-driven input needs. Errors name the parameter path, the value and what is allowed.
 *
 * Example:
 *   const params = s.object({
 *     /** Key to set. *\/ name: s.string(),
 *     reload: s.boolean().default(true),
 *   });
 *   type Input = InputOf<typeof params>;   // { name: string; reload?: boolean }
 *   type Output = OutputOf<typeof params>; // { name: string; reload: boolean }
 */
import { closest, snakeToCamel } from './names.ts';
import { Secret } from './secret.ts';

/** Raised when input does not fit a schema. `path` is the parameter ("sysctl.value", "ports[2]"). */
export class SchemaError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path ? `${path}: ${problem}` : problem);
    this.name = 'SchemaError';
  }
}

export interface ParseOptions {
  /**
   * Input came from text (CLI `key=value`, INI inventory): accept "true"/"yes"/"1" for booleans, digits for
   * numbers, and comma-separated or JSON lists for arrays.
   */
  fromText?: boolean;
}

/** A schema: Out is what `parse` returns, In is what a caller may write; Opt marks an omittable object key. */
export abstract class Schema<Out, In = Out, Opt extends boolean = false> {
  declare readonly _out: Out;
  declare readonly _in: In;
  declare readonly _opt: Opt;

  /** Validates and converts a value; `path` names it in errors. */
  abstract parse(value: unknown, path: string, options?: ParseOptions): Out;

  /** What is allowed, for error messages and help ("a string", "one of: started, stopped"). */
  abstract describe(): string;

  /** Whether an object key with this schema may be left out (optional or defaulted). */
  get omittable(): boolean {
    return false;
  }

  /** The key may be left out; the output is then undefined. */
  optional(): Schema<Out | undefined, In | undefined, true> {
    return new OptionalSchema(this);
  }

  /** The key may be left out; the output is then `value`. */
  default(value: Out): Schema<Out, In | undefined, true> {
    return new DefaultSchema(this, value);
  }

  /** Adds a check beyond the type (a pattern, a range); `problem` says what is wrong with a value. */
  refine(check: (value: Out) => string | undefined): Schema<Out, In, Opt> {
    return new RefinedSchema(this, check);
  }
}

export type OutputOf<S> = S extends Schema<infer Out, unknown, boolean> ? Out : never;
export type InputOf<S> = S extends Schema<unknown, infer In, boolean> ? In : never;

export class OptionalSchema<Out, In> extends Schema<Out | undefined, In | undefined, true> {
  constructor(private readonly inner: Schema<Out, In, boolean>) {
    super();
  }
  parse(value: unknown, path: string, options?: ParseOptions): Out | undefined {
    return value === undefined || value === null ? undefined : this.inner.parse(value, path, options);
  }
  describe(): string {
    return this.inner.describe();
  }
  override get omittable(): boolean {
    return true;
  }
}

export class DefaultSchema<Out, In> extends Schema<Out, In | undefined, true> {
  constructor(
    private readonly inner: Schema<Out, In, boolean>,
    readonly defaultValue: Out,
  ) {
    super();
  }
  parse(value: unknown, path: string, options?: ParseOptions): Out {
    // The default goes through the same checks as a given value: a playbook's default that its own
    // schema refuses is found before the first task, not passed on as valid.
    return this.inner.parse(value === undefined || value === null ? this.defaultValue : value, path, options);
  }
  describe(): string {
    return `${this.inner.describe()} (default ${JSON.stringify(this.defaultValue)})`;
  }
  override get omittable(): boolean {
    return true;
  }
}

export class RefinedSchema<Out, In, Opt extends boolean> extends Schema<Out, In, Opt> {
  constructor(
    private readonly inner: Schema<Out, In, Opt>,
    private readonly check: (value: Out) => string | undefined,
  ) {
    super();
  }
  parse(value: unknown, path: string, options?: ParseOptions): Out {
    const parsed = this.inner.parse(value, path, options);
    const problem = this.check(parsed);
    if (problem) throw new SchemaError(path, problem);
    return parsed;
  }
  describe(): string {
    return this.inner.describe();
  }
  override get omittable(): boolean {
    return this.inner.omittable;
  }
}

function show(value: unknown): string {
  // A vaulted or password variable reaching s.string(): say what fits instead of showing only the mask.
  if (value instanceof Secret) return `a secret (${String(value)}; declare it s.secret() to take a password variable or an Ansible Vault value)`;
  // JSON has no Infinity or NaN (it writes null), and no functions or undefined.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Half of a surrogate pair without its other half: not text, and not encodable as UTF-8. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export class StringSchema extends Schema<string> {
  constructor(private readonly rules: { pattern?: RegExp; nonEmpty?: boolean; what?: string } = {}) {
    super();
  }
  parse(value: unknown, path: string, options?: ParseOptions): string {
    if (typeof value === 'number' && options?.fromText) value = String(value);
    if (typeof value !== 'string') throw new SchemaError(path, `expected ${this.describe()}, got ${show(value)}`);
    if (value.includes('\0')) throw new SchemaError(path, 'contains a NUL byte, which no command or file name can carry');
    if (LONE_SURROGATE.test(value)) throw new SchemaError(path, 'contains a lone UTF-16 surrogate, which has no UTF-8 form (it would be written as U+FFFD)');
    if (this.rules.nonEmpty && value === '') throw new SchemaError(path, 'must not be empty');
    if (this.rules.pattern && !this.rules.pattern.test(value)) {
      throw new SchemaError(path, `${show(value)} is not ${this.describe()}`);
    }
    return value;
  }
  describe(): string {
    return this.rules.what ?? (this.rules.pattern ? `a string matching ${this.rules.pattern}` : 'a string');
  }
}

export class NumberSchema extends Schema<number> {
  constructor(private readonly rules: { integer?: boolean; min?: number; max?: number } = {}) {
    super();
  }
  parse(value: unknown, path: string, options?: ParseOptions): number {
    if (typeof value === 'string' && options?.fromText && /^-?\d+(\.\d+)?$/.test(value.trim())) {
      const text = value.trim();
      value = Number(text);
      // Digits alone are a whole number, which a double holds exactly only up to 2^53 - 1: past it,
      // 9007199254740993 would silently be 9007199254740992.
      if (/^-?\d+$/.test(text) && !Number.isSafeInteger(value)) throw new SchemaError(path, unsafeInteger(value as number, text));
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new SchemaError(path, `expected ${this.describe()}, got ${show(value)}`);
    }
    if (this.rules.integer && !Number.isInteger(value)) throw new SchemaError(path, `expected ${this.describe()}, got ${value}`);
    // From YAML or JSON the number was rounded when it was read; any whole number this large may have been.
    if (this.rules.integer && !Number.isSafeInteger(value)) throw new SchemaError(path, unsafeInteger(value));
    if (this.rules.min !== undefined && value < this.rules.min) throw new SchemaError(path, `${value} is below the minimum ${this.rules.min}`);
    if (this.rules.max !== undefined && value > this.rules.max) throw new SchemaError(path, `${value} is above the maximum ${this.rules.max}`);
    return value;
  }
  describe(): string {
    const range = this.rules.min !== undefined || this.rules.max !== undefined ? ` from ${this.rules.min ?? '-∞'} to ${this.rules.max ?? '∞'}` : '';
    return `${this.rules.integer ? 'a whole number' : 'a number'}${range}`;
  }
}

/**
 * Why a whole number beyond ±(2^53 - 1) is refused: a number is a double, which holds whole numbers exactly
 * only that far, so the value would be another one than written, without a word. `text`: the digits as
 * written, when the input was text; a number read from YAML or JSON was already rounded when it was read.
 */
function unsafeInteger(value: number, text?: string): string {
  const exact = BigInt(value).toString();
  const what =
    text === undefined
      ? `${exact} (perhaps rounded from the number written, when the YAML or JSON was read)`
      : text === exact
        ? text
        : `${text} (it would be ${exact})`;
  return `${what} cannot be held exactly: whole numbers are exact only from -${Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}; give a smaller number, or, for an identifier made of digits, a string (quoted in YAML or JSON, s.string() in the schema)`;
}

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

export class BooleanSchema extends Schema<boolean> {
  parse(value: unknown, path: string, options?: ParseOptions): boolean {
    if (typeof value === 'string' && options?.fromText) {
      const word = value.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
    }
    if (typeof value !== 'boolean') throw new SchemaError(path, `expected true or false, got ${show(value)}`);
    return value;
  }
  describe(): string {
    return 'true or false';
  }
}

export class EnumSchema<T extends string> extends Schema<T> {
  constructor(readonly choices: readonly T[]) {
    super();
  }
  parse(value: unknown, path: string): T {
    if (typeof value === 'string' && (this.choices as readonly string[]).includes(value)) return value as T;
    throw new SchemaError(path, `${show(value)} is not allowed; expected ${this.describe()}`);
  }
  describe(): string {
    return `one of: ${this.choices.join(', ')}`;
  }
}

export class ArraySchema<Out, In> extends Schema<Out[], In[]> {
  constructor(
    private readonly item: Schema<Out, In, boolean>,
    private readonly rules: { nonEmpty?: boolean } = {},
  ) {
    super();
  }
  parse(value: unknown, path: string, options?: ParseOptions): Out[] {
    if (typeof value === 'string' && options?.fromText) value = textToList(value, path);
    if (!Array.isArray(value)) throw new SchemaError(path, `expected a list of ${this.item.describe()}, got ${show(value)}`);
    if (this.rules.nonEmpty && value.length === 0) throw new SchemaError(path, 'must not be an empty list');
    return value.map((item, index) => this.item.parse(item, `${path}[${index}]`, options));
  }
  describe(): string {
    return `a list of ${this.item.describe()}`;
  }
}

function textToList(text: string, path: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      throw new SchemaError(path, `${show(text)} starts like a JSON list but is not valid JSON`);
    }
  }
  return trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim());
}

export class RecordSchema<Out, In> extends Schema<Record<string, Out>, Record<string, In>> {
  constructor(private readonly value: Schema<Out, In, boolean>) {
    super();
  }
  parse(input: unknown, path: string, options?: ParseOptions): Record<string, Out> {
    if (typeof input === 'string' && options?.fromText) input = parseJsonObject(input, path);
    if (!isPlainObject(input)) throw new SchemaError(path, `expected a mapping of names to ${this.value.describe()}, got ${show(input)}`);
    const out: Record<string, Out> = {};
    for (const [key, item] of Object.entries(input)) out[key] = this.value.parse(item, `${path}.${key}`, options);
    return out;
  }
  describe(): string {
    return `a mapping of names to ${this.value.describe()}`;
  }
}

function parseJsonObject(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SchemaError(path, `expected a JSON object, got ${show(text)}`);
  }
}

/** A string or a Secret in, a Secret out: passwords and tokens are never handled as plain strings. */
export class SecretSchema extends Schema<Secret, string | Secret> {
  parse(value: unknown, path: string): Secret {
    // A NUL is refused here as in strings: otherwise a union of string and secret takes the secret branch
    // and the NUL surfaces only when the command is built, as an internal error.
    const text = value instanceof Secret ? value.reveal() : value;
    if (typeof text === 'string' && text.includes('\0')) throw new SchemaError(path, 'contains a NUL byte, which no command or file name can carry');
    if (value instanceof Secret) return value;
    if (typeof value === 'string') return new Secret(value, path);
    throw new SchemaError(path, 'expected a secret (a string or secret(...))');
  }
  describe(): string {
    return 'a secret string';
  }
}

export class UnionSchema<Out, In> extends Schema<Out, In> {
  constructor(private readonly options: Array<Schema<Out, In, boolean>>) {
    super();
  }
  parse(value: unknown, path: string, options?: ParseOptions): Out {
    const problems: string[] = [];
    for (const option of this.options) {
      try {
        return option.parse(value, path, options);
      } catch (error) {
        if (!(error instanceof SchemaError)) throw error;
        problems.push(...refusals(option, error, value, path));
      }
    }
    // Every branch refusing for the same reason (a NUL, say) is one reason, said once.
    const reasons = new Set(problems.map((problem) => problem.replace(/^as [^:]+: /, '')));
    if (problems.length > 1 && reasons.size === 1) throw new UnionError(path, [...reasons][0]!, problems);
    throw new UnionError(path, `expected ${this.describe()}, got ${show(value)} (${problems.join('; ')})`, problems);
  }
  describe(): string {
    return this.options.map((option) => option.describe()).join(' or ');
  }
}

/** A union's refusal, with each branch's reason, so that a union nested in a union lists them flat. */
class UnionError extends SchemaError {
  constructor(
    path: string,
    problem: string,
    readonly reasons: string[],
  ) {
    super(path, problem);
  }
}

/** Why one branch of a union refused a value: "not a string" when the type is wrong, else the branch's own words. */
function refusals(option: Schema<unknown, unknown, boolean>, error: SchemaError, value: unknown, path: string): string[] {
  if (error instanceof UnionError && error.path === path) return error.reasons;
  if (error.path === path && error.problem === `expected ${option.describe()}, got ${show(value)}`) return [`not ${option.describe()}`];
  const where = error.path !== path && error.path.startsWith(path) ? `${error.path.slice(path.length).replace(/^\./, '')}: ` : '';
  return [`as ${option.describe()}: ${where}${error.problem}`];
}

type Shape = Record<string, Schema<unknown, unknown, boolean>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K]['_opt'] extends true ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Flatten<T> = { [K in keyof T]: T[K] } & {};
export type ObjectInput<S extends Shape> = Flatten<{ [K in RequiredKeys<S>]: S[K]['_in'] } & { [K in OptionalKeys<S>]?: S[K]['_in'] }>;
export type ObjectOutput<S extends Shape> = Flatten<{ [K in RequiredKeys<S>]: S[K]['_out'] } & { [K in OptionalKeys<S>]: S[K]['_out'] }>;

/** Declared checks across fields ("backup needs a path"), run after every field parsed. */
export type CrossFieldRule<Out> = (value: Out) => string | undefined;

export class ObjectSchema<S extends Shape> extends Schema<ObjectOutput<S>, ObjectInput<S>> {
  constructor(
    readonly shape: S,
    private readonly rules: Array<CrossFieldRule<ObjectOutput<S>>> = [],
  ) {
    super();
  }

  /** Adds a cross-field rule; return a problem sentence or undefined. */
  rule(check: CrossFieldRule<ObjectOutput<S>>): ObjectSchema<S> {
    return new ObjectSchema(this.shape, [...this.rules, check]);
  }

  parse(value: unknown, path: string, options?: ParseOptions): ObjectOutput<S> {
    if (!isPlainObject(value)) throw new SchemaError(path, `expected a mapping of parameters, got ${show(value)}`);
    const known = Object.keys(this.shape);
    const given = normaliseKeys(value, known, path);
    const out: Record<string, unknown> = {};
    for (const key of known) {
      const field = this.shape[key] as Schema<unknown, unknown, boolean>;
      const fieldPath = path ? `${path}.${key}` : key;
      const raw = given[key];
      if (raw === undefined && !field.omittable) {
        throw new SchemaError(fieldPath, `is required (${field.describe()})`);
      }
      const parsed = field.parse(raw, fieldPath, options);
      if (parsed !== undefined) out[key] = parsed;
    }
    const result = out as ObjectOutput<S>;
    for (const rule of this.rules) {
      const problem = rule(result);
      if (problem) throw new SchemaError(path, problem);
    }
    return result;
  }

  describe(): string {
    return `a mapping with ${Object.keys(this.shape).join(', ')}`;
  }
}

/**
 * Accepts each parameter in camelCase or Ansible's snake_case; refuses unknown names with the closest
 * known one, because a misspelt optional parameter silently ignored is the bug this tool exists to stop.
 */
function normaliseKeys(value: Record<string, unknown>, known: string[], path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const name = known.includes(key) ? key : snakeToCamel(key);
    if (!known.includes(name)) {
      const hint = closest(key, known);
      throw new SchemaError(path ? `${path}.${key}` : key, `unknown parameter${hint ? `; did you mean ${hint}?` : ''} (known: ${known.join(', ')})`);
    }
    if (name in out) throw new SchemaError(path ? `${path}.${key}` : key, `given twice (as ${name} and ${key})`);
    out[name] = item;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Secret);
}

/** The schema builders. */
export const s = {
  string: (rules?: { pattern?: RegExp; nonEmpty?: boolean; what?: string }) => new StringSchema(rules),
  number: (rules?: { min?: number; max?: number }) => new NumberSchema(rules),
  int: (rules?: { min?: number; max?: number }) => new NumberSchema({ ...rules, integer: true }),
  boolean: () => new BooleanSchema(),
  enum: <const T extends string>(choices: readonly T[]) => new EnumSchema<T>(choices),
  array: <Out, In>(item: Schema<Out, In, boolean>, rules?: { nonEmpty?: boolean }) => new ArraySchema(item, rules),
  record: <Out, In>(value: Schema<Out, In, boolean>) => new RecordSchema(value),
  object: <S extends Shape>(shape: S) => new ObjectSchema(shape),
  secret: () => new SecretSchema(),
  union: <Out, In>(...options: Array<Schema<Out, In, boolean>>) => new UnionSchema(options),
};
