/**
 * The connection chain through a target's jump hosts (ProxyJump), built as OpenSSH builds it: the first
 * hop is connected first and the target is reached through the last. Each hop named by an alias is
 * looked up in ~/.ssh/config like any host, so `ProxyJump bastion` with a `Host bastion` block works.
 */
import type { JumpHop, SshConfigResult } from './ssh-config.ts';
import type { ConnectionSpec } from './transport.ts';

export interface ResolvedHop {
  hop: JumpHop;
  /** The hop's own ~/.ssh/config settings (HostName, Port, User, IdentityFile). */
  config: SshConfigResult;
}

/**
 * For each hop: address, port and user as written in the hop, else from its config block, else the
 * defaults ssh uses (port 22, the local user). The key is the hop's own IdentityFile when one exists,
 * else the target's (one key for a fleet and its bastion is common; ssh-agent is offered too). Host keys
 * are checked against the target's known_hosts files. Passwords are never sent to a jump host.
 */
export function jumpChain(
  target: ConnectionSpec,
  hops: readonly ResolvedHop[],
  localUser: string,
  fileExists: (path: string) => boolean,
): ConnectionSpec | undefined {
  let through: ConnectionSpec | undefined;
  for (const { hop, config } of hops) {
    const ownKey = config.identityFiles.find(fileExists);
    through = {
      ...target,
      name: `${target.name} (via jump host ${hop.host})`,
      address: config.hostName ?? hop.host,
      port: hop.port ?? config.port ?? 22,
      user: hop.user ?? config.user ?? localUser,
      privateKeyFile: ownKey ?? target.privateKeyFile,
      passphrase: ownKey === undefined || ownKey === target.privateKeyFile ? target.passphrase : undefined,
      password: undefined,
      jump: through,
    };
  }
  return through;
}
