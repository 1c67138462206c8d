import type { HostSession, HostTarget } from './host-session.ts';

/** One HostSession per host for the whole run: one connection per host, reused by every play. */
export class SessionPool {
  readonly #sessions = new Map<string, HostSession>();
  constructor(private readonly create: (target: HostTarget) => HostSession) {}

  get(target: HostTarget): HostSession {
    let session = this.#sessions.get(target.name);
    if (!session) {
      session = this.create(target);
      this.#sessions.set(target.name, session);
    }
    return session;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((session) => session.close()));
  }
}
