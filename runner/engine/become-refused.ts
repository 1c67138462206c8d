/**
 * sudo refusing the become password. sudo -S answers a wrong password with "Sorry, try again." and, after
 * its last attempt, "sudo: N incorrect password attempts", exit 1 — which, shown as the command's output,
 * reads like the command failed. The session turns it into this error, naming host, user and the fix.
 */

/** The become password was sent and sudo refused it. */
export class BecomeRefusedError extends Error {
  readonly hint: string;

  constructor(
    readonly host: string,
    /** The user sudo asked the password of (the login user). */
    readonly user: string,
    readonly becomeUser: string,
    sudoSays: string,
  ) {
    super(`the become password was refused by sudo for user ${user} on host ${host} (to run as ${becomeUser})${sudoSays ? ` (${sudoSays})` : ''}`);
    this.name = 'BecomeRefusedError';
    this.hint = `set the right ansible_become_password for ${host} (inventory, host_vars or group_vars), or pass -K (--ask-become-pass) to be asked for it; it is the password of ${user} on ${host}`;
  }
}

/** Whether a command sent with a become password failed because sudo refused that password. */
export function sudoRefusedPassword(exitCode: number | null, stderr: string): string | undefined {
  if (exitCode !== 1) return undefined;
  return /^sudo: \d+ incorrect password attempts?$/m.exec(stderr)?.[0];
}
