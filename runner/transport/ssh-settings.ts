/**
 * A run's ssh settings, resolved in one place: the OpenSSH client config (~/.ssh/config or --ssh-config,
 * with the files it includes) read once per run, each host alias resolved once, and jump chains built
 * from them. The inventory's values win over these; the caller merges (runner/cli/targets.ts).
 *
 * `Match` blocks are not evaluated (their settings never apply): each one met while resolving a host
 * is named in `warnings()`, so a config that relies on one does not fail silently.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { jumpChain } from './jump-chain.ts';
import { readIncludedFiles, resolveSshConfig, type JumpHop, type SshConfigResult } from './ssh-config.ts';
import type { ConnectionSpec } from './transport.ts';

export interface SshSettings {
  /** HostName, Port, User, IdentityFile and ProxyJump for what ssh would be asked to connect to. */
  forHost(alias: string): SshConfigResult;
  /** The connection chain through `hops` (first crossed first), each hop resolved like a host; undefined without hops. */
  jumpChain(target: ConnectionSpec, hops: readonly JumpHop[]): ConnectionSpec | undefined;
  /** What the operator should know: the Match blocks met so far, whose settings drover does not apply. */
  warnings(): string[];
}

export interface SshSettingsOptions {
  /** The config file; default ~/.ssh/config. A missing file means no settings. */
  file?: string;
  /** The config file's text, when the caller has read it already (--ssh-config, which may be a pipe): not read again. */
  text?: string;
  homeDir?: string;
  localUser?: string;
}

/** The settings of one run. The config file is read on first use (never for a run with only local hosts), then kept. */
export function loadSshSettings(options: SshSettingsOptions = {}): SshSettings {
  const homeDir = options.homeDir ?? homedir();
  const localUser = options.localUser ?? userInfo().username;
  const file = options.file ?? join(homeDir, '.ssh', 'config');
  let text: string | null | undefined = options.text;
  const configText = (): string | null => {
    if (text === undefined) {
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
        text = null;
      }
    }
    return text;
  };
  const included = new Map<string, Array<{ file: string; text: string }>>();
  const include = (pattern: string) => {
    const files = included.get(pattern) ?? readIncludedFiles(pattern);
    included.set(pattern, files);
    return files;
  };
  const matchLines = new Set<string>();
  const resolved = new Map<string, SshConfigResult>();
  const forHost = (alias: string): SshConfigResult => {
    let result = resolved.get(alias);
    if (!result) {
      const config = configText();
      result =
        config === null
          ? { identityFiles: [] }
          : resolveSshConfig(config, alias, { file, homeDir, localUser, include, onMatch: (where, line) => matchLines.add(`${where}:${line}`) });
      resolved.set(alias, result);
    }
    return result;
  };
  return {
    forHost,
    jumpChain: (target, hops) =>
      jumpChain(
        target,
        hops.map((hop) => ({ hop, config: forHost(hop.host) })),
        localUser,
        existsSync,
      ),
    warnings: () =>
      [...matchLines].map(
        (where) => `${where}: drover does not evaluate ssh_config Match blocks; the settings under this one never apply (put them under a Host block)`,
      ),
  };
}
