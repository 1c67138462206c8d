/**
 * Values that modules return (Plan.value, Interpretation.value), check-mode uncertainty for a failed
 * read-only wait, and secrets inside values, through runTask on a scripted host: the engine's side of
 * stat, waitFor and slurp, without a lab.
 */
import { expect } from 'chai';
import { slurp } from '../../../modules/slurp.ts';
import { stat } from '../../../modules/stat.ts';
import { waitFor } from '../../../modules/wait-for.ts';
import { HostSession, type HostTarget } from '../../../runner/engine/host-session.ts';
import { runTask } from '../../../runner/engine/task.ts';
import type { Module } from '../../../runner/module.ts';
import { Redactor } from '../../../runner/secret.ts';
import { ScriptedConnections, type ScriptRule, scriptedTarget } from '../../support/scripted-connection.ts';

const target = (name: string): HostTarget => scriptedTarget(name);

async function run(module: Module, params: unknown, rules: ScriptRule[], check = false, lastPrediction?: () => { host: string; task: string } | undefined) {
  const hosts = new ScriptedConnections(rules);
  const redactor = new Redactor();
  const traces: string[] = [];
  const session = new HostSession(target('a'), hosts.connector, redactor, {
    defaultTimeoutMs: 60_000,
    trace: (_host, _level, message, detail) => traces.push(`${message}\n${detail ?? ''}`),
  });
  const { result } = await runTask(session, { name: 't', module, params, become: undefined }, { check, redactor, clock: () => 0, ...(lastPrediction && { lastPrediction }) });
  await session.close();
  return { result, redactor, traces, hosts };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('engine: values returned by modules', () => {
  it('a value known from the probe comes back with an ok result (stat), in check mode too', async () => {
    const answer: ScriptRule = { match: 'stat "$@" --printf', reply: { stdout: 'absent=yes\n' } };
    for (const check of [false, true]) {
      const { result } = await run(stat, { path: '/nothing' }, [answer], check);
      expect(result).to.include({ status: 'ok', changed: false, msg: 'absent' });
      expect(result.value).to.deep.equal({ path: '/nothing', exists: false, type: 'absent' });
    }
  });

  it("a value from the command output, with the interpretation's message (waitFor reached)", async () => {
    const { result, hosts } = await run(waitFor, { port: 6443 }, [{ match: 'check()', reply: { stdout: 'result=reached\nwaited_ms=2500\nlast=\n' } }]);
    expect(hosts.commands('a')).to.have.length(1);
    expect(result).to.include({ status: 'ok', changed: false, msg: 'TCP port 6443 on 127.0.0.1 to be open: reached after 2.5 s' });
    expect(result.value).to.deep.equal({ elapsed: 2.5, condition: 'TCP port 6443 on 127.0.0.1 to be open' });
  });

  it('a wait that times out fails a real run, and a dry run with no change predicted; after a change predicted while it waited it is "would run"', async () => {
    const timeout: ScriptRule = { match: 'check()', reply: { stdout: 'result=timeout\nwaited_ms=5000\nlast=\n' } };
    const real = await run(waitFor, { path: '/x', timeout: 5 }, [timeout]);
    expect(real.result).to.include({ status: 'failed', msg: 'timed out after 5 s waiting for /x to be present (waited 5.0 s)' });
    expect(real.result.value).to.equal(undefined);
    // Nothing in the run would make /x: the real run would fail the same way.
    const alone = await run(waitFor, { path: '/x', timeout: 5 }, [timeout], true, () => undefined);
    expect(alone.result).to.include({ status: 'failed', checkMode: true, msg: 'timed out after 5 s waiting for /x to be present (waited 5.0 s)' });
    // Another host predicted a change while this one waited: what it waits for may be what that change brings.
    let predicted: { host: string; task: string } | undefined;
    const meanwhile = await run(waitFor, { path: '/x', timeout: 5 }, [{ ...timeout, reply: { ...timeout.reply } }], true, () => {
      const now = predicted;
      predicted = { host: 'b', task: 'write /x' };
      return now;
    });
    expect(meanwhile.result).to.include({ status: 'changed', uncertain: true, checkMode: true });
    expect(meanwhile.result.msg).to.equal('would run (cannot know: depends on "write /x" on b, which would change what this waits for first): timed out after 5 s waiting for /x to be present (waited 5.0 s)');
  });

  it('a secret value is registered with the redactor, and its probe output is not traced', async () => {
    const text = 'tok-8f1c2a9e4b7d6053aa1e\n';
    const answer: ScriptRule = { match: 'head -c', reply: { stdout: `kind=file\ncontent=${b64(text)}\n` } };
    const secret = await run(slurp, { path: '/root/token', secret: true }, [answer]);
    expect(secret.redactor.redact(`x ${text.trim()} y`)).to.not.contain('tok-8f1c2a9e4b7d6053aa1e');
    expect(secret.traces.join('\n')).to.contain('(secret output').and.not.contain(b64(text));
    const plain = await run(slurp, { path: '/etc/motd' }, [answer]);
    expect(plain.redactor.redact(text)).to.equal(text);
    expect(plain.traces.join('\n')).to.contain(b64(text));
  });
});
