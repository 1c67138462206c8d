/**
 * How to reach a host, read from its merged inventory variables. Ansible's names work, and drover has
 * shorter ones; when both are set, drover's name wins (it is the more deliberate choice in a drover
 * inventory), then the first Ansible name in the list below.
 *
 *   setting          drover name                  Ansible names
 *   address          ssh_host                     ansible_host, ansible_ssh_host
 *   port             ssh_port                     ansible_port, ansible_ssh_port
 *   user             ssh_user                     ansible_user, ansible_ssh_user
 *   privateKeyFile   ssh_key                      ansible_ssh_private_key_file, ansible_private_key_file
 *   keyPassphrase    ssh_key_passphrase           –
 *   password         ssh_password                 ansible_password, ansible_ssh_pass, ansible_ssh_password
 *   become           become                       ansible_become
 *   becomeUser       become_user                  ansible_become_user
 *   becomePassword   become_password              ansible_become_password, ansible_become_pass
 *   (method)         become_method                ansible_become_method   (only sudo)
 *   connection       connection                   ansible_connection      (ssh, smart, paramiko → ssh; local)
 *   knownHostsFile   known_hosts_file             drover_known_hosts_file, or -o UserKnownHostsFile= in
 *                                                 ansible_ssh_common_args / ansible_ssh_extra_args
 *   proxyJump        –                            -o ProxyJump= or -J in those (see ssh-args.ts)
 *
 * A setting left undefined was not set in the inventory: the runner fills it from ~/.ssh/config and its
 * own defaults. `become` defaults to false. `connection` defaults to `local` for a host named localhost,
 * 127.0.0.1 or ::1 with no address set (like Ansible's implicit localhost), otherwise `ssh`. Paths are
 * returned as written (`~` is not expanded here). Other ansible_ssh_* variables, and the words of the
 * ssh argument variables that drover has no equivalent for, are listed in `ignored` so the runner can
 * say so.
 */
import { Secret } from '../runner/secret.ts';
import { LOCALHOST_NAMES } from './inventory.ts';
import { ShlexError } from './shlex.ts';
import { parseSshArgs, type SshArgs } from './ssh-args.ts';
import { describeKind, type InventoryValue, type InventoryVars } from './values.ts';

export interface ConnectionSettings {
  address?: string;
  port?: number;
  user?: string;
  privateKeyFile?: string;
  /** Passphrase of privateKeyFile. */
  keyPassphrase?: Secret;
  password?: Secret;
  become: boolean;
  becomeUser?: string;
  becomePassword?: Secret;
  connection: 'ssh' | 'local';
  knownHostsFile?: string;
  /** Jump hosts as written in ProxyJump (`[user@]host[:port]`, comma-separated), from the ssh argument variables. */
  proxyJump?: string;
  /** Connection variables (or parts of them) that are set but that drover does not act on, for a warning. */
  ignored: readonly string[];
}

/** A connection variable of the wrong type or value; names the host and the variable. */
export class ConnectionVariableError extends Error {
  constructor(
    readonly host: string,
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectionVariableError';
  }
}

export const CONNECTION_VARIABLES = {
  address: ['ssh_host', 'ansible_host', 'ansible_ssh_host'],
  port: ['ssh_port', 'ansible_port', 'ansible_ssh_port'],
  user: ['ssh_user', 'ansible_user', 'ansible_ssh_user'],
  privateKeyFile: ['ssh_key', 'ansible_ssh_private_key_file', 'ansible_private_key_file'],
  keyPassphrase: ['ssh_key_passphrase'],
  password: ['ssh_password', 'ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password'],
  become: ['become', 'ansible_become'],
  becomeUser: ['become_user', 'ansible_become_user'],
  becomePassword: ['become_password', 'ansible_become_password', 'ansible_become_pass'],
  becomeMethod: ['become_method', 'ansible_become_method'],
  connection: ['connection', 'ansible_connection'],
  knownHostsFile: ['known_hosts_file', 'drover_known_hosts_file'],
} as const satisfies Record<string, readonly string[]>;

/** Words for the ssh command line, of which drover honours a few options (ssh-args.ts); common first, as Ansible orders them. */
const SSH_ARGS = ['ansible_ssh_common_args', 'ansible_ssh_extra_args'];
const RECOGNISED: ReadonlySet<string> = new Set(Object.values(CONNECTION_VARIABLES).flat());
const IGNORED_PREFIX = /^ansible_(?:ssh|sftp|scp|paramiko)_/;
const IGNORED_NAMES = new Set(['ansible_timeout', 'ansible_become_exe', 'ansible_become_flags', 'ansible_pipelining']);

// Ansible's module_utils parsing.convert_bool: BOOLEANS_TRUE / BOOLEANS_FALSE.
const TRUE_WORDS = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE_WORDS = new Set(['n', 'no', 'off', '0', 'false', 'f']);

export function connectionSettings(host: string, vars: InventoryVars): ConnectionSettings {
  const read = new VariableReader(host, vars);
  const address = read.text(CONNECTION_VARIABLES.address);
  const method = read.text(CONNECTION_VARIABLES.becomeMethod);
  if (method && method.value !== 'sudo') {
    throw read.error(method.name, `is '${method.value}', but drover becomes another user only with sudo`, 'Remove it or set it to sudo.');
  }
  const explicitConnection = read.connection();
  const connection = explicitConnection ?? (address === undefined && LOCALHOST_NAMES.includes(host) ? 'local' : 'ssh');
  const settings: ConnectionSettings = {
    become: read.boolean(CONNECTION_VARIABLES.become) ?? false,
    connection,
    ignored: Object.keys(vars).filter((name) => !RECOGNISED.has(name) && !SSH_ARGS.includes(name) && (IGNORED_PREFIX.test(name) || IGNORED_NAMES.has(name))),
  };
  const sshArgs = read.sshArgs();
  if (sshArgs.proxyJump !== undefined) settings.proxyJump = sshArgs.proxyJump;
  settings.ignored = [...settings.ignored, ...sshArgs.ignored];
  if (address) settings.address = address.value;
  const port = read.port(CONNECTION_VARIABLES.port);
  if (port !== undefined) settings.port = port;
  const user = read.text(CONNECTION_VARIABLES.user);
  if (user) settings.user = user.value;
  const key = read.text(CONNECTION_VARIABLES.privateKeyFile);
  if (key) settings.privateKeyFile = key.value;
  const passphrase = read.secret(CONNECTION_VARIABLES.keyPassphrase);
  if (passphrase) settings.keyPassphrase = passphrase;
  const password = read.secret(CONNECTION_VARIABLES.password);
  if (password) settings.password = password;
  const becomeUser = read.text(CONNECTION_VARIABLES.becomeUser);
  if (becomeUser) settings.becomeUser = becomeUser.value;
  const becomePassword = read.secret(CONNECTION_VARIABLES.becomePassword);
  if (becomePassword) settings.becomePassword = becomePassword;
  const knownHosts = read.text(CONNECTION_VARIABLES.knownHostsFile)?.value ?? sshArgs.knownHostsFile;
  if (knownHosts) settings.knownHostsFile = knownHosts;
  return settings;
}

class VariableReader {
  constructor(
    private readonly host: string,
    private readonly vars: InventoryVars,
  ) {}

  /** The options drover honours from the ssh argument variables, and what it does not act on there. */
  sshArgs(): Omit<SshArgs, 'unsupported'> & { ignored: string[] } {
    const parsed: SshArgs[] = [];
    const ignored: string[] = [];
    for (const name of SSH_ARGS) {
      const value = this.vars[name];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') {
        ignored.push(name);
        continue;
      }
      let args: SshArgs;
      try {
        args = parseSshArgs(value);
      } catch (error) {
        if (error instanceof ShlexError) throw this.error(name, `cannot be split into words: ${error.message}`, 'Fix its quoting.');
        throw error;
      }
      if (args.unsupported.length > 0) ignored.push(`${name} (${args.unsupported.join(' ')})`);
      parsed.push(args);
    }
    // As with ssh, the first value given wins: the common arguments come before the extra ones.
    const knownHostsFile = parsed.find((args) => args.knownHostsFile !== undefined)?.knownHostsFile;
    const proxyJump = parsed.find((args) => args.proxyJump !== undefined)?.proxyJump;
    return { ...(knownHostsFile !== undefined ? { knownHostsFile } : {}), ...(proxyJump !== undefined ? { proxyJump } : {}), ignored };
  }

  /** The first of the names that is set (null counts as unset). */
  first(names: readonly string[]): { name: string; value: InventoryValue } | undefined {
    for (const name of names) {
      const value = this.vars[name];
      if (value !== undefined && value !== null) return { name, value };
    }
    return undefined;
  }

  error(name: string, problem: string, hint: string): ConnectionVariableError {
    return new ConnectionVariableError(this.host, name, `host '${this.host}': ${name} ${problem}. ${hint}`);
  }

  text(names: readonly string[]): { name: string; value: string } | undefined {
    const found = this.first(names);
    if (!found) return undefined;
    if (typeof found.value !== 'string' || found.value.trim() === '') {
      const shown = typeof found.value === 'string' ? 'empty' : `${describeKind(found.value)} (${JSON.stringify(found.value)})`;
      throw this.error(found.name, `is ${shown}, expected text`, 'Set it to a non-empty string (quote it in YAML if needed).');
    }
    return { name: found.name, value: found.value };
  }

  port(names: readonly string[]): number | undefined {
    const found = this.first(names);
    if (!found) return undefined;
    const { value } = found;
    const port = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw this.error(found.name, `is ${JSON.stringify(value)}, expected a port number from 1 to 65535`, 'Set it to the SSH port, e.g. 22.');
    }
    return port;
  }

  boolean(names: readonly string[]): boolean | undefined {
    const found = this.first(names);
    if (!found) return undefined;
    const { value } = found;
    if (typeof value === 'boolean') return value;
    const word = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim().toLowerCase() : undefined;
    if (word !== undefined && TRUE_WORDS.has(word)) return true;
    if (word !== undefined && FALSE_WORDS.has(word)) return false;
    throw this.error(found.name, `is ${JSON.stringify(value)}, expected a boolean`, 'Use true or false (yes/no, on/off and 1/0 work too).');
  }

  /** Never shows the value: it is a password. */
  secret(names: readonly string[]): Secret | undefined {
    const found = this.first(names);
    if (!found) return undefined;
    const { value } = found;
    if (value instanceof Secret) return value;
    if (typeof value === 'string' || typeof value === 'number') return new Secret(String(value), found.name);
    throw this.error(found.name, `is ${describeKind(value)}, expected a password string`, 'Set it to a plain string.');
  }

  connection(): 'ssh' | 'local' | undefined {
    const found = this.text(CONNECTION_VARIABLES.connection);
    if (!found) return undefined;
    const kind = found.value.replace(/^ansible\.builtin\./, '');
    if (kind === 'local') return 'local';
    if (kind === 'ssh' || kind === 'smart' || kind === 'paramiko') return 'ssh';
    throw this.error(found.name, `is '${found.value}', which drover does not support`, 'Use ssh or local.');
  }
}
