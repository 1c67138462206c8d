/**
 * Extra variables (`-e`), Ansible's highest-precedence layer: `-e key=value` (several pairs in one
 * argument, shell-quoted), `-e @vars.yaml` / `-e @vars.json`, `-e '{"key": …}'`; repeatable, later wins.
 *
 * key=value values are strings, as in Ansible; the playbook's `vars` schema then types a declared one
 * the way it types key=value text elsewhere (`run module … port=8080`): `"8080"` becomes 8080 where the
 * schema wants a number, `"true"` true where it wants a boolean. YAML and JSON values keep their types,
 * like inventory values. Undeclared keys are not the playbook's concern: they reach `host.allVars`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { exactIntegers, INEXACT_INTEGER, INEXACT_INTEGER_HINT, inexactJsonInteger } from '../../inventory/exact-integers.ts';
import { decodeUtf8, UTF8_HINT } from '../../inventory/utf8-text.ts';
import { shlexSplit } from '../../inventory/shlex.ts';
import { CONNECTION_VARIABLES } from '../../inventory/connection.ts';
import { InventoryError } from '../../inventory/errors.ts';
import { isSecretVariable } from '../../inventory/secret-variables.ts';
import { checkAliases } from '../../inventory/yaml-file.ts';
import { SchemaError, type Schema } from '../schema.ts';
import { Secret } from '../secret.ts';
import { UsageError } from './options.ts';

/** One variable as the command line set it: the -e argument that set it last, for messages. */
export interface ExtraVar {
  value: unknown;
  /** The -e argument as given (`@vars.yaml`, `port=8080`). */
  arg: string;
  /** From key=value text: the schema may coerce it. */
  fromText: boolean;
}

export type ExtraVars = ReadonlyMap<string, ExtraVar>;

/** Parses every -e argument in order; a later argument's key replaces an earlier one's (whole values). */
export function parseExtraVars(args: readonly string[], cwd = process.cwd()): ExtraVars {
  const out = new Map<string, ExtraVar>();
  for (const arg of args) {
    for (const [key, value] of Object.entries(oneArgument(arg, cwd))) {
      out.delete(key);
      out.set(key, { value, arg, fromText: !isStructured(arg) });
    }
  }
  return out;
}

function isStructured(arg: string): boolean {
  return arg.startsWith('@') || arg.trimStart().startsWith('{');
}

/**
 * The argument as an error may quote it. An inline argument that names a secret variable is not quoted:
 * it failed to parse, so its value cannot be told apart from the rest, and the error went to the terminal
 * and CI logs with the password in it (`-e db_password=it's…: no closing single quote`).
 */
function shownArgument(arg: string): string {
  if (arg.startsWith('@')) return arg;
  return (arg.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []).some(isSecretName) ? '(an argument naming a secret variable; not shown)' : arg;
}

function oneArgument(arg: string, cwd: string): Record<string, unknown> {
  if (arg.startsWith('@')) {
    // `-e @` alone would read the working directory (EISDIR): name what is missing instead.
    if (arg.slice(1).trim() === '') throw new UsageError(`-e ${arg}: no file name after @; give the variables file as -e @vars.yaml (YAML or JSON)`);
    const path = resolve(cwd, arg.slice(1));
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      if (code === 'EISDIR') throw new UsageError(`-e ${arg}: ${path} is a directory; -e @FILE takes a YAML or JSON file of variables`);
      throw new UsageError(`-e ${arg}: cannot read ${path}: ${code}`);
    }
    const decoded = decodeUtf8(bytes);
    if ('problem' in decoded) throw new UsageError(`-e ${arg}: ${decoded.problem}. ${UTF8_HINT}`);
    // YAML is a superset of JSON: one parser reads both, and its errors give line and column. A tag it
    // does not know (Ansible's !vault above all) is refused: its text would otherwise be the value.
    const lineCounter = new LineCounter();
    const document = parseDocument(decoded.text, { lineCounter, prettyErrors: false, uniqueKeys: true, customTags: exactIntegers });
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem) {
      if (problem.message.startsWith(INEXACT_INTEGER)) throw new UsageError(`-e ${arg}: ${path}: ${problem.message}. ${INEXACT_INTEGER_HINT}`);
      if (problem.code === 'TAG_RESOLVE_FAILED' && problem.message.includes('!vault')) {
        throw new UsageError(
          `-e ${arg}: ${path} holds a !vault value, which -e files do not decrypt; put the variable in a group_vars/ or host_vars/ file (where !vault is decrypted with --vault-password-file) instead`,
        );
      }
      throw new UsageError(`-e ${arg}: ${path} is not valid YAML or JSON: ${problem.message}`);
    }
    // The inventory's checks: an alias inside the value it names, or an alias bomb, was a stack trace.
    try {
      checkAliases(document, path, (offset) => (offset === undefined ? undefined : lineCounter.linePos(offset).line));
    } catch (error) {
      if (error instanceof InventoryError) throw new UsageError(`-e ${arg}: ${error.message}`);
      throw error;
    }
    return mapping(document.toJS({ maxAliasCount: -1 }), `-e ${arg}`);
  }
  const shown = shownArgument(arg);
  if (arg.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(arg);
    } catch (error) {
      // V8's message quotes a piece of the text, which may be the secret's.
      const reason = shown === arg ? `: ${error instanceof Error ? error.message : String(error)}` : '';
      throw new UsageError(`-e ${shown}: not valid JSON${reason}`);
    }
    const inexact = inexactJsonInteger(arg);
    if (inexact !== undefined)
      throw new UsageError(`-e ${shown}: ${INEXACT_INTEGER}: ${inexact} would be read as ${BigInt(Number(inexact))}. ${INEXACT_INTEGER_HINT}`);
    return mapping(parsed, `-e ${shown}`);
  }
  let words: string[];
  try {
    words = shlexSplit(arg);
  } catch (error) {
    throw new UsageError(`-e ${shown}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (words.length === 0) throw new UsageError(`-e takes key=value, @FILE (YAML or JSON) or a JSON object, got an empty argument`);
  const out: Record<string, unknown> = {};
  for (const word of words) {
    const at = word.indexOf('=');
    const key = at > 0 ? word.slice(0, at) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      const got = shown === arg ? ` got ${JSON.stringify(word)};` : '';
      throw new UsageError(`-e ${shown}: expected key=value (a variable name, then =),${got} a file is -e @FILE, JSON is -e '{"key": …}'`);
    }
    Object.defineProperty(out, key, { value: word.slice(at + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Deeper than any real variable: the walks that find secrets and type values recurse (8,000 levels was a RangeError). */
const MAX_NESTING = 100;

function mapping(value: unknown, where: string): Record<string, unknown> {
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (depth > MAX_NESTING) throw new UsageError(`${where}: values nested more than ${MAX_NESTING} levels deep; flatten them`);
    if (item && typeof item === 'object') for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(
      `${where}: extra variables must be a mapping of names to values, got ${Array.isArray(value) ? 'a list' : value === null ? 'nothing' : typeof value}`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * The extra variables the schema declares, each typed by its field (key=value text coerced), once for
 * every host: a wrong value is one error naming the -e argument, not one per host.
 */
export function typeExtraVars(
  schema: { shape: Readonly<Record<string, Schema<unknown, unknown, boolean>>> },
  extra: ExtraVars,
): { declared: Record<string, unknown>; errors: string[] } {
  const declared: Record<string, unknown> = {};
  const errors: string[] = [];
  const shape = schema.shape;
  for (const [key, entry] of extra) {
    const field = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (!field) continue;
    try {
      // The field's output is handed to the whole schema again with the host's other variables: text is
      // coerced here, where it is known to be text, so the second pass sees typed values.
      const typed = field.parse(entry.value, key, { fromText: entry.fromText });
      Object.defineProperty(declared, key, { value: typed instanceof Secret ? typed.reveal() : typed, enumerable: true, writable: true, configurable: true });
    } catch (error) {
      if (!(error instanceof SchemaError)) throw error;
      errors.push(`-e ${entry.arg}: ${error.message}`);
    }
  }
  return { declared, errors };
}

/** Names that hold secrets: inventory password variables, and any name saying password, secret, token or key. */
export function isSecretName(name: string): boolean {
  return isSecretVariable(name) || /pass(word|phrase)?|secret|token|private_?key|api_?key|credential/i.test(name);
}

/**
 * The values to hand the redactor before anything is shown: every Secret, and every string or number leaf
 * under a secret-named key, nested ones too. For -e (argv holds `-e db_password=…`, and the audit log
 * records argv) and for the inventory's variables in an error that quotes a value.
 */
export function secretsUnderNames(variables: Iterable<readonly [string, unknown]>): string[] {
  const out: string[] = [];
  const walk = (value: unknown, secretName: boolean): void => {
    if (value instanceof Secret) out.push(value.reveal());
    else if (secretName && (typeof value === 'string' || typeof value === 'number')) {
      if (String(value) !== '') out.push(String(value));
    } else if (Array.isArray(value)) for (const item of value) walk(item, secretName);
    else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) walk(item, secretName || isSecretName(key));
  };
  for (const [key, value] of variables) walk(value, isSecretName(key));
  return out;
}

export function extraVarSecrets(extra: ExtraVars): string[] {
  const out: string[] = [];
  for (const [key, entry] of extra) {
    const values = secretsUnderNames([[key, entry.value]]);
    out.push(...values);
    // The argument as typed holds the value too, perhaps in another form (quotes, a backslash, JSON's
    // \u0033), which the value does not match; argv and the audit log's `from` show that text, so the
    // whole argument is a secret. A file's values are not on the command line.
    if (values.length > 0 && !entry.arg.startsWith('@')) out.push(entry.arg);
  }
  return out;
}

/** What the audit log's run-start records: every extra variable and the argument that set it, secret-named values masked. */
export function recordedExtraVars(extra: ExtraVars): Record<string, { value: unknown; from: string }> {
  const mask = (value: unknown, secretName: boolean): unknown => {
    if (value instanceof Secret) return value;
    if (secretName && value !== null && typeof value !== 'object') return new Secret(String(value), 'extra variable');
    if (Array.isArray(value)) return value.map((item) => mask(item, secretName));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mask(item, secretName || isSecretName(key))]));
    return value;
  };
  const out: Record<string, { value: unknown; from: string }> = {};
  for (const [key, entry] of extra) {
    // The argument itself may hold a secret value (`-e db_password=…`): the redactor, given extraVarSecrets, masks it.
    Object.defineProperty(out, key, { value: { value: mask(entry.value, isSecretName(key)), from: `-e ${entry.arg}` }, enumerable: true });
  }
  return out;
}

/**
 * A warning for each extra variable that names a connection setting (`-e ansible_host=…`, `-e
 * ansible_become=true`): connections are resolved from the inventory before -e applies, so the variable
 * reaches the play's `host.allVars` while the connection goes elsewhere. It was silently ignored.
 */
export function connectionVariableWarnings(extra: ExtraVars): string[] {
  const connection = new Set<string>(Object.values(CONNECTION_VARIABLES).flat());
  return [...extra.keys()]
    .filter((key) => connection.has(key))
    .map(
      (key) =>
        `-e ${key} does not change how drover connects or becomes another user (those settings come from the inventory): set ${key} in the inventory (host_vars/, group_vars/) instead`,
    );
}

/**
 * The targets with the extra variables laid over each host's variables (`host.allVars`, templates,
 * `ctx.hosts()`): the same objects each time, so a host is one value however often it is selected.
 * Connection settings were resolved from the inventory before this: `-e ansible_host=…` does not move a
 * connection (documented in the README).
 */
export function withExtraVars<
  T extends {
    select(pattern: string, options: { allowEmpty: boolean; ignoreLimit?: boolean }): Array<{ name: string; vars: Readonly<Record<string, unknown>> }>;
  },
>(targets: T, extra: ExtraVars): T {
  if (extra.size === 0) return targets;
  const layered = new Map<string, { name: string; vars: Readonly<Record<string, unknown>> }>();
  const overlay = Object.fromEntries([...extra].map(([key, entry]) => [key, entry.value]));
  const select: T['select'] = (pattern, options) =>
    targets.select(pattern, options).map((target) => {
      let host = layered.get(target.name);
      if (!host) {
        host = { ...target, vars: Object.freeze({ ...target.vars, ...overlay }) };
        layered.set(target.name, host);
      }
      return host;
    });
  return { ...targets, select };
}
