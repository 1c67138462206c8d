/**
 * From an inventory to the runner's host targets: host selection (pattern, then --limit), and each
 * host's connection settings from its inventory variables, ~/.ssh/config and the command line, in
 * that order of precedence (inventory over ssh config, as Ansible does).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ConnectionVariableError,
  connectionSettings,
  HostPatternError,
  inventoryFromText,
  limitHosts,
  loadInventoryFile,
  LOCALHOST_NAMES,
  NO_INVENTORY,
  selectHosts,
  type Inventory,
  type InventoryVars,
} from '../../inventory/index.ts';
import type { HostTarget } from '../engine/host-session.ts';
import { parseJumpHops, type SshConfigResult } from '../transport/ssh-config.ts';
import { loadSshSettings, type SshSettings } from '../transport/ssh-settings.ts';
import { keyNeedsPassphrase } from '../transport/ssh.ts';
import type { Secret } from '../secret.ts';
import { promptSecret } from './prompt.ts';
import type { ConnectionSpec } from '../transport/transport.ts';
import { refuseScriptAsInventory } from './argument-roles.ts';
import { UsageError, type CommonOptions } from './options.ts';
import { shardHosts } from './shard.ts';
import { loadVaultKeyring } from './vault-passwords.ts';

export interface Targets {
  /** The inventory file and its sha256, for the audit log; null for the implicit localhost. */
  source: { path: string; sha256: string } | null;
  /**
   * Hosts matching the pattern and (unless ignoreLimit) --limit, then (unless ignoreShard or ignoreLimit)
   * only those of --shard, in inventory order. A shard with none of the matching hosts is empty, not an
   * error: its part of the run has nothing to do.
   */
  select(pattern: string, options: { allowEmpty: boolean; ignoreLimit?: boolean; ignoreShard?: boolean }): HostTarget[];
  /** Things the operator should know that do not stop the run (unused group_vars files, ignored variables). */
  warnings: string[];
}

/**
 * Connection defaults: bounded everywhere, so a dead host costs seconds, not minutes. A host that goes
 * silent during a task is found dead after 4 × 2 s (three unanswered keepalives, OpenSSH's
 * ServerAliveCountMax); one that never answers after 3 attempts of 5 s plus backoff (about 16 s). Both
 * were 15 s, which took 33–57 s to report a dead host while the other hosts went on.
 */
export const CONNECTION_DEFAULTS = {
  connectTimeoutMs: 5_000,
  keepaliveIntervalMs: 2_000,
  keepaliveCountMax: 3,
  connectRetries: 2,
  /** OpenSSH's default MaxSessions is 10; staying below leaves room for the operator's own sessions. */
  maxChannels: 8,
} as const;

/**
 * A config named with --ssh-config must be a file drover can read: a missing ~/.ssh/config is no config,
 * but a missing file the operator named is a typo, and its settings (User, IdentityFile, ProxyJump) would
 * silently not apply.
 */
function readSshConfigFile(file: string): string {
  let problem: string;
  try {
    if (statSync(file).isDirectory()) problem = 'is a directory';
    else return readFileSync(file, 'utf8');
  } catch (error) {
    problem =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  throw new UsageError(`--ssh-config ${file} ${problem}: name an OpenSSH client config file, or leave the option out to read ~/.ssh/config`);
}

export async function loadTargets(options: CommonOptions): Promise<Targets> {
  const inventoryPath = options.inventory ? resolve(options.inventory) : undefined;
  if (inventoryPath && !existsSync(inventoryPath)) throw new UsageError(`inventory ${inventoryPath} does not exist (check -i)`);
  if (inventoryPath && options.inventory) refuseScriptAsInventory(inventoryPath, options.inventory);
  // Without -i there is only the implicit localhost (local connection), as with Ansible.
  const loaded = inventoryPath ? await loadInventoryFile(inventoryPath, { vault: await loadVaultKeyring(options) }) : undefined;
  const inventory = loaded?.inventory ?? inventoryFromText('all: {}\n', NO_INVENTORY, 'yaml');
  if (options.limit !== undefined) checkLimit(inventory, options.limit);
  // A config named with --ssh-config is read here, once, and handed on: a pipe read a second time is empty.
  const sshConfigText = options.sshConfig !== undefined ? readSshConfigFile(options.sshConfig) : undefined;
  const ssh = loadSshSettings({ file: options.sshConfig ?? resolve(homedir(), '.ssh/config'), text: sshConfigText });
  const built = new Map<string, HostTarget>();
  const ignoredBy = new Map<string, string[]>();
  for (const name of [...inventory.hosts, ...LOCALHOST_NAMES.filter((host) => !inventory.hosts.includes(host))]) {
    const { target, ignored } = buildTarget(inventory, name, options, ssh);
    built.set(name, target);
    // The implicit localhost names inherit `all`'s variables; only listed hosts are worth naming.
    if (inventory.hosts.includes(name)) for (const variable of ignored) ignoredBy.set(variable, [...(ignoredBy.get(variable) ?? []), name]);
  }
  await askForSecrets([...built.values()], options);
  const warnings = [...inventory.warnings, ...ssh.warnings()];
  for (const [variable, hosts] of ignoredBy) {
    warnings.push(`drover does not act on ${variable} (set for ${hosts.length} host(s): ${hosts.slice(0, 3).join(', ')}${hosts.length > 3 ? ', …' : ''})`);
  }
  const targetFor = (name: string): HostTarget => built.get(name)!;
  return {
    warnings,
    source: inventoryPath && loaded ? { path: inventoryPath, sha256: loaded.sha256 } : null,
    select(pattern, { allowEmpty, ignoreLimit, ignoreShard }) {
      try {
        let names = selectHosts(inventory, pattern);
        if (options.limit && !ignoreLimit) names = limitHosts(inventory, names, options.limit);
        const selected = names.map(targetFor);
        // A host's shard depends only on its name, so narrowing each play's selection gives the same split as the whole run's.
        return options.shard && !ignoreLimit && !ignoreShard ? shardHosts(selected, options.shard) : selected;
      } catch (error) {
        // A play whose hosts are all limited away is skipped with a warning by the runner, as Ansible does; a
        // pattern that cannot be read (a broken ~regex, `a:&`) is an error however it is used.
        if (allowEmpty && error instanceof HostPatternError && error.problem === 'no-match') return [];
        throw error;
      }
    },
  };
}

/**
 * --limit is checked once, against the whole inventory, before any play selects with it: a pattern that
 * cannot be read is an error, and so is an element naming no host and no group (`--limit web1,wbe2`), as
 * `exec` and the patterns of inventory/patterns.ts treat it. A warning would not do: the operator named
 * that host to be in the run, and a run without it ends "ok". Before, a playbook run turned both into
 * "no host matches this playbook's plays", or into a run on the other elements alone.
 */
function checkLimit(inventory: Inventory, limit: string): void {
  try {
    limitHosts(inventory, [], limit, { allowEmpty: true });
  } catch (error) {
    if (!(error instanceof HostPatternError) || error.message.startsWith('--limit')) throw error;
    throw new HostPatternError(error.pattern, error.term, `--limit: ${error.message}`, error.groups, error.problem);
  }
}

/** A host's target, and the connection variables it sets that drover does not act on (for a warning). */
function buildTarget(inventory: Inventory, name: string, options: CommonOptions, ssh: SshSettings): { target: HostTarget; ignored: readonly string[] } {
  const vars = inventory.varsFor(name);
  const settings = connectionSettings(name, vars);
  // OpenSSH matches Host blocks against what it is asked to connect to: ansible_host when set.
  const sshConfig = settings.connection === 'local' ? { identityFiles: [] } : ssh.forHost(settings.address ?? name);
  const connection = connectionSpec(name, settings, sshConfig, options, vars);
  if (settings.connection === 'ssh') {
    // A jump host set in the inventory (ansible_ssh_common_args) wins over ~/.ssh/config, as ssh's -o does.
    const hops =
      settings.proxyJump !== undefined
        ? parseJumpHops(settings.proxyJump, (problem) => {
            throw new ConnectionVariableError(name, 'ansible_ssh_common_args', `host '${name}': the ProxyJump in its ssh arguments is not valid: ${problem}`);
          })
        : (sshConfig.proxyJump ?? []);
    const jump = ssh.jumpChain(connection, hops);
    if (jump) connection.jump = jump;
  }
  const target: HostTarget = {
    name,
    vars,
    groups: [...inventory.groupsOf(name)],
    connection,
    becomeByDefault: settings.become,
    become: { user: settings.becomeUser, password: settings.becomePassword },
  };
  return { target, ignored: settings.ignored };
}

type Settings = ReturnType<typeof connectionSettings>;

function connectionSpec(name: string, settings: Settings, sshConfig: SshConfigResult, options: CommonOptions, vars: InventoryVars): ConnectionSpec {
  const user = settings.user ?? sshConfig.user ?? userInfo().username;
  const keyFile = expandHome(settings.privateKeyFile) ?? sshConfig.identityFiles.find((file) => existsSync(file)) ?? defaultKey();
  const spec: ConnectionSpec = {
    name,
    address: settings.address ?? sshConfig.hostName ?? name,
    port: settings.port ?? sshConfig.port ?? 22,
    user,
    kind: settings.connection,
    privateKeyFile: keyFile,
    password: settings.password,
    passphrase: settings.keyPassphrase,
    agentSocket: process.env.SSH_AUTH_SOCK,
    knownHostsFiles: [expandHome(settings.knownHostsFile) ?? resolve(homedir(), '.ssh/known_hosts')],
    hostKeyPolicy: options.hostKeyPolicy,
    ...CONNECTION_DEFAULTS,
    ...timingSettings(name, vars, options),
  };
  return spec;
}

/**
 * Connection timings for one host: the inventory's drover_connect_timeout, drover_keepalive_interval
 * (seconds) and drover_keepalive_count win, then --connect-timeout, --keepalive-interval and
 * --keepalive-count, then CONNECTION_DEFAULTS.
 */
function timingSettings(
  host: string,
  vars: InventoryVars,
  options: CommonOptions,
): Pick<ConnectionSpec, 'connectTimeoutMs' | 'keepaliveIntervalMs' | 'keepaliveCountMax'> {
  const read = (variable: string, min: number, max: number, fromCli: number | undefined, fallback: number): number => {
    const value = vars[variable];
    if (value === undefined || value === null) return fromCli ?? fallback;
    const number = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new ConnectionVariableError(
        host,
        variable,
        `host '${host}': ${variable} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
      );
    }
    return number;
  };
  return {
    connectTimeoutMs: read('drover_connect_timeout', 1, 3600, options.connectTimeoutSeconds, CONNECTION_DEFAULTS.connectTimeoutMs / 1000) * 1000,
    keepaliveIntervalMs: read('drover_keepalive_interval', 0, 3600, options.keepaliveIntervalSeconds, CONNECTION_DEFAULTS.keepaliveIntervalMs / 1000) * 1000,
    keepaliveCountMax: read('drover_keepalive_count', 1, 100, options.keepaliveCount, CONNECTION_DEFAULTS.keepaliveCountMax),
  };
}

/** `~/…` as the operator's home, as Ansible and ssh read paths in an inventory. */
function expandHome(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

/**
 * -K asks once for the sudo password of every host; an encrypted key without a passphrase variable is
 * asked for once per key file. Asked before anything runs, so a run never stops half-way for input.
 */
async function askForSecrets(targets: HostTarget[], options: CommonOptions): Promise<void> {
  if (options.askBecomePass) {
    const password = await promptSecret('BECOME password: ', 'become password', 'set become_password (ansible_become_password) in the inventory instead of -K');
    for (const target of targets) target.become = { ...target.become, password };
  }
  const passphrases = new Map<string, Secret | null>();
  // The target's jump hosts log in with keys too (their own or the target's).
  const chains = targets.flatMap((target) => {
    const specs: Array<{ target: HostTarget; spec: ConnectionSpec }> = [];
    for (let spec: ConnectionSpec | undefined = target.connection; spec; spec = spec.jump) specs.push({ target, spec });
    return specs;
  });
  for (const { target, spec } of chains) {
    if (spec.kind !== 'ssh' || !spec.privateKeyFile || spec.passphrase) continue;
    let known = passphrases.get(spec.privateKeyFile);
    if (known === undefined) {
      const encrypted = existsSync(spec.privateKeyFile) && (await keyNeedsPassphrase(spec.privateKeyFile).catch(() => false));
      known = encrypted
        ? await promptSecret(
            `passphrase for ${spec.privateKeyFile}: `,
            'key passphrase',
            `set ssh_key_passphrase for ${target.name} in the inventory, or load the key into ssh-agent`,
          )
        : null;
      passphrases.set(spec.privateKeyFile, known);
    }
    if (known) spec.passphrase = known;
  }
}

/** OpenSSH's own default identities, in its order. */
function defaultKey(): string | undefined {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((file) => resolve(homedir(), '.ssh', file)).find((file) => existsSync(file));
}
