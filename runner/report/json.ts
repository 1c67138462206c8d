/** `--json`: one event per line on stdout, for machines. Redacted like every other output. */
import type { Reporter, StampedEvent } from '../events.ts';
import { toPlain } from '../plain-value.ts';
import type { Redactor } from '../secret.ts';

export class JsonReporter implements Reporter {
  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly redactor: Redactor,
  ) {}

  handle(event: StampedEvent): void {
    this.stream.write(`${JSON.stringify(this.redactor.redactValue(toPlain(event)))}\n`);
  }
}
