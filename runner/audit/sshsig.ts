/**
 * OpenSSH's SSHSIG signature format (PROTOCOL.sshsig), as `ssh-keygen -Y sign` writes it and
 * `ssh-keygen -Y verify` reads it, and the allowed_signers file that says whose keys are trusted.
 * Pure: bytes in, bytes or verdicts out; where the private key lives (a file, the agent) is sign.ts's concern.
 *
 * The signed data is not the message itself but a blob that binds the namespace and the hash algorithm,
 * so a signature made for one purpose (git commits, say) cannot be replayed as an audit log signature:
 *
 *   "SSHSIG" string(namespace) string(reserved = "") string(hash algorithm) string(H(message))
 *
 * Example:
 *   const toSign = signedData('drover-audit', 'sha512', message);
 *   const armored = armor(encodeSignature({ publicKey, namespace: 'drover-audit', hashAlgorithm: 'sha512', signature }));
 *   verifySignature(armored, message, 'drover-audit') // → { ok: true, keyType: 'ssh-ed25519', fingerprint: 'SHA256:…' }
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

const MAGIC = Buffer.from('SSHSIG');
const VERSION = 1;
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';

/** The hash algorithms SSHSIG allows for H(message). */
export type SshsigHash = 'sha256' | 'sha512';

export interface Sshsig {
  /** The signer's public key blob (the SSH wire encoding, as in authorized_keys after base64 decoding). */
  publicKey: Buffer;
  namespace: string;
  hashAlgorithm: SshsigHash;
  /** The SSH signature blob: string(algorithm) string(signature bytes). */
  signature: Buffer;
}

// ---- SSH wire encoding (RFC 4251 §5) ----

export function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** An mpint from an unsigned big-endian integer: no leading zeros, a zero byte in front when the top bit is set. */
export function sshMpint(unsigned: Buffer): Buffer {
  let start = 0;
  while (start < unsigned.length && unsigned[start] === 0) start++;
  const trimmed = unsigned.subarray(start);
  return sshString(trimmed.length > 0 && trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** Reads SSH wire fields in order; every read checks the length so a forged length cannot read past the end. */
export class WireReader {
  #offset = 0;
  constructor(
    private readonly bytes: Buffer,
    private readonly what: string,
  ) {}

  raw(length: number): Buffer {
    if (this.#offset + length > this.bytes.length) throw new SshsigError(`${this.what} is truncated`);
    const value = this.bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  uint32(): number {
    return this.raw(4).readUInt32BE();
  }

  string(): Buffer {
    return this.raw(this.uint32());
  }

  text(): string {
    return this.string().toString('utf8');
  }

  get done(): boolean {
    return this.#offset === this.bytes.length;
  }
}

/** A signature that cannot be read or does not verify; the message says which part and why. */
export class SshsigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SshsigError';
  }
}

// ---- the format ----

/** What the key actually signs (PROTOCOL.sshsig, "Signed Data"). */
export function signedData(namespace: string, hashAlgorithm: SshsigHash, message: Buffer): Buffer {
  return signedDataFromDigest(namespace, hashAlgorithm, createHash(hashAlgorithm).update(message).digest());
}

export function signedDataFromDigest(namespace: string, hashAlgorithm: SshsigHash, digest: Buffer): Buffer {
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(hashAlgorithm), sshString(digest)]);
}

export function encodeSignature(sig: Sshsig): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(VERSION);
  return Buffer.concat([
    MAGIC,
    version,
    sshString(sig.publicKey),
    sshString(sig.namespace),
    sshString(''),
    sshString(sig.hashAlgorithm),
    sshString(sig.signature),
  ]);
}

export function decodeSignature(blob: Buffer): Sshsig {
  const reader = new WireReader(blob, 'the SSH signature');
  if (!reader.raw(MAGIC.length).equals(MAGIC)) throw new SshsigError('not an SSH signature (no SSHSIG preamble)');
  const version = reader.uint32();
  if (version !== VERSION) throw new SshsigError(`SSH signature version ${version} is not supported (only ${VERSION})`);
  const publicKey = reader.string();
  const namespace = reader.text();
  reader.string(); // reserved
  const hashAlgorithm = reader.text();
  if (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512')
    throw new SshsigError(`hash algorithm ${JSON.stringify(hashAlgorithm)} is not one SSHSIG allows (sha256, sha512)`);
  const signature = reader.string();
  if (!reader.done) throw new SshsigError('the SSH signature has bytes after its last field');
  return { publicKey, namespace, hashAlgorithm, signature };
}

/** The armored text, wrapped at 70 columns like ssh-keygen's. */
export function armor(blob: Buffer): string {
  const base64 = blob.toString('base64');
  const lines: string[] = [];
  for (let at = 0; at < base64.length; at += 70) lines.push(base64.slice(at, at + 70));
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

export function dearmor(text: string): Buffer {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new SshsigError(`not an armored SSH signature (no ${BEGIN} … ${END})`);
  const body = text.slice(begin + BEGIN.length, end).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new SshsigError('the armored SSH signature is not base64');
  return Buffer.from(body, 'base64');
}

// ---- keys ----

/** The key type named inside a public key blob (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, …). */
export function keyType(publicKey: Buffer): string {
  return new WireReader(publicKey, 'the public key').text();
}

/** OpenSSH's fingerprint: SHA256: and the unpadded base64 of the blob's sha256. */
export function fingerprint(publicKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKey).digest('base64').replace(/=+$/, '')}`;
}

const CURVES: Record<string, { jwk: string; hash: string; size: number }> = {
  'ecdsa-sha2-nistp256': { jwk: 'P-256', hash: 'sha256', size: 32 },
  'ecdsa-sha2-nistp384': { jwk: 'P-384', hash: 'sha384', size: 48 },
  'ecdsa-sha2-nistp521': { jwk: 'P-521', hash: 'sha512', size: 66 },
};

/** The signature algorithm drover asks for with each key type: rsa-sha2-512 for RSA, as ssh-keygen -Y sign does. */
export function signatureAlgorithm(type: string): string {
  return type === 'ssh-rsa' ? 'rsa-sha2-512' : type;
}

/** The digest node's crypto applies for a signature algorithm (null: the algorithm hashes internally, as Ed25519). */
export function digestFor(algorithm: string): string | null {
  if (algorithm === 'ssh-ed25519') return null;
  if (algorithm === 'rsa-sha2-512') return 'sha512';
  if (algorithm === 'rsa-sha2-256') return 'sha256';
  const curve = CURVES[algorithm];
  if (curve) return curve.hash;
  throw new SshsigError(`signature algorithm ${algorithm} is not supported (ssh-ed25519, rsa-sha2-512, rsa-sha2-256, ecdsa-sha2-nistp256/384/521 are)`);
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** A node KeyObject for an SSH public key blob. */
export function publicKeyObject(publicKey: Buffer): KeyObject {
  const reader = new WireReader(publicKey, 'the public key');
  const type = reader.text();
  if (type === 'ssh-ed25519') {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(reader.string()) }, format: 'jwk' });
  }
  if (type === 'ssh-rsa') {
    const e = stripZeros(reader.string());
    const n = stripZeros(reader.string());
    return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
  }
  const curve = CURVES[type];
  if (curve) {
    reader.string(); // the curve's name again
    const point = reader.string();
    if (point[0] !== 4 || point.length !== 1 + 2 * curve.size) throw new SshsigError(`the ${type} public key is not an uncompressed point`);
    return createPublicKey({
      key: { kty: 'EC', crv: curve.jwk, x: b64url(point.subarray(1, 1 + curve.size)), y: b64url(point.subarray(1 + curve.size)) },
      format: 'jwk',
    });
  }
  throw new SshsigError(
    `key type ${type} is not supported for audit signatures (ssh-ed25519, ssh-rsa and ecdsa-sha2-nistp256/384/521 are; security keys and certificates are not)`,
  );
}

function stripZeros(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

/**
 * The signature bytes as node's crypto returns and takes them, from the SSH encoding: the same for
 * Ed25519 and RSA; for ECDSA, SSH carries mpint r and mpint s where node takes r‖s of fixed width.
 */
function nodeSignatureBytes(algorithm: string, bytes: Buffer): Buffer {
  const curve = CURVES[algorithm];
  if (!curve) return bytes;
  const reader = new WireReader(bytes, 'the ECDSA signature');
  const fixed = (value: Buffer) => {
    const trimmed = stripZeros(value);
    if (trimmed.length > curve.size) throw new SshsigError('the ECDSA signature has an integer wider than its curve');
    return Buffer.concat([Buffer.alloc(curve.size - trimmed.length), trimmed]);
  };
  return Buffer.concat([fixed(reader.string()), fixed(reader.string())]);
}

/** The reverse of nodeSignatureBytes: SSH's encoding of what node's crypto (ECDSA as ieee-p1363) signed. */
export function sshSignatureBytes(algorithm: string, bytes: Buffer): Buffer {
  const curve = CURVES[algorithm];
  if (!curve) return bytes;
  return Buffer.concat([sshMpint(bytes.subarray(0, curve.size)), sshMpint(bytes.subarray(curve.size))]);
}

export interface SignatureCheck {
  ok: boolean;
  /** The signer's key, whatever the outcome, when the signature could be read. */
  publicKey?: Buffer;
  keyType?: string;
  fingerprint?: string;
  problem?: string;
}

/**
 * Checks an armored SSHSIG over `message`: well-formed, made for `namespace`, and made by the key it
 * carries. Whether that key is trusted is a separate question (allowedPrincipals).
 */
export function verifySignature(armored: string, message: Buffer, namespace: string): SignatureCheck {
  let sig: Sshsig;
  try {
    sig = decodeSignature(dearmor(armored));
  } catch (error) {
    return { ok: false, problem: error instanceof SshsigError ? error.message : String(error) };
  }
  const type = safeKeyType(sig.publicKey);
  const who = { publicKey: sig.publicKey, keyType: type, fingerprint: fingerprint(sig.publicKey) };
  if (sig.namespace !== namespace) {
    return {
      ok: false,
      ...who,
      problem: `it was made for the namespace ${JSON.stringify(sig.namespace)}, not ${JSON.stringify(namespace)}: a signature made for something else`,
    };
  }
  try {
    const reader = new WireReader(sig.signature, 'the signature blob');
    const algorithm = reader.text();
    const bytes = reader.string();
    if (type === 'ssh-rsa' ? !algorithm.startsWith('rsa-sha2-') : algorithm !== type) {
      // ssh-rsa (SHA-1) signatures are refused as OpenSSH refuses them; other keys sign with their own type.
      return {
        ok: false,
        ...who,
        problem: `signature algorithm ${algorithm} does not fit a ${type} key (RSA keys must sign with rsa-sha2-256 or rsa-sha2-512)`,
      };
    }
    const digest = digestFor(algorithm);
    const key = publicKeyObject(sig.publicKey);
    const data = signedData(namespace, sig.hashAlgorithm, message);
    const valid = verify(digest, data, CURVES[algorithm] ? { key, dsaEncoding: 'ieee-p1363' } : key, nodeSignatureBytes(algorithm, bytes));
    return valid
      ? { ok: true, ...who }
      : { ok: false, ...who, problem: 'the signature does not match the log: the log (or the signature) was changed after it was signed' };
  } catch (error) {
    return {
      ok: false,
      ...who,
      problem: error instanceof SshsigError ? error.message : `cannot check it: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

function safeKeyType(publicKey: Buffer): string {
  try {
    return keyType(publicKey);
  } catch {
    return 'unknown';
  }
}
