/**
 * Renders Handlebars templates for configuration files, strictly: a template that names a value the
 * context does not have is an error (naming the template, the line and column, and the missing name)
 * raised while planning, before anything on any host changes, instead of a config file with a hole.
 *
 * Secrets in the context render as the mask unless the caller asks for `revealSecrets`; either way the
 * result lists which secrets the template used, so the file planner can keep the content out of diffs.
 *
 * @example
 *   const { text, secretsUsed } = renderTemplate('server {{host}}:{{port}}\n', { host: 'a', port: 6443 }, 'templates/kubeadm.hbs');
 */
import { createRequire } from 'node:module';
import type HandlebarsModule from 'handlebars';
import { Secret } from './secret.ts';

export interface RenderOptions {
  /** Put secrets' real values in the output (only for text that goes to the host on stdin). */
  revealSecrets?: boolean;
}

export interface RenderedTemplate {
  text: string;
  /** The secrets the template actually rendered, in first-use order. */
  secretsUsed: Secret[];
}

/** A template could not be compiled or named something missing. `origin` is the file (or "inline template"). */
export class TemplateError extends Error {
  constructor(
    readonly origin: string,
    readonly problem: string,
    readonly line?: number,
    readonly column?: number,
    /** The name that was not found, for a strict-mode miss. */
    readonly missing?: string,
  ) {
    super(`${origin}${line !== undefined ? `:${line}${column !== undefined ? `:${column + 1}` : ''}` : ''}: ${problem}`);
    this.name = 'TemplateError';
  }
}

/** The helper every `{{value}}` is routed through (see `textOutputs`). */
const TEXT_HELPER = '__drover_text';

let environment: typeof HandlebarsModule | undefined;

/**
 * An isolated Handlebars environment: no helper registered elsewhere leaks in, and the `log` helper is
 * gone because a template must not print to the controller's terminal. Made on first use, with a
 * synchronous require (Handlebars is CommonJS): loading it costs about 20 ms of start-up, and most runs
 * render no template.
 */
function handlebars(): typeof HandlebarsModule {
  if (environment) return environment;
  const created = (createRequire(import.meta.url)('handlebars') as typeof HandlebarsModule).create();
  created.unregisterHelper('log');
  created.registerHelper(TEXT_HELPER, (value: unknown) => (value === null || value === undefined ? '' : String(value)));
  environment = created;
  return created;
}

/**
 * Renders `source` with `context`. `origin` names the template in errors.
 *
 * `strict: true` makes a missing name an error (Handlebars' default renders it as empty text).
 * `noEscape: true` because the output is a configuration file, not HTML: HTML escaping would turn
 * `a && b` in a shell snippet or `<` in an XML-less config into `&amp;&amp;` and `&lt;`.
 */
export function renderTemplate(source: string, context: object, origin: string, options: RenderOptions = {}): RenderedTemplate {
  const used: Secret[] = [];
  const wrapped = wrapSecrets(context, used, Boolean(options.revealSecrets), new WeakMap());
  let ast: unknown;
  try {
    ast = handlebars().parse(source);
    textOutputs(ast);
    strictParams(ast);
    // `log` is no longer a helper here; without this it would still be compiled as a known one.
    const template = handlebars().compile(ast, { strict: true, noEscape: true, knownHelpers: { log: false, [TEXT_HELPER]: true } });
    const text = template(wrapped);
    return { text, secretsUsed: used };
  } catch (error) {
    throw toTemplateError(error, origin, context, ast);
  }
}

/**
 * With `noEscape`, Handlebars 4 joins a template's outputs with `+` and no leading string, so
 * `{{a}}{{b}}` with a = b = 1 renders "2" (escaping would have made them strings first). Every output
 * `{{x}}` / `{{helper x}}` becomes `{{__drover_text x}}` / `{{__drover_text (helper x)}}`, whose
 * result is always text.
 */
function textOutputs(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) textOutputs(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key !== 'loc' && typeof value === 'object') textOutputs(value);
  }
  if (record.type !== 'MustacheStatement') return;
  const params = Array.isArray(record.params) ? record.params : [];
  const inner = params.length > 0 || record.hash ? { type: 'SubExpression', path: record.path, params, hash: record.hash, loc: record.loc } : record.path;
  record.path = { type: 'PathExpression', data: false, depth: 0, parts: [TEXT_HELPER], original: TEXT_HELPER, loc: record.loc };
  record.params = [inner];
  record.hash = undefined;
}

/**
 * Handlebars' strict mode checks names that are printed (`{{x}}`) but not names given to helpers
 * (`{{#if x}}`, `{{#each xs}}`), so a misspelt list name would silently render an empty section. Marking
 * every parameter path strict closes that gap: a value a template may leave out must be present in the
 * context as `null` or `false`, which states the intent instead of hiding the typo.
 */
function strictParams(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) strictParams(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  const marked = [...(Array.isArray(record.params) ? record.params : [])];
  const hash = record.hash as { pairs?: Array<{ value: unknown }> } | undefined;
  for (const pair of hash?.pairs ?? []) marked.push(pair.value);
  for (const param of marked) {
    if (typeof param === 'object' && param !== null && (param as { type?: string }).type === 'PathExpression') {
      (param as { strict?: boolean }).strict = true;
    }
  }
  for (const [key, value] of Object.entries(record)) {
    if (key !== 'loc' && typeof value === 'object') strictParams(value);
  }
}

/**
 * Secrets are replaced by objects whose `toString` records the use and gives the value or the mask:
 * Handlebars turns a rendered value into text with `toString`, so this is the one place where a secret
 * can enter the output. `{{#if token}}` still sees a truthy object.
 */
function wrapSecrets(value: unknown, used: Secret[], reveal: boolean, seen: WeakMap<object, unknown>): unknown {
  if (value instanceof Secret) {
    return {
      toString(): string {
        if (!used.includes(value)) used.push(value);
        return reveal ? value.reveal() : String(value);
      },
    };
  }
  if (Array.isArray(value)) {
    if (seen.has(value)) return seen.get(value);
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(wrapSecrets(item, used, reveal, seen));
    return out;
  }
  if (isPlainObject(value)) {
    if (seen.has(value)) return seen.get(value);
    const out: Record<string, unknown> = {};
    seen.set(value, out);
    // A name whose value is undefined is left out, so that strict mode stops on it as on a missing name:
    // `{ appName: vars.app_name }` with app_name unset must not render as empty text (null is the way to
    // say "empty on purpose").
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = wrapSecrets(item, used, reveal, seen);
    return out;
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const STRICT_MISS = /^"(.*)" not defined in /s;
const LOCATION = / - (\d+):(\d+)$/;

function toTemplateError(error: unknown, origin: string, context: object, ast?: unknown): Error {
  if (!(error instanceof Error)) return new TemplateError(origin, String(error));
  const withLocation = error as Error & { lineNumber?: number; column?: number };
  const miss = STRICT_MISS.exec(error.message);
  if (miss) {
    const name = miss[1]!;
    // Handlebars names only the last part of a path (`name` of `cluster.name`); the path at the error's
    // location says which object lacks it.
    const path =
      withLocation.lineNumber !== undefined && withLocation.column !== undefined ? pathAt(ast, withLocation.lineNumber, withLocation.column) : undefined;
    if (path !== undefined && path !== name && path.endsWith(`.${name}`)) {
      const holder = path.slice(0, -name.length - 1);
      return new TemplateError(
        origin,
        `the template uses "${path}", and "${holder}" has no "${name}" (or its value is undefined)`,
        withLocation.lineNumber,
        withLocation.column,
        path,
      );
    }
    const record = context as Record<string, unknown>;
    const known = Object.keys(context)
      .filter((key) => record[key] !== undefined)
      .sort();
    const available = known.length ? `; top-level names available: ${known.join(', ')}` : '; the context is empty';
    const what = Object.hasOwn(context, name) && record[name] === undefined ? 'whose value is undefined' : 'which is not defined';
    return new TemplateError(origin, `the template uses "${name}", ${what}${available}`, withLocation.lineNumber, withLocation.column, name);
  }
  if (/^Parse error on line (\d+)/.test(error.message)) {
    const line = Number(/^Parse error on line (\d+)/.exec(error.message)![1]);
    return new TemplateError(origin, `syntax error: ${error.message.replace(/^Parse error on line \d+:\n?/, '')}`, line);
  }
  // Other Handlebars errors ("missing helper", unclosed blocks) carry their location in the message.
  const location = LOCATION.exec(error.message);
  if (location || withLocation.lineNumber !== undefined) {
    return new TemplateError(
      origin,
      error.message.replace(LOCATION, ''),
      withLocation.lineNumber ?? Number(location![1]),
      withLocation.column ?? Number(location![2]),
    );
  }
  return new TemplateError(origin, error.message);
}

/** A name a template reads from its top-level context, with where it is read. */
export interface TemplateName {
  name: string;
  line: number;
  column: number;
}

/** The `original` text of the path expression that starts at a 1-based line and 0-based column. */
function pathAt(node: unknown, line: number, column: number): string | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = pathAt(item, line, column);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  const record = node as Node & { original?: unknown };
  if (record.type === 'PathExpression' && record.loc?.start.line === line && record.loc.start.column === column && typeof record.original === 'string') {
    return record.original;
  }
  for (const [key, value] of Object.entries(record)) {
    if (key === 'loc' || typeof value !== 'object') continue;
    const found = pathAt(value, line, column);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Helpers built into Handlebars that change the context of their block (its names are not top-level). */
const SCOPING_HELPERS = new Set(['each', 'with']);

/**
 * The top-level names a template reads, found by walking its syntax tree without rendering it, so that a
 * run can refuse a template naming a value nobody provides before it changes anything on any host.
 * Names inside `{{#each}}` / `{{#with}}` bodies belong to the item, not the top level, and are left out;
 * `@data`, `this` and `../` paths are left out too. A syntax error is a TemplateError with its line.
 */
export function templateTopLevelNames(source: string, origin: string): TemplateName[] {
  let ast: unknown;
  try {
    ast = handlebars().parse(source);
  } catch (error) {
    throw toTemplateError(error, origin, {});
  }
  const names: TemplateName[] = [];
  collectNames(ast, names);
  return names;
}

type Node = Record<string, unknown> & { type?: string; loc?: { start: { line: number; column: number } } };

function collectNames(node: unknown, names: TemplateName[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectNames(item, names);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Node;
  switch (record.type) {
    case 'Program':
      collectNames(record.body, names);
      return;
    case 'PathExpression':
      addPath(record, names);
      return;
    case 'MustacheStatement':
    case 'SubExpression':
    case 'BlockStatement': {
      const params = Array.isArray(record.params) ? record.params : [];
      const hashPairs = ((record.hash as { pairs?: Array<{ value: unknown }> } | undefined)?.pairs ?? []).map((pair) => pair.value);
      const isHelperCall = params.length > 0 || hashPairs.length > 0;
      // `{{name}}` reads a value; `{{helper arg}}` calls a helper whose arguments are the values.
      if (!isHelperCall) collectNames(record.path, names);
      collectNames(params, names);
      collectNames(hashPairs, names);
      if (record.type === 'BlockStatement') {
        const helper = (record.path as { original?: string } | undefined)?.original ?? '';
        if (!SCOPING_HELPERS.has(helper)) collectNames(record.program, names);
        collectNames(record.inverse, names);
      }
      return;
    }
    default:
      return;
  }
}

function addPath(path: Node, names: TemplateName[]): void {
  const parts = Array.isArray(path.parts) ? (path.parts as string[]) : [];
  if (path.data || (typeof path.depth === 'number' && path.depth > 0) || parts.length === 0) return;
  names.push({ name: parts[0]!, line: path.loc?.start.line ?? 0, column: path.loc?.start.column ?? 0 });
}
