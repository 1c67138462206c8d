/**
 * Signing an audit log with the operator's SSH key, and checking that signature. A hash chain alone
 * cannot stop someone who edits a record and recomputes every hash after it; a signature by a key only
 * the operator holds can.
 *
 * What is signed: the whole log file, byte for byte as drover wrote it, in OpenSSH's SSHSIG format with
 * the namespace `drover-audit` and sha512, armored, in a sidecar file beside the log (LOG.sig). That is
 * exactly what `ssh-keygen -Y sign -n drover-audit -f KEY LOG` would write, so OpenSSH checks it without
 * drover:
 *
 *   ssh-keygen -Y verify -f allowed_signers -I alice@example.com -n drover-audit -s LOG.sig < LOG
 *
 * The key comes from a private key file (read with ssh2's parser, which knows OpenSSH's own key format) or
 * from the ssh-agent (SSH_AUTH_SOCK), so a key kept in the agent, a smartcard or a forwarded agent never
 * touches drover's memory.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeOutputFile } from '../output-file.ts';
import { sign as cryptoSign } from 'node:crypto';
import ssh2, { type ParsedKey } from 'ssh2';
import { allowedPrincipals, type AllowedSigner } from './allowed-signers.ts';
import { auditLogText, verifyChain } from './chain.ts';
import {
  armor,
  digestFor,
  encodeSignature,
  fingerprint,
  keyType,
  signatureAlgorithm,
  signedData,
  sshSignatureBytes,
  sshString,
  verifySignature,
} from './sshsig.ts';

/** The SSHSIG namespace of audit log signatures: what `-n` must say to ssh-keygen. */
export const AUDIT_NAMESPACE = 'drover-audit';
const HASH = 'sha512';

/** Where a log's signature lives. */
export function signaturePath(logPath: string): string {
  return `${logPath}.sig`;
}

/** The log cannot be signed; the message names the key or agent and the hint what to do. */
export class AuditSignError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AuditSignError';
  }
}

/** A key ready to sign: which one it is, and a function from the data to sign to an SSH signature blob. */
export interface AuditSigner {
  publicKey: Buffer;
  /** e.g. "ED25519 key SHA256:… (alice@laptop) in the ssh-agent" */
  description: string;
  sign(data: Buffer): Promise<Buffer>;
}

export interface AuditSignerSettings {
  /** A private key file, or a public key file naming which of the agent's keys to use; absent: the agent's first key. */
  keyFile?: string;
  /** The agent's socket (SSH_AUTH_SOCK). */
  agentSocket?: string;
}

/**
 * Finds the key and proves it can sign before the run starts, so a missing agent or a wrong passphrase
 * is an error before anything runs on a host, not after.
 */
export async function openAuditSigner(settings: AuditSignerSettings): Promise<AuditSigner> {
  if (settings.keyFile === undefined) return agentSigner(settings.agentSocket, undefined);
  const file = settings.keyFile;
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (error) {
    throw new AuditSignError(
      `cannot read the audit signing key ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      'give --audit-sign-key a private key file (e.g. ~/.ssh/id_ed25519) or the .pub of a key loaded in ssh-agent',
      { cause: error },
    );
  }
  const parsed = ssh2.utils.parseKey(content);
  if (parsed instanceof Error) {
    if (/encrypted/i.test(parsed.message)) {
      throw new AuditSignError(
        `the audit signing key ${file} is protected by a passphrase`,
        `load it into the agent (ssh-add ${file}) and give --audit-sign-key ${file}.pub, so drover signs through ssh-agent`,
      );
    }
    throw new AuditSignError(
      `${file} is not an SSH key drover can read (${parsed.message})`,
      'give an OpenSSH private key file, or the .pub of a key loaded in ssh-agent',
    );
  }
  const key = [parsed].flat()[0]!;
  if (!key.isPrivateKey()) return agentSigner(settings.agentSocket, key);
  return fileSigner(key, file);
}

function fileSigner(key: ParsedKey, file: string): AuditSigner {
  const publicKey = key.getPublicSSH();
  const algorithm = signatureAlgorithm(key.type);
  const describe = `${keyLabel(publicKey)}${key.comment ? ` (${key.comment})` : ''} from ${file}`;
  const sign = async (data: Buffer) => {
    const digest = digestFor(algorithm);
    // ECDSA: node gives r‖s of fixed width when asked for ieee-p1363; SSH wants them as two mpints.
    const raw = cryptoSign(digest, data, { key: key.getPrivatePEM(), dsaEncoding: 'ieee-p1363' });
    return Buffer.concat([sshString(algorithm), sshString(sshSignatureBytes(algorithm, raw))]);
  };
  try {
    digestFor(algorithm);
  } catch (error) {
    throw new AuditSignError(`${describe}: ${(error as Error).message}`, 'use an ed25519, RSA or ECDSA key (ssh-keygen -t ed25519)');
  }
  return { publicKey, description: describe, sign };
}

async function agentSigner(socket: string | undefined, wanted: ParsedKey | undefined): Promise<AuditSigner> {
  const alternative = wanted ? '' : ', or give --audit-sign-key with a private key file';
  if (!socket) {
    throw new AuditSignError(
      'cannot sign the audit log through ssh-agent: SSH_AUTH_SOCK is not set',
      `start an agent and load your key (eval "$(ssh-agent)"; ssh-add ~/.ssh/id_ed25519)${alternative}`,
    );
  }
  const agent = new ssh2.OpenSSHAgent(socket);
  let keys: ParsedKey[];
  try {
    keys = await new Promise<ParsedKey[]>((resolve, reject) =>
      agent.getIdentities((error, found) => (error ? reject(error) : resolve((found ?? []).filter((entry): entry is ParsedKey => 'getPublicSSH' in entry)))),
    );
  } catch (error) {
    throw new AuditSignError(
      `cannot reach ssh-agent at ${socket} (${(error as Error).message})`,
      `check that the agent runs and SSH_AUTH_SOCK points at it${alternative}`,
      { cause: error },
    );
  }
  const key = wanted ? keys.find((candidate) => candidate.getPublicSSH().equals(wanted.getPublicSSH())) : keys.find((candidate) => isSupported(candidate.type));
  if (!key) {
    throw new AuditSignError(
      wanted
        ? `ssh-agent at ${socket} does not hold the key ${keyLabel(wanted.getPublicSSH())} named by --audit-sign-key`
        : `ssh-agent at ${socket} holds no ed25519, RSA or ECDSA key (it holds ${keys.length} key(s))`,
      wanted
        ? 'load it (ssh-add PRIVATE-KEY-FILE), or give --audit-sign-key the private key file itself'
        : `load one (ssh-add ~/.ssh/id_ed25519)${alternative}`,
    );
  }
  const publicKey = key.getPublicSSH();
  const algorithm = signatureAlgorithm(key.type);
  const description = `${keyLabel(publicKey)}${key.comment ? ` (${key.comment})` : ''} in ssh-agent`;
  return {
    publicKey,
    description,
    sign: (data) =>
      new Promise<Buffer>((resolve, reject) => {
        // The agent signs RSA keys with SHA-1 unless asked for SHA-2; ssh2 strips the algorithm name from the
        // reply, so it is put back here (and the signature is verified before it is written).
        agent.sign(key, data, { hash: 'sha512' }, (error, signature) => {
          if (error || !signature)
            reject(
              new AuditSignError(
                `ssh-agent did not sign with ${description} (${error?.message ?? 'no signature'})`,
                'check that the agent still runs and holds the key (ssh-add -l); a confirm-on-use key needs its confirmation',
              ),
            );
          else resolve(Buffer.concat([sshString(algorithm), sshString(signature)]));
        });
      }),
  };
}

function isSupported(type: string): boolean {
  try {
    digestFor(signatureAlgorithm(type));
    return true;
  } catch {
    return false;
  }
}

/** "ED25519 key SHA256:…", as ssh-keygen -l names keys. */
export function keyLabel(publicKey: Buffer): string {
  const type = keyType(publicKey);
  const name = type === 'ssh-ed25519' ? 'ED25519' : type === 'ssh-rsa' ? 'RSA' : type.startsWith('ecdsa-') ? 'ECDSA' : type;
  return `${name} key ${fingerprint(publicKey)}`;
}

/**
 * Before a run: a signature file must not exist already (the log itself is new, checked by the writer),
 * and the log must be a file that can be read back. Raised before anything runs.
 */
export function checkSignable(logPath: string): void {
  const sigPath = signaturePath(logPath);
  if (existsSync(sigPath)) {
    throw new AuditSignError(
      `the audit log's signature file ${sigPath} already exists`,
      'choose a new path for --audit-log, or move the old log and its .sig away',
    );
  }
  if (existsSync(logPath) && !statSync(logPath).isFile()) {
    throw new AuditSignError(
      `the audit log ${logPath} is not a regular file, so it cannot be read back and signed`,
      'give --audit-log a file path (or leave it out) when signing',
    );
  }
}

export interface SignedLog {
  sigPath: string;
  signer: string;
}

/**
 * Signs the log as it is on disk, after checking that it is what this run wrote: its chain is intact and
 * its last line is the closing record the writer wrote. That last line chains to every line before it,
 * so a record changed on disk during the run (even with the chain recomputed) is refused, not signed.
 */
export async function signAuditLog(logPath: string, signer: AuditSigner, closingLine: string | undefined): Promise<SignedLog> {
  const bytes = readFileSync(logPath);
  const text = auditLogText(bytes);
  const verdict = verifyChain(text);
  if (!verdict.ok || closingLine === undefined || !text.endsWith(`${closingLine}\n`)) {
    throw new AuditSignError(
      `the audit log ${logPath} was not signed: on disk it is not the log this run wrote (${verdict.ok ? 'its last record is not the closing record this run wrote' : verdict.problem})`,
      'someone or something changed the file during the run; keep it as evidence and investigate',
    );
  }
  const data = signedData(AUDIT_NAMESPACE, HASH, bytes);
  const signature = await signer.sign(data);
  const armored = armor(encodeSignature({ publicKey: signer.publicKey, namespace: AUDIT_NAMESPACE, hashAlgorithm: HASH, signature }));
  // A signature drover would not accept must never be written (an agent that signed with another algorithm).
  const check = verifySignature(armored, bytes, AUDIT_NAMESPACE);
  if (!check.ok)
    throw new AuditSignError(
      `the signature made with ${signer.description} does not verify (${check.problem})`,
      'sign with an ed25519 key (ssh-keygen -t ed25519), and report this',
    );
  const sigPath = signaturePath(logPath);
  // Whole or absent (a cut .sig would read as a bad signature); readable by all: it holds no secret.
  const written = writeOutputFile(sigPath, armored, { mode: 0o644 });
  if (!written.ok) {
    throw new AuditSignError(
      `the audit log ${logPath} was not signed: its signature file ${sigPath} cannot be written (${written.code})`,
      written.code === 'ENOSPC'
        ? 'free space on that file system, then sign the log with ssh-keygen -Y sign (see README, "Signed logs")'
        : 'sign the log with ssh-keygen -Y sign (see README, "Signed logs"), or choose an --audit-log directory you can write to next time',
    );
  }
  return { sigPath, signer: signer.description };
}

/**
 * trusted: the signature matches the log and an allowed_signers line allows its key, here and now.
 * unchecked: the signature matches the log, but no allowed signers were given to say whose key it is.
 * untrusted: the signature matches the log, but no line allows its key (anyone can sign a forged log with
 * a key of their own). bad: it does not match the log, or cannot be read. missing: there is no LOG.sig.
 */
export type SignatureStatus = 'trusted' | 'unchecked' | 'untrusted' | 'bad' | 'missing';

export interface SignatureVerdict {
  status: SignatureStatus;
  sigPath: string;
  signer?: string;
  principals?: string[];
  problem?: string;
}

export function verifyAuditSignature(logPath: string, logBytes: Buffer, allowed: AllowedSigner[] | undefined, now: Date): SignatureVerdict {
  const sigPath = signaturePath(logPath);
  let armored: string;
  try {
    armored = readFileSync(sigPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'missing', sigPath };
    return { status: 'bad', sigPath, problem: `cannot read ${sigPath} (${code ?? String(error)})` };
  }
  const check = verifySignature(armored, logBytes, AUDIT_NAMESPACE);
  const signer = check.publicKey ? safeLabel(check.publicKey) : undefined;
  if (!check.ok) return { status: 'bad', sigPath, signer, problem: check.problem };
  if (!allowed) return { status: 'unchecked', sigPath, signer };
  const match = allowedPrincipals(allowed, check.publicKey!, AUDIT_NAMESPACE, now);
  if (match.principals.length === 0) {
    return {
      status: 'untrusted',
      sigPath,
      signer,
      problem: match.refusals.length > 0 ? match.refusals.join('; ') : 'no line of the allowed signers file names this key',
    };
  }
  return { status: 'trusted', sigPath, signer, principals: match.principals };
}

function safeLabel(publicKey: Buffer): string {
  try {
    return keyLabel(publicKey);
  } catch {
    return `key ${fingerprint(publicKey)}`;
  }
}

/** One line for a signature verdict, beside the chain's. */
export function describeSignature(verdict: SignatureVerdict, required: boolean): string {
  switch (verdict.status) {
    case 'trusted':
      return `signed by ${verdict.principals!.join(', ')} (${verdict.signer})`;
    case 'unchecked':
      return `signature matches, by ${verdict.signer}; whose key that is was not checked (give --allowed-signers FILE)`;
    case 'untrusted':
      return `SIGNER NOT ALLOWED: the signature matches but is by ${verdict.signer}, which the allowed signers do not allow (${verdict.problem}); anyone can sign a forged log with a key of their own`;
    case 'bad':
      return `SIGNATURE BAD (${verdict.sigPath}): ${verdict.problem}${verdict.signer ? ` [claims ${verdict.signer}]` : ''}`;
    case 'missing':
      return required ? `UNSIGNED: no signature ${verdict.sigPath}, and --require-signature says every log must be signed` : 'unsigned';
  }
}
