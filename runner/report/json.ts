/** `--json`: one event per line on stdout, for machines. Redacted like every other output. */
import { EVENT_FRAME_KEYS, type Reporter, type StampedEvent } from '../events.ts';
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
    const root = outputOnce(event);
    const redactor = this.redactor;
    // Every string but the event's frame (EVENT_FRAME_KEYS), which is drover's own text.
    const line = JSON.stringify(root, function (this: unknown, key: string, value: unknown) {
      if (typeof value !== 'string' || (this === root && EVENT_FRAME_KEYS.has(key))) return value;
      return redactor.redact(value);
    });
    this.stream.write(line);
    this.stream.write('\n');
  }
}

/**
 * Each byte of a command's output appears once in the stream: a task result whose output was already
 * sent as a `host-output` event (ad-hoc exec) leaves it out (`outputIn: "host-output"`), and a command
 * record leaves out output that is the result's own `stdout`/`stderr` (the last command's). Shallow
 * copies only: the strings themselves are shared, never copied.
 */
function outputOnce(event: StampedEvent): unknown {
  if (event.kind !== 'task-result') return event;
  const { result } = event;
  const commands = result.commands.map((command) => {
    const same = command.stdout === result.stdout && command.stderr === result.stderr && (command.stdout !== '' || command.stderr !== '');
    if (!same && !event.echoed) return command;
    const { stdout: _stdout, stderr: _stderr, ...rest } = command;
    return { ...rest, outputIn: event.echoed ? 'host-output' : 'result' };
  });
  if (!event.echoed) return { ...event, result: { ...result, commands } };
  const { stdout: _stdout, stderr: _stderr, ...rest } = result;
  return { ...event, result: { ...rest, commands, outputIn: 'host-output' } };
}
