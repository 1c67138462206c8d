/**
 * Reads a YAML file the way Ansible's loader (PyYAML, YAML 1.1) would, with line numbers for errors:
 * `yes`/`no`/`on`/`off` are booleans (but not `y`/`n`, which PyYAML leaves as strings), `<<` merge keys
 * work, `!unsafe` marks a plain string. Differences, on purpose: a duplicate key is an error (PyYAML keeps the
 * last), a timestamp stays the text it was written as, and `!vault` values are refused because drover
 * cannot decrypt Ansible Vault.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type ScalarTag, type Tags } from 'yaml';
import { InventoryError } from './errors.ts';
import { describeKind, isRecord, recordFrom, type InventoryValue } from './values.ts';

export interface YamlFile {
  readonly file: string;
  readonly document: Document.Parsed;
  /** 1-based line where a node starts. */
  lineOf(node: Node | null | undefined): number | undefined;
}

const BOOL = 'tag:yaml.org,2002:bool';
const TIMESTAMP = 'tag:yaml.org,2002:timestamp';

// PyYAML's implicit booleans; the yaml package's 1.1 schema also takes y/Y/n/N.
const pyTrue: ScalarTag = {
  identify: (value) => value === true,
  default: true,
  tag: BOOL,
  test: /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/,
  resolve: () => true,
};
const pyFalse: ScalarTag = {
  identify: (value) => value === false,
  default: true,
  tag: BOOL,
  test: /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/,
  resolve: () => false,
};
const unsafe: ScalarTag = { tag: '!unsafe', resolve: (text) => text };

function ansibleTags(tags: Tags): Tags {
  const kept = tags.filter((tag) => typeof tag === 'string' || (tag.tag !== BOOL && tag.tag !== TIMESTAMP));
  return [...kept, pyTrue, pyFalse, unsafe];
}

/** Parses one YAML document; any syntax error or unresolved tag is an InventoryError with its line. */
export function parseYamlFile(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    lineCounter,
    version: '1.1',
    customTags: ansibleTags,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const lineAt = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) {
    const where = { file, line: lineAt(problem.pos[0]) };
    if (/!vault/.test(problem.message)) {
      throw new InventoryError(
        where,
        'this value is encrypted with Ansible Vault, which drover cannot decrypt',
        'Put the value in plain text in a file only you can read, or pass it another way (e.g. an environment variable the playbook reads).',
      );
    }
    if (problem.code === 'DUPLICATE_KEY') {
      const duplicate = findDuplicateKey(document);
      throw new InventoryError(
        duplicate ? { file, line: lineAt(duplicate.offset) } : where,
        duplicate ? `key '${duplicate.key}' appears twice in the same mapping` : `YAML problem: ${problem.message}`,
        'Remove or rename one of the two; to put a host in two groups, list it under each group.',
      );
    }
    if (problem.code === 'MULTIPLE_DOCS') {
      throw new InventoryError(
        where,
        'the file holds more than one YAML document (a second ---)',
        'Keep one document per file; merge the documents or remove the extra ---.',
      );
    }
    // The message is the parser's own; the source line is not quoted back, since it may hold a password.
    throw new InventoryError(
      where,
      `invalid YAML: ${problem.message}`,
      'Fix the syntax at that line (indentation, a missing ":" or an unclosed quote or bracket are the usual causes).',
    );
  }
  if (text.trimStart().startsWith('$ANSIBLE_VAULT')) {
    throw new InventoryError(
      { file, line: 1 },
      'this file is encrypted with Ansible Vault, which drover cannot decrypt',
      'Decrypt it (ansible-vault decrypt) into a file only you can read, or move the secrets elsewhere.',
    );
  }
  checkAliases(document, file, lineAt);
  return { file, document, lineOf: (node) => lineAt(node?.range?.[0]) };
}

/**
 * How many values aliases may add to a file beyond what is written in it. A real inventory repeats a few
 * mappings; aliases of aliases of lists multiply (ten levels of ten is 10^10 values: an "alias bomb").
 */
export const MAX_ALIAS_EXPANSION = 100_000;

/**
 * Refuses, before anything walks the document, the two alias shapes that have no finite value: an alias
 * inside the value it names (`a: &x { b: *x }`, which would recurse without end) and aliases that expand
 * beyond MAX_ALIAS_EXPANSION. Sizes are memoised per node, so this is linear in the text, not the expansion.
 */
function checkAliases(document: Document.Parsed, file: string, lineAt: (offset: number | undefined) => number | undefined): void {
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  let added = 0;
  const size = (node: unknown): number => {
    if (isAlias(node)) {
      const target = node.resolve(document);
      if (!target) return 1;
      if (open.has(target)) {
        throw new InventoryError(
          { file, line: lineAt(node.range?.[0]) },
          `the alias *${node.source} is used inside the value it names, so that value would repeat without end`,
          `Use *${node.source} only outside the value anchored as &${node.source}, or write the nested value out.`,
        );
      }
      const expanded = size(target);
      added += expanded;
      if (added > MAX_ALIAS_EXPANSION) {
        throw new InventoryError(
          { file, line: lineAt(node.range?.[0]) },
          `aliases (*name) expand this file to more than ${MAX_ALIAS_EXPANSION} values beyond what is written (aliases of aliases multiply: an "alias bomb")`,
          'Write the repeated values out, or use fewer levels of aliases that refer to other aliases.',
        );
      }
      return expanded;
    }
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let total = 1;
    open.add(node);
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items) total += isPair(item) ? size(item.key) + size(item.value) : size(item);
    }
    open.delete(node);
    sizes.set(node, total);
    return total;
  };
  size(document.contents);
}

/** The second occurrence of a repeated key (the yaml package points at the mapping, not the key). */
function findDuplicateKey(document: Document.Parsed): { key: string; offset: number | undefined } | undefined {
  let found: { key: string; offset: number | undefined } | undefined;
  visit(document, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key) && isScalar(pair.key)) {
          found = { key: String(key), offset: pair.key.range?.[0] };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}

/** Converts a YAML node's value (aliases and merge keys resolved) into an inventory value. */
/** maxAliasCount is off: checkAliases has already bounded what aliases can expand to, and refused cycles. */
export function yamlValue(yaml: YamlFile, node: Node | null | undefined, what: string): InventoryValue {
  const value: unknown = node ? node.toJS(yaml.document, { maxAliasCount: -1 }) : null;
  return toInventoryValue(value, { file: yaml.file, line: yaml.lineOf(node) }, what);
}

function toInventoryValue(value: unknown, where: { file: string; line: number | undefined }, what: string): InventoryValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new InventoryError(where, `${what} is ${value}, which has no JSON form`, 'Quote it to keep it as text.');
  }
  if (Array.isArray(value)) return value.map((item: unknown) => toInventoryValue(item, where, what));
  if (isRecord(value)) {
    return recordFrom(Object.entries(value).map(([key, item]) => [key, toInventoryValue(item, where, what)] as const));
  }
  throw new InventoryError(
    where,
    `${what} is ${describeKind(value)}, which inventory variables cannot hold`,
    'Use plain strings, numbers, booleans, lists and mappings.',
  );
}
