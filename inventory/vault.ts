/**
 * Ansible Vault's encrypted format (1.1 and 1.2, cipher AES256), read with node:crypto so that inventories,
 * group_vars/ and host_vars/ written for Ansible load unchanged:
 *
 * ```
 * $ANSIBLE_VAULT;1.2;AES256;prod        ← version, cipher, and (1.2 only) the vault id's label
 * 3631356335643438…                     ← hexlify(hex(salt) "\n" hex(hmac) "\n" hex(ciphertext)), 80-char lines
 * ```
 *
 * Key material is PBKDF2-HMAC-SHA256(password, salt, 10000 iterations, 80 bytes): the AES key (32), the HMAC
 * key (32), the initial counter (16). The HMAC-SHA256 of the ciphertext is compared in constant time before
 * anything is decrypted (AES-256-CTR, PKCS7 padding), so a wrong password or an altered value is refused
 * as a whole and never yields garbage. See ansible/parsing/vault/__init__.py (VaultAES256) for the original.
 */
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../runner/secret.ts';

/** One vault password and the vault id label it was given under (`--vault-id prod@file`); unlabelled: undefined. */
export interface VaultPassword {
  readonly label: string | undefined;
  readonly password: Secret;
  /** Where it came from (a file, a script, the prompt), for messages. */
  readonly source: string;
}

/** Every password given on the command line, in the order given. */
export type VaultKeyring = readonly VaultPassword[];

/** Why a vault payload could not be read; `kind` lets callers word the fix. The message never holds plaintext. */
export class VaultError extends Error {
  constructor(
    readonly kind: 'format' | 'no-password' | 'wrong-password',
    message: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

export interface VaultEnvelope {
  readonly version: '1.1' | '1.2';
  /** The vault id label of a 1.2 payload. */
  readonly label: string | undefined;
  readonly salt: Buffer;
  readonly hmac: Buffer;
  readonly ciphertext: Buffer;
}

const HEADER = '$ANSIBLE_VAULT';
const ITERATIONS = 10_000;
const KEY_BYTES = 32;
const IV_BYTES = 16;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** True when text is a vault payload (a `!vault` value or a whole encrypted file). */
export function isVaultText(text: string): boolean {
  return text.trimStart().startsWith(`${HEADER};`);
}

/** Splits a payload into its header fields and binary parts; anything malformed is a VaultError('format'). */
export function parseVaultEnvelope(text: string): VaultEnvelope {
  const lines = text.trim().split(/\r?\n/);
  const header = (lines[0] ?? '').trim().split(';');
  if (header[0] !== HEADER || header.length < 3) throw new VaultError('format', 'the vault header is not "$ANSIBLE_VAULT;VERSION;CIPHER"');
  const version = header[1]?.trim();
  const cipher = header[2]?.trim();
  if (version !== '1.1' && version !== '1.2')
    throw new VaultError('format', `vault format version ${JSON.stringify(version)} is not supported (1.1 and 1.2 are)`);
  if (cipher !== 'AES256') throw new VaultError('format', `vault cipher ${JSON.stringify(cipher)} is not supported (AES256 is)`);
  const label = header.length >= 4 ? header[3]?.trim() || undefined : undefined;
  const outer = unhex(
    lines
      .slice(1)
      .map((line) => line.trim())
      .join(''),
    'the payload',
  );
  const parts = outer.toString('latin1').split('\n');
  if (parts.length !== 3) throw new VaultError('format', 'the payload does not hold salt, HMAC and ciphertext');
  const [salt, hmac, ciphertext] = parts.map((part, index) => unhex(part, ['the salt', 'the HMAC', 'the ciphertext'][index]!));
  if (hmac!.length !== 32) throw new VaultError('format', 'the HMAC is not 32 bytes');
  if (ciphertext!.length === 0 || ciphertext!.length % 16 !== 0) throw new VaultError('format', 'the ciphertext is not a whole number of AES blocks');
  return { version, label, salt: salt!, hmac: hmac!, ciphertext: ciphertext! };
}

/**
 * Decrypts a payload with the first password that fits. As Ansible does, passwords whose label matches the
 * payload's are tried first, then all the others (a 1.1 payload carries no label).
 */
export function decryptVault(text: string, keyring: VaultKeyring): Buffer {
  if (keyring.length === 0) throw new VaultError('no-password', 'no vault password was given');
  const envelope = parseVaultEnvelope(text);
  const ordered = [
    ...keyring.filter((key) => key.label !== undefined && key.label === envelope.label),
    ...keyring.filter((key) => key.label === undefined || key.label !== envelope.label),
  ];
  for (const key of ordered) {
    const plaintext = decryptWith(envelope, key.password);
    if (plaintext) return plaintext;
  }
  const tried = keyring.map((key) => key.source).join(', ');
  throw new VaultError(
    'wrong-password',
    `none of the vault passwords given (${tried}) decrypts it${envelope.label ? ` (its vault id is '${envelope.label}')` : ''}`,
  );
}

/** The plaintext, or undefined when the HMAC does not match (wrong password, or altered ciphertext). */
function decryptWith(envelope: VaultEnvelope, password: Secret): Buffer | undefined {
  const material = pbkdf2Sync(Buffer.from(password.reveal(), 'utf8'), envelope.salt, ITERATIONS, 2 * KEY_BYTES + IV_BYTES, 'sha256');
  const cipherKey = material.subarray(0, KEY_BYTES);
  const hmacKey = material.subarray(KEY_BYTES, 2 * KEY_BYTES);
  const iv = material.subarray(2 * KEY_BYTES);
  const expected = createHmac('sha256', hmacKey).update(envelope.ciphertext).digest();
  if (!timingSafeEqual(expected, envelope.hmac)) return undefined;
  const decipher = createDecipheriv('aes-256-ctr', cipherKey, iv);
  return removePadding(Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]));
}

/** PKCS7 with 16-byte blocks; the HMAC matched, so bad padding means a payload not written by ansible-vault. */
function removePadding(padded: Buffer): Buffer {
  const count = padded[padded.length - 1] ?? 0;
  if (count < 1 || count > 16 || count > padded.length || !padded.subarray(padded.length - count).every((byte) => byte === count)) {
    throw new VaultError('format', 'the decrypted value has no valid PKCS7 padding');
  }
  return padded.subarray(0, padded.length - count);
}

function unhex(text: string, what: string): Buffer {
  if (!HEX.test(text)) throw new VaultError('format', `${what} is not hexadecimal`);
  return Buffer.from(text, 'hex');
}
