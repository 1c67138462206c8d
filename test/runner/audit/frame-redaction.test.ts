/**
 * The frame of every record and event (kind, run id, time) is drover's own text: the audit log and --json
 * mask everything else. A secret that happened to be text in the frame (`2026`, in every timestamp) was
 * masked there, which broke the run id and the time and gave the secret away.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AuditWriter } from '../../../runner/audit/writer.ts';
import type { StampedEvent } from '../../../runner/events.ts';
import { JsonReporter } from '../../../runner/report/json.ts';
import { MASK, Redactor } from '../../../runner/secret.ts';

const RUN_ID = '20261208T000933Z-2026ab';
const TIME = '2026-12-08T00:09:33.279Z';
const warning: StampedEvent = { kind: 'warning', message: 'token 2026 in a message', host: 'web-2026', runId: RUN_ID, time: TIME };

function redactorOf(value: string): Redactor {
  const redactor = new Redactor();
  redactor.add(value);
  return redactor;
}

describe('audit log and --json: the frame is never masked, the rest always', () => {
  it('writes the run id and the time as they are, and masks the secret elsewhere in the record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-frame-'));
    try {
      const writer = new AuditWriter(join(dir, 'audit.jsonl'), redactorOf('2026'));
      writer.handle(warning);
      await writer.close();
      const record = JSON.parse(readFileSync(join(dir, 'audit.jsonl'), 'utf8').split('\n')[0]!) as Record<string, unknown>;
      expect(record).to.include({ kind: 'warning', runId: RUN_ID, time: TIME, message: `token ${MASK} in a message`, host: `web-${MASK}` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints the frame as it is in --json, and masks the secret elsewhere', () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    new JsonReporter(sink, redactorOf('2026')).handle(warning);
    expect(JSON.parse(text)).to.deep.equal({ kind: 'warning', runId: RUN_ID, time: TIME, message: `token ${MASK} in a message`, host: `web-${MASK}` });
  });
});
