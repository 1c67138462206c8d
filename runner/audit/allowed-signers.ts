/**
 * OpenSSH's allowed_signers file (ssh-keygen(1), "ALLOWED SIGNERS"): which keys may sign, as whom, for
 * which namespaces and when. drover reads the same file `ssh-keygen -Y verify -f` reads, so one policy
 * file serves both verifiers.
 *
 *   # principals       [options]                              keytype      base64-key      [comment]
 *   alice@example.com  namespaces="drover-audit"              ssh-ed25519  AAAAC3Nza…      alice's laptop
 *   ops@example.com,bob@example.com  valid-before="20271231Z" ssh-rsa      AAAAB3Nza…
 *
 * Example: allowedPrincipals(parseAllowedSigners(text, 'allowed_signers'), publicKey, 'drover-audit', new Date())
 *   → { principals: ['alice@example.com'] } or { principals: [], refusals: ['line 3: … valid before …'] }
 */
import { keyType } from './sshsig.ts';

export interface AllowedSigner {
  line: number;
  /** The principals field as written (a comma-separated pattern list). */
  principals: string;
  publicKey: Buffer;
  certAuthority: boolean;
  namespaces?: string;
  validAfter?: Date;
  validBefore?: Date;
}

/** A line of the file that cannot be read; the message names the file and the line. */
export class AllowedSignersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AllowedSignersError';
  }
}

const KEY_TYPE = /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-[\w@.-]+|[\w.-]+-cert-v01@openssh\.com)$/;

export function parseAllowedSigners(text: string, file: string): AllowedSigner[] {
  const signers: AllowedSigner[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const lineNumber = index + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fail = (problem: string) =>
      new AllowedSignersError(`${file} line ${lineNumber}: ${problem} (format: PRINCIPALS [OPTIONS] KEYTYPE BASE64-KEY, see ssh-keygen(1) ALLOWED SIGNERS)`);
    const tokens = tokenize(line);
    if (tokens.length < 3) throw fail('too few fields');
    const principals = unquote(tokens[0]!);
    let at = 1;
    let options = '';
    if (!KEY_TYPE.test(tokens[1]!)) {
      options = tokens[1]!;
      at = 2;
    }
    const type = tokens[at];
    const base64 = tokens[at + 1];
    if (type === undefined || base64 === undefined || !KEY_TYPE.test(type)) throw fail('no key type and key');
    const publicKey = Buffer.from(base64, 'base64');
    let blobType: string;
    try {
      blobType = keyType(publicKey);
    } catch {
      throw fail('the key is not valid base64 of an SSH public key');
    }
    if (blobType !== type) throw fail(`the key field holds a ${blobType} key but the line says ${type}`);
    const signer: AllowedSigner = { line: lineNumber, principals, publicKey, certAuthority: false };
    for (const option of splitOutsideQuotes(options, ',').filter(Boolean)) {
      const [name, ...rest] = option.split('=');
      const value = rest.length > 0 ? unquote(rest.join('=')) : undefined;
      switch (name!.toLowerCase()) {
        case 'cert-authority':
          signer.certAuthority = true;
          break;
        case 'namespaces':
          signer.namespaces = value ?? '';
          break;
        case 'valid-after':
          signer.validAfter = parseTimestamp(value ?? '', fail);
          break;
        case 'valid-before':
          signer.validBefore = parseTimestamp(value ?? '', fail);
          break;
        default:
          throw fail(`unknown option ${JSON.stringify(name)}`);
      }
    }
    signers.push(signer);
  }
  return signers;
}

export interface PrincipalMatch {
  /** The principals fields of every line that allows this key, for this namespace, now. */
  principals: string[];
  /** Lines that name the key but do not allow it here (another namespace, outside its validity), and why. */
  refusals: string[];
}

/** Who `publicKey` signs as, by the lines of the file (like `ssh-keygen -Y find-principals`). */
export function allowedPrincipals(signers: AllowedSigner[], publicKey: Buffer, namespace: string, now: Date): PrincipalMatch {
  const match: PrincipalMatch = { principals: [], refusals: [] };
  for (const signer of signers) {
    // A cert-authority line trusts certificates signed by that key, not signatures by the key itself.
    if (signer.certAuthority || !signer.publicKey.equals(publicKey)) continue;
    if (signer.namespaces !== undefined && !matchPatternList(namespace, signer.namespaces)) {
      match.refusals.push(`line ${signer.line} (${signer.principals}) allows the key only for the namespaces ${JSON.stringify(signer.namespaces)}`);
    } else if (signer.validAfter && now < signer.validAfter) {
      match.refusals.push(`line ${signer.line} (${signer.principals}) allows the key only after ${signer.validAfter.toISOString()}`);
    } else if (signer.validBefore && now >= signer.validBefore) {
      match.refusals.push(`line ${signer.line} (${signer.principals}) allowed the key only before ${signer.validBefore.toISOString()}`);
    } else {
      match.principals.push(signer.principals);
    }
  }
  return match;
}

/** OpenSSH's pattern lists: comma-separated globs (* and ?), a leading ! negates and wins. */
export function matchPatternList(value: string, list: string): boolean {
  let matched = false;
  for (const entry of list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const negated = entry.startsWith('!');
    const pattern = negated ? entry.slice(1) : entry;
    const regex = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    if (regex.test(value)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]: local time unless it ends in Z, as ssh-keygen reads it. */
function parseTimestamp(text: string, fail: (problem: string) => Error): Date {
  const match = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z)?$/i.exec(text);
  if (!match) throw fail(`timestamp ${JSON.stringify(text)} is not YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]`);
  const [, year, month, day, hour = '0', minute = '0', second = '0', utc] = match;
  const parts = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)] as const;
  return utc ? new Date(Date.UTC(...parts)) : new Date(...parts);
}

/** Splits on whitespace outside double quotes (options may quote lists with spaces). */
function tokenize(line: string): string[] {
  return splitOutsideQuotes(line, ' \t').filter(Boolean);
}

function splitOutsideQuotes(text: string, separators: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (!quoted && separators.includes(char)) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}
