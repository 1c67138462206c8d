/** `--json`: one event per line on stdout, for machines. Redacted like every other output. */
import type { Reporter, StampedEvent } from '../events.ts';
import type { Redactor } from '../secret.ts';

export class JsonReporter implements Reporter {
  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly redactor: Redactor,
  ) {}

  /**
   * One serialisation, redacting strings as they are written: a round trip through plain values would
   * hold every output three times (the JSON text, the parsed copy, the redacted copy) for each event.
   * Secrets become the mask through their toJSON, which runs before the replacer.
   */
  handle(event: StampedEvent): void {
    const line = JSON.stringify(event, (_key, value: unknown) => (typeof value === 'string' ? this.redactor.redact(value) : value));
    this.stream.write(line);
    this.stream.write('\n');
  }
}
