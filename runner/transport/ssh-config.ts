/**
 * Reads what drover needs from an OpenSSH client config (ssh_config(5)), so hosts that work with `ssh`
 * work with drover: HostName, Port, User, IdentityFile and ProxyJump. The inventory wins over it; the
 * runner fills in only what the inventory leaves unsaid.
 *
 * Semantics followed from OpenSSH:
 * - `Host` lines take patterns (`*`, `?`, `!negation`, several per line) matched against the alias as
 *   given (the inventory name), never against the HostName.
 * - The first value obtained for a key wins (so specific Host blocks go first, `Host *` last), except
 *   IdentityFile, whose values accumulate in order.
 * - `Include` reads files (globs in the last path component; relative paths are under ~/.ssh), in place;
 *   inside a Host block that does not match, nothing from the included files applies.
 * - Tokens: HostName takes %h (the alias) and %%; IdentityFile takes %h (the resolved host name), %n
 *   (the alias), %p, %r (remote user), %u (local user), %d (home) and %%, and a leading `~`.
 * - ProxyJump takes `[user@]host[:port]` or `ssh://[user@]host[:port]`, comma-separated hops in the
 *   order they are crossed; `none` disables it. The transport supports chains (each hop is a jump spec).
 *
 * Not supported: `Match` blocks are skipped (their conditions are not evaluated — a `Match` block's
 * settings never apply); ssh-settings.ts names each in a warning. Other keys are ignored.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { matchPattern, matchPatternList } from './host-pattern.ts';

export interface JumpHop {
  host: string;
  user?: string;
  port?: number;
}

export interface SshConfigResult {
  hostName?: string;
  port?: number;
  user?: string;
  /** Expanded paths, in the order OpenSSH would try them. */
  identityFiles: string[];
  /** Jump hosts in crossing order; absent when none is configured (or `ProxyJump none`). */
  proxyJump?: JumpHop[];
}

export interface SshConfigContext {
  /** Name of the config file, for messages. */
  file: string;
  localUser: string;
  homeDir: string;
  /** Returns the files an Include pattern names (absolute pattern), in order; without it Include is an error. */
  include?: (pattern: string) => Array<{ file: string; text: string }>;
  /** Told of each `Match` line read (their blocks are skipped), so the caller can warn. */
  onMatch?: (file: string, line: number) => void;
}

/** A config line drover cannot make sense of: names the file, the line and the problem. */
export class SshConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'SshConfigError';
  }
}

/** Where a value came from, so a bad token is reported at its line. */
interface Located {
  value: string;
  file: string;
  line: number;
}

interface Collected {
  hostName?: Located;
  port?: Located;
  user?: Located;
  proxyJump?: Located;
  identityFiles: Located[];
}

const MAX_INCLUDE_DEPTH = 16;

/** Resolves the settings for one host alias from a config's text. Pure unless `context.include` reads files. */
export function resolveSshConfig(text: string, hostAlias: string, context: Partial<SshConfigContext> = {}): SshConfigResult {
  const full: SshConfigContext = {
    file: context.file ?? 'ssh config',
    localUser: context.localUser ?? userInfo().username,
    homeDir: context.homeDir ?? homedir(),
    ...(context.include ? { include: context.include } : {}),
    ...(context.onMatch ? { onMatch: context.onMatch } : {}),
  };
  const collected: Collected = { identityFiles: [] };
  readConfig(text, full.file, hostAlias, full, collected, false, 0);
  return finish(collected, hostAlias, full);
}

/** Include's file lookup: a glob is allowed in the last path component, matches are read in name order. */
export function readIncludedFiles(pattern: string): Array<{ file: string; text: string }> {
  const directory = dirname(pattern);
  const name = basename(pattern);
  let names: string[];
  if (/[*?]/.test(name)) {
    try {
      names = readdirSync(directory)
        .filter((entry) => matchPattern(name, entry))
        .sort();
    } catch {
      return [];
    }
  } else {
    names = [name];
  }
  const files: Array<{ file: string; text: string }> = [];
  for (const entry of names) {
    const file = join(directory, entry);
    try {
      files.push({ file, text: readFileSync(file, 'utf8') });
    } catch {
      // OpenSSH ignores an Include that names no readable file.
    }
  }
  return files;
}

function readConfig(text: string, file: string, alias: string, context: SshConfigContext, collected: Collected, neverMatch: boolean, depth: number): void {
  // Lines before the first Host or Match apply to every host.
  let active = !neverMatch;
  text.split('\n').forEach((rawLine, index) => {
    const line = index + 1;
    const parsed = splitLine(rawLine, file, line);
    if (!parsed) return;
    const { keyword, args } = parsed;
    const first = args[0];
    switch (keyword) {
      case 'host':
        if (args.length === 0) throw new SshConfigError(file, line, 'Host needs at least one pattern');
        active = !neverMatch && matchPatternList(args, alias) === 'match';
        return;
      case 'match':
        active = false;
        context.onMatch?.(file, line);
        return;
      case 'include':
        if (args.length === 0) throw new SshConfigError(file, line, 'Include needs a file name');
        if (depth >= MAX_INCLUDE_DEPTH) throw new SshConfigError(file, line, `Include nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?)`);
        if (!context.include) throw new SshConfigError(file, line, 'Include is not available here (no file reader given)');
        for (const arg of args) {
          const pattern = includePath(arg, context.homeDir);
          for (const included of context.include(pattern)) {
            readConfig(included.text, included.file, alias, context, collected, neverMatch || !active, depth + 1);
          }
        }
        return;
    }
    if (!active || first === undefined) return;
    const located: Located = { value: first, file, line };
    switch (keyword) {
      case 'hostname':
        collected.hostName ??= located;
        return;
      case 'port':
        collected.port ??= located;
        return;
      case 'user':
        collected.user ??= located;
        return;
      case 'proxyjump':
        collected.proxyJump ??= located;
        return;
      case 'identityfile':
        collected.identityFiles.push(located);
        return;
    }
  });
}

/** Splits `Keyword value…` or `Keyword=value…` into a lowercased keyword and its arguments. */
function splitLine(rawLine: string, file: string, line: number): { keyword: string; args: string[] } | undefined {
  const trimmed = rawLine.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const match = /^([^\s=]+)\s*(?:=\s*)?(.*)$/.exec(trimmed);
  if (!match) return undefined;
  return { keyword: (match[1] ?? '').toLowerCase(), args: splitArgs(match[2] ?? '', file, line) };
}

/** Whitespace-separated words; "double" or 'single' quotes group; an unquoted word starting with # ends the line. */
function splitArgs(text: string, file: string, line: number): string[] {
  const args: string[] = [];
  let index = 0;
  while (index < text.length) {
    while (index < text.length && /\s/.test(text[index] ?? '')) index++;
    if (index >= text.length) break;
    if (text[index] === '#') break;
    let word = '';
    while (index < text.length && !/\s/.test(text[index] ?? '')) {
      const char = text[index] as string;
      if (char === '"' || char === "'") {
        const end = text.indexOf(char, index + 1);
        if (end < 0) throw new SshConfigError(file, line, `unterminated ${char} quote`);
        word += text.slice(index + 1, end);
        index = end + 1;
      } else {
        word += char;
        index++;
      }
    }
    args.push(word);
  }
  return args;
}

function includePath(arg: string, homeDir: string): string {
  if (arg.startsWith('~/')) return join(homeDir, arg.slice(2));
  return isAbsolute(arg) ? arg : join(homeDir, '.ssh', arg);
}

function finish(collected: Collected, alias: string, context: SshConfigContext): SshConfigResult {
  const result: SshConfigResult = { identityFiles: [] };
  if (collected.hostName) result.hostName = expandTokens(collected.hostName, { h: alias });
  if (collected.port) result.port = parsePort(collected.port.value, collected.port.file, collected.port.line, 'Port');
  if (collected.user) result.user = collected.user.value;
  if (collected.proxyJump && collected.proxyJump.value.toLowerCase() !== 'none') {
    result.proxyJump = parseProxyJump(collected.proxyJump);
  }
  const tokens: Record<string, string> = {
    h: result.hostName ?? alias,
    n: alias,
    p: String(result.port ?? 22),
    r: result.user ?? context.localUser,
    u: context.localUser,
    d: context.homeDir,
  };
  for (const located of collected.identityFiles) {
    if (located.value.toLowerCase() === 'none') continue;
    const expanded = expandTokens(located, tokens);
    result.identityFiles.push(expanded.startsWith('~/') ? join(context.homeDir, expanded.slice(2)) : expanded);
  }
  return result;
}

function expandTokens(located: Located, tokens: Record<string, string>): string {
  return located.value.replace(/%(.?)/g, (_whole, letter: string) => {
    if (letter === '%') return '%';
    const value = tokens[letter];
    if (value === undefined) {
      const supported = Object.keys(tokens)
        .map((key) => `%${key}`)
        .join(' ');
      throw new SshConfigError(located.file, located.line, `token %${letter} is not supported here (supported: ${supported} %%)`);
    }
    return value;
  });
}

function parsePort(text: string, file: string, line: number, what: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new SshConfigError(file, line, `${what} must be a number from 1 to 65535, not "${text}"`);
  return port;
}

/** Parses a ProxyJump value from a config file, reporting a bad hop at its line. */
function parseProxyJump(located: Located): JumpHop[] {
  return parseJumpHops(located.value, (problem) => {
    throw new SshConfigError(located.file, located.line, problem);
  });
}

/**
 * Parses a ProxyJump value into hops: `[user@]host[:port]`, `ssh://…`, IPv6 as `[addr]:port`,
 * comma-separated in crossing order. `fail` raises the caller's error for a malformed hop.
 */
export function parseJumpHops(value: string, fail: (problem: string) => never): JumpHop[] {
  return value.split(',').map((raw) => {
    const hop = raw.trim().replace(/^ssh:\/\//, '');
    const at = hop.lastIndexOf('@');
    const user = at >= 0 ? hop.slice(0, at) : undefined;
    const hostPort = at >= 0 ? hop.slice(at + 1) : hop;
    let host = hostPort;
    let portText: string | undefined;
    const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(hostPort);
    if (bracketed) {
      host = bracketed[1] ?? '';
      portText = bracketed[2];
    } else if (hostPort.split(':').length === 2) {
      [host = '', portText] = hostPort.split(':');
    }
    if (host === '' || user === '') fail(`ProxyJump hop "${raw.trim()}" is not [user@]host[:port]`);
    const port = portText !== undefined && /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (portText !== undefined && !(port >= 1 && port <= 65535)) fail(`a ProxyJump port must be a number from 1 to 65535, not "${portText}"`);
    return { host, ...(user ? { user } : {}), ...(portText !== undefined ? { port } : {}) };
  });
}
