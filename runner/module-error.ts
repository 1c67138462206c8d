/**
 * An impossible or invalid request found while planning (a sysctl key the kernel does not have, a
 * package that no repository offers). The runner adds the host, task and module to the message.
 */
export class ModuleError extends Error {
  constructor(
    message: string,
    /** What the operator can do about it. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ModuleError';
  }
}
