/**
 * assert and debug: the planners (pure), and through runTask on a scripted host that answers no command —
 * so a test fails if either module ever sends one — the result, check mode, the terminal line at each -v
 * count, and the audit record with its Secrets masked.
 */
import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { assert, checkConditions } from '../../modules/assert.ts';
import { debug, debugMessage, DEBUG_MAX_CHARS, renderValue } from '../../modules/debug.ts';
import { auditBody } from '../../runner/audit/writer.ts';
import { HostSession } from '../../runner/engine/host-session.ts';
import { runTask } from '../../runner/engine/task.ts';
import type { RunEvent, StampedEvent } from '../../runner/events.ts';
import { ModuleError } from '../../runner/module-error.ts';
import type { Module } from '../../runner/module.ts';
import { toPlain } from '../../runner/plain-value.ts';
import { TerminalReporter } from '../../runner/report/terminal.ts';
import { SchemaError } from '../../runner/schema.ts';
import { MASK, Redactor, Secret } from '../../runner/secret.ts';
import { ScriptedConnections, scriptedTarget } from '../support/scripted-connection.ts';

async function run(module: Module, params: unknown, check = false) {
  // No rules: any command sent to the host fails the scripted connection.
  const hosts = new ScriptedConnections([]);
  const redactor = new Redactor();
  const session = new HostSession(scriptedTarget('node1'), hosts.connector, redactor, { defaultTimeoutMs: 60_000, trace: () => {} });
  const out = await runTask(session, { name: 'the task', module, params, become: undefined }, { check, redactor, clock: () => 0 });
  await session.close();
  return { ...out, redactor, hosts };
}

function terminal(verbosity: number, redactor: Redactor, events: RunEvent[]): string {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const reporter = new TerminalReporter({ stream, interactive: false, showDiff: false, verbose: verbosity > 0, verbosity, redactor });
  for (const event of events) reporter.handle({ ...event, runId: 'r', time: 't' } as StampedEvent);
  return text;
}

const parsed = (input: unknown) => assert.params.parse(input, '');

describe('assert: conditions → ok or a failure with every failed message', () => {
  it('all conditions true: ok, with the count or the given message', () => {
    expect(
      checkConditions(
        parsed({
          that: [
            { ok: true, msg: 'a' },
            { ok: true, msg: 'b' },
          ],
        }),
        'h',
      ),
    ).to.deep.equal({ changes: [], reason: 'all 2 conditions hold' });
    expect(checkConditions(parsed({ that: [{ ok: true, msg: 'a' }] }), 'h').reason).to.equal('the condition holds');
    expect(checkConditions(parsed({ that: [{ ok: true, msg: 'a' }], successMsg: 'swap is off' }), 'h').reason).to.equal('swap is off');
  });

  it('any false: fails with every failed message (not only the first), the host and the hint', () => {
    const error = (() => {
      try {
        checkConditions(
          parsed({
            that: [
              { ok: false, msg: 'swap is on: 2 GiB' },
              { ok: true, msg: 'never shown' },
              { ok: false, msg: 'only 1 CPU' },
            ],
            hint: 'run swapoff',
          }),
          'node1',
        );
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as ModuleError).message).to.equal('assertion failed: 2 of 3 conditions failed on node1: swap is on: 2 GiB; only 1 CPU');
    expect((error as ModuleError).hint).to.equal('run swapoff');
  });

  it('refuses an empty list, a non-boolean condition and an empty message (a typo must not pass silently)', () => {
    expect(() => parsed({ that: [] })).to.throw(SchemaError);
    expect(() => parsed({ that: [{ ok: 'yes', msg: 'a' }] })).to.throw(SchemaError);
    expect(() => parsed({ that: [{ ok: 1, msg: 'a' }] })).to.throw(SchemaError);
    expect(() => parsed({ that: [{ ok: true, msg: '' }] })).to.throw(SchemaError);
    expect(() => parsed({ that: [{ ok: true }] })).to.throw(SchemaError);
  });

  it('through the engine: no command sent, ok or failed alike in a real run and in check mode, recorded in the audit log', async () => {
    for (const check of [false, true]) {
      const passed = await run(assert, { that: [{ ok: true, msg: 'x' }] }, check);
      expect(passed.result).to.include({ status: 'ok', changed: false, msg: 'the condition holds', checkMode: check });
      expect(passed.hosts.commands()).to.deep.equal([]);
      const failed = await run(
        assert,
        {
          that: [
            { ok: false, msg: 'swap is on' },
            { ok: false, msg: 'no br_netfilter' },
          ],
          hint: 'fix it',
        },
        check,
      );
      expect(failed.result).to.include({ status: 'failed', msg: 'assertion failed: 2 of 2 conditions failed on node1: swap is on; no br_netfilter' });
      expect(failed.result.failure?.hint).to.equal('fix it');
      expect(failed.hosts.commands()).to.deep.equal([]);
      const record = auditBody({ kind: 'task-result', result: failed.result, params: failed.params, handler: false, runId: 'r', time: 't' }, failed.redactor)!;
      expect(record).to.include({ kind: 'task', module: 'assert', status: 'failed', msg: failed.result.msg });
      expect(record.params).to.deep.equal({
        that: [
          { ok: false, msg: 'swap is on' },
          { ok: false, msg: 'no br_netfilter' },
        ],
        hint: 'fix it',
      });
    }
  });
});

describe('debug: message and value, Secrets masked, verbosity', () => {
  it('renders msg and value as one line of JSON; strings as they are', () => {
    expect(debugMessage('join command', { endpoint: '10.0.0.1:6443', n: 3 })).to.equal('join command: {"endpoint":"10.0.0.1:6443","n":3}');
    expect(debugMessage('just a message', undefined)).to.equal('just a message');
    expect(debugMessage(undefined, 'text value')).to.equal('text value');
    expect(debugMessage(undefined, [1, null, true])).to.equal('[1,null,true]');
  });

  it('a Secret at any depth prints as the mask; bytes as their size; bigints as digits; a cycle does not throw', () => {
    const token = new Secret('abcdef.0123456789abcdef', 'join token');
    expect(renderValue(token)).to.equal(MASK);
    expect(renderValue({ cmd: 'kubeadm join', auth: { token }, list: [token] })).to.equal(`{"cmd":"kubeadm join","auth":{"token":"${MASK}"},"list":["${MASK}"]}`);
    expect(renderValue({ data: Buffer.alloc(300) })).to.equal('{"data":"<300 bytes>"}');
    expect(renderValue({ big: 12345678901234567890n })).to.equal('{"big":"12345678901234567890"}');
    const cyclic: Record<string, unknown> = { token };
    cyclic.self = cyclic;
    const text = renderValue(cyclic);
    expect(text).to.include('[Circular').and.include('Secret(join token)').and.not.include('abcdef.0123456789abcdef');
  });

  it('cuts a huge value in the message, saying how long it was', () => {
    const text = debugMessage(undefined, 'x'.repeat(DEBUG_MAX_CHARS + 10));
    expect(text).to.equal(`${'x'.repeat(DEBUG_MAX_CHARS)}… (${DEBUG_MAX_CHARS + 10} characters)`);
  });

  it('refuses a task with neither msg nor value, and a verbosity outside 0..3', () => {
    expect(() => debug.params.parse({}, '')).to.throw(SchemaError, /give msg, value or both/);
    expect(() => debug.params.parse({ msg: 'm', verbosity: 4 }, '')).to.throw(SchemaError);
    expect(() => debug.params.parse({ msg: 'm', verbosity: -1 }, '')).to.throw(SchemaError);
  });

  it('through the engine: ok, no command, same in check mode; the value returned; the Secret masked in terminal and audit log', async () => {
    const raw = 'abcdef.0123456789abcdef';
    for (const check of [false, true]) {
      const { result, params, redactor, hosts } = await run(debug, { msg: 'join', value: { token: new Secret(raw, 'token'), ip: '10.0.0.1' } }, check);
      expect(hosts.commands()).to.deep.equal([]);
      expect(result).to.include({ status: 'ok', changed: false, checkMode: check, msg: `join: {"token":"${MASK}","ip":"10.0.0.1"}` });
      expect((result.value as { ip: string }).ip).to.equal('10.0.0.1');
      // The value's Secret is now known to the run's redactor: masked wherever its text appears.
      expect(redactor.redact(`echo ${raw}`)).to.equal(`echo ${MASK}`);
      const event: RunEvent = { kind: 'task-result', result, params, handler: false };
      const line = terminal(0, redactor, [event]);
      expect(line).to.include('the task').and.include('[debug]').and.include(`join: {"token":"${MASK}","ip":"10.0.0.1"}`).and.not.include(raw);
      const record = JSON.stringify(redactor.redactValue(toPlain(auditBody({ ...event, runId: 'r', time: 't' }, redactor)!)));
      expect(record).to.include('"module":"debug"').and.include('10.0.0.1').and.not.include(raw);
    }
  });

  it('a message holding a registered secret as plain text is masked in the terminal line too', async () => {
    const { result, params, redactor } = await run(debug, { msg: 'm', value: { token: new Secret('s3cr3t-v4lue-xyz', 't') } });
    const leaked = { ...result, msg: 'the token is s3cr3t-v4lue-xyz' };
    expect(terminal(0, redactor, [{ kind: 'task-result', result: leaked, params, handler: false }])).to.not.include('s3cr3t-v4lue-xyz');
  });

  it('verbosity: shown only at that -v count or above; always in the audit log', async () => {
    const { result, params, redactor } = await run(debug, { msg: 'detail', verbosity: 2 });
    expect(result.verbosity).to.equal(2);
    const event: RunEvent = { kind: 'task-result', result, params, handler: false };
    expect(terminal(0, redactor, [event])).to.equal('');
    expect(terminal(1, redactor, [event])).to.equal('');
    expect(terminal(2, redactor, [event])).to.include('(detail)');
    expect(terminal(3, redactor, [event])).to.include('(detail)');
    expect(auditBody({ ...event, runId: 'r', time: 't' }, redactor)).to.include({ msg: 'detail', verbosity: 2 });
    const always = await run(debug, { msg: 'always' });
    expect(always.result.verbosity).to.equal(undefined);
    expect(terminal(0, redactor, [{ kind: 'task-result', result: always.result, params: always.params, handler: false }])).to.include('(always)');
  });
});
