/**
 * Reads a YAML file the way Ansible's loader (PyYAML, YAML 1.1) would, with line numbers for errors:
 * `yes`/`no`/`on`/`off` are booleans (but not `y`/`n`, which PyYAML leaves as strings), `<<` merge keys
 * work, `!unsafe` marks a plain string. Differences, on purpose: a duplicate key is an error (PyYAML keeps the
 * last), a timestamp stays the text it was written as.
 *
 * Ansible Vault: a `!vault` value is decrypted (vault.ts) into a Secret labelled with its key, and a file that
 * is encrypted as a whole is decrypted and every string in it becomes a Secret; numbers, booleans and null
 * keep their type, and mapping keys (host and group names, variable names) stay plain. Decryption happens
 * when the file is read, so a wrong or missing password stops the load before anything runs.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type Scalar,
  type ScalarTag,
  type Tags,
} from 'yaml';
import { Secret } from '../runner/secret.ts';
import { InventoryError } from './errors.ts';
import { exactIntegers, INEXACT_INTEGER, INEXACT_INTEGER_HINT } from './exact-integers.ts';
import { describeKind, isRecord, recordFrom, type InventoryValue } from './values.ts';
import { decryptVault, isVaultText, VaultError, type VaultKeyring } from './vault.ts';

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
const VAULT = '!vault';
// The payload stays text here; decryptValues replaces it once the line of each value is known.
const vault: ScalarTag = { tag: VAULT, resolve: (text) => text };

function ansibleTags(tags: Tags): Tags {
  const kept = tags.filter((tag) => typeof tag === 'string' || (tag.tag !== BOOL && tag.tag !== TIMESTAMP));
  return [...exactIntegers(kept), pyTrue, pyFalse, unsafe, vault];
}

/**
 * A decrypted value inside the parsed document. Not a Secret itself: the yaml package would call
 * Secret.toJSON (the mask) when converting; yamlValue unwraps it into the Secret.
 */
class Decrypted {
  constructor(readonly secret: Secret) {}
}

/**
 * Parses one YAML document; any syntax error or unresolved tag is an InventoryError with its line. Vault
 * payloads are decrypted with the keyring's passwords (none given: a vault value is an error saying how
 * to give one).
 */
export function parseYamlFile(text: string, file: string, keyring: VaultKeyring = []): YamlFile {
  if (isVaultText(text)) return parseEncryptedFile(text, file, keyring);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    lineCounter,
    version: '1.1',
    customTags: ansibleTags,
    prettyErrors: false,
    // Repeated keys are found below, with a set: the parser's own check compares each key with every
    // earlier one of its mapping, which made a group of 40,000 hosts take 13 s to load.
    uniqueKeys: false,
  });
  const lineAt = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  const problem = document.errors[0] ?? document.warnings[0];
  const duplicate = problem ? undefined : findDuplicateKey(document);
  if (duplicate) {
    throw new InventoryError(
      { file, line: lineAt(duplicate.offset) },
      `key '${duplicate.key}' appears twice in the same mapping`,
      'Remove or rename one of the two; to put a host in two groups, list it under each group.',
    );
  }
  if (problem) {
    const where = { file, line: lineAt(problem.pos[0]) };
    if (problem.message.startsWith(INEXACT_INTEGER)) throw new InventoryError(where, problem.message, INEXACT_INTEGER_HINT);
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
  checkAliases(document, file, lineAt);
  decryptValues(document, file, keyring, lineAt);
  return { file, document, lineOf: (node) => lineAt(node?.range?.[0]) };
}

/** The text of a file encrypted as a whole with ansible-vault; errors name the file as parseYamlFile's do. */
export function decryptFile(text: string, file: string, keyring: VaultKeyring): Secret {
  return decrypt(text, { file, line: 1 }, 'the file', keyring);
}

/** A whole file encrypted with ansible-vault: decrypted, parsed, and every string in it made a Secret. */
function parseEncryptedFile(text: string, file: string, keyring: VaultKeyring): YamlFile {
  const plaintext = decryptFile(text, file, keyring).reveal();
  if (isVaultText(plaintext)) {
    throw new InventoryError(
      { file, line: 1 },
      'the file is encrypted twice with Ansible Vault',
      'Decrypt it once (ansible-vault decrypt) and encrypt it again.',
    );
  }
  // Lines of later errors are lines of the decrypted text, which the operator sees with ansible-vault view.
  const yaml = parseYamlFile(plaintext, file, keyring);
  visit(yaml.document, {
    Scalar(_, node, path) {
      if (typeof node.value !== 'string' || isKey(node, path)) return;
      node.value = new Decrypted(new Secret(node.value, nameOf(node, path) ?? 'vault value'));
    },
  });
  return yaml;
}

/** Replaces each `!vault` scalar's payload with its decrypted Secret, labelled with the variable's name. */
function decryptValues(document: Document.Parsed, file: string, keyring: VaultKeyring, lineAt: (offset: number | undefined) => number | undefined): void {
  visit(document, {
    Scalar(_, node, path) {
      if (node.tag !== VAULT || typeof node.value !== 'string') return;
      const name = nameOf(node, path);
      const parent = path[path.length - 1];
      const line = lineAt((isPair(parent) && isScalar(parent.key) ? parent.key : node).range?.[0]);
      node.value = new Decrypted(decrypt(node.value, { file, line }, name ?? 'the value', keyring, name));
    },
  });
}

function decrypt(payload: string, where: { file: string; line: number | undefined }, what: string, keyring: VaultKeyring, label?: string): Secret {
  try {
    return new Secret(decryptVault(payload, keyring).toString('utf8'), label ?? 'vault value');
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
    const named = what.startsWith('the ') ? what : `the value of ${what}`;
    if (error.kind === 'no-password') {
      throw new InventoryError(
        where,
        `${named} is encrypted with Ansible Vault and no vault password was given`,
        'Pass --vault-password-file FILE, --vault-id [LABEL@]FILE or --ask-vault-pass with the password it was encrypted with.',
        { cause: error },
      );
    }
    if (error.kind === 'wrong-password') {
      throw new InventoryError(
        where,
        `the vault password does not decrypt ${named}: ${error.message}`,
        'Give the password it was encrypted with (ansible-vault view or encrypt_string tell which works); if the password is right, the value was altered after encryption (its HMAC does not match) and must be encrypted again.',
        { cause: error },
      );
    }
    throw new InventoryError(
      where,
      `${named} is not a readable Ansible Vault payload: ${error.message}`,
      'Encrypt the value again with ansible-vault encrypt_string (or the file with ansible-vault encrypt).',
      { cause: error },
    );
  }
}

/** The variable a scalar is the value of: the key of the nearest mapping pair above it. */
function nameOf(node: Scalar, path: readonly unknown[]): string | undefined {
  for (let index = path.length - 1; index >= 0; index--) {
    const step = path[index];
    if (isPair(step) && step.key !== node && isScalar(step.key)) return String(step.key.value);
  }
  return undefined;
}

function isKey(node: Scalar, path: readonly unknown[]): boolean {
  const parent = path[path.length - 1];
  return isPair(parent) && parent.key === node;
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
export function checkAliases(document: Document.Parsed, file: string, lineAt: (offset: number | undefined) => number | undefined): void {
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
        // `<<` (a YAML 1.1 merge key) may repeat: each merges another mapping in.
        if (key === '<<') continue;
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
  if (value instanceof Decrypted) return value.secret;
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
