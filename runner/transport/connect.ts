/**
 * The one entry point the runner uses to reach a host: SSH or local, by the spec's kind.
 */
import { connectLocal } from './local.ts';
import { connectSsh } from './ssh.ts';
import type { Connection, ConnectionSpec } from './transport.ts';

/** Connects to one host; rejects with UnreachableError (or HostKeyError) naming the host and a hint. */
export function connect(spec: ConnectionSpec): Promise<Connection> {
  return spec.kind === 'local' ? connectLocal(spec) : connectSsh(spec);
}
