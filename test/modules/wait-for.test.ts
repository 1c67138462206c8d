import { expect } from 'chai';
import { describeCondition, interpretWait, planWait, waitFor, waitScript } from '../../modules/wait-for.ts';
import { SchemaError } from '../../runner/schema.ts';

const parse = (input: unknown) => waitFor.params.parse(input, '');
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('waitFor: parameters', () => {
  const refused: Array<[unknown, RegExp]> = [
    [{}, /exactly one of port, path or argv/],
    [{ port: 80, path: '/x' }, /exactly one of port, path or argv/],
    [{ port: 0 }, /port/],
    [{ port: 80, host: 'a b' }, /host name or IP address/],
    [{ port: 80, host: '$(reboot)' }, /host name or IP address/],
    [{ port: 80, host: '-e/bin/sh' }, /host name or IP address/],
    [{ port: 80, state: 'present' }, /with port, state is open or closed/],
    [{ path: '/x', state: 'open' }, /with path, state is present or absent/],
    [{ path: 'relative' }, /absolute/],
    [{ search: 'x', argv: ['true'] }, /search needs path/],
    [{ path: '/x', search: 'x', state: 'absent' }, /search waits for a match to appear/],
    [{ argv: ['true'], state: 'open' }, /state is not used with argv/],
    [{ argv: [] }, /argv/],
    [{ port: 80, timeout: -1 }, /timeout/],
    [{ port: 80, sleep: 0 }, /sleep/],
  ];
  for (const [input, message] of refused) {
    it(`refuses ${JSON.stringify(input)}`, () => expect(() => parse(input)).to.throw(SchemaError, message));
  }

  it('defaults: 300 s timeout, no delay, 1 s between checks, 127.0.0.1', () => {
    expect(parse({ port: 6443 })).to.include({ timeout: 300, delay: 0, sleep: 1, host: '127.0.0.1' });
  });
});

describe('waitFor: what was waited for, in words', () => {
  const table: Array<[unknown, string]> = [
    [{ port: 6443 }, 'TCP port 6443 on 127.0.0.1 to be open'],
    [{ port: 8080, host: '10.0.0.11', state: 'closed' }, 'TCP port 8080 on 10.0.0.11 to be closed'],
    [{ path: '/etc//kubernetes/./admin.conf' }, '/etc/kubernetes/admin.conf to be present'],
    [{ path: '/run/lock', state: 'absent' }, '/run/lock to be absent'],
    [{ path: '/var/log/join.log', search: 'joined$' }, '/var/log/join.log to contain a line matching "joined$"'],
    [{ argv: ['kubectl', 'get', 'node', 'a b'] }, 'kubectl get node "a b" to succeed'],
  ];
  for (const [input, words] of table) it(words, () => expect(describeCondition(parse(input))).to.equal(words));
});

describe('waitFor: the plan', () => {
  it('is one read-only command, uncertain when it fails in check mode, with a backstop beyond the timeout', () => {
    const plan = planWait(parse({ port: 6443, timeout: 30, delay: 5 }));
    expect(plan.readOnly).to.equal(true);
    expect(plan.uncertainIfFailsInCheck).to.equal(true);
    expect(plan.changes).to.have.length(1);
    expect(plan.changes[0]!.commands).to.have.length(1);
    expect(plan.changes[0]!.commands[0]).to.include({ readOnly: true, timeoutMs: 95_000, description: 'wait for TCP port 6443 on 127.0.0.1 to be open' });
  });

  it('quotes hostile values as single words and writes numbers without exponents', () => {
    const path = waitScript(parse({ path: "/tmp/a'b $(touch /tmp/pwned)", search: "x'; reboot; '", sleep: 0.25, delay: 1e-7 })).text;
    expect(path).to.contain(`grep -E -q -e 'x'\\''; reboot; '\\''' -- '/tmp/a'\\''b $(touch /tmp/pwned)' 2>/dev/null`);
    expect(path).to.contain('sleep 0.250');
    expect(path).to.contain('sleep 0.000');
    const argv = waitScript(parse({ argv: ['sh', '-c', 'exit $((1))'], timeout: 2.5 })).text;
    expect(argv).to.contain(`timeout -k 5 "$t" sh -c 'exit $((1))' 2>&1`);
    expect(argv).to.contain('limit_ms=2500');
    expect(waitScript(parse({ port: 22, state: 'closed' })).text).to.contain('check() { ! port_open 127.0.0.1 22; }');
  });
});

describe('waitFor: the loop output → value or failure', () => {
  const p = { timeout: 5 };
  const condition = 'TCP port 1 on h to be open';
  it('reached: the value says how long it waited', () => {
    expect(interpretWait(p, condition, [{ exitCode: 0, stdout: 'result=reached\nwaited_ms=3012\nlast=\n', stderr: '' }])).to.deep.equal({
      value: { elapsed: 3.012, condition },
      reason: 'TCP port 1 on h to be open: reached after 3.0 s',
    });
  });
  it("timed out: the failure names the condition, the timeout and the command's last output", () => {
    const verdict = interpretWait(p, condition, [{ exitCode: 0, stdout: `result=timeout\nwaited_ms=5040\nlast=${b64('connection refused\n')}\n`, stderr: '' }]);
    expect(verdict.failed).to.equal("timed out after 5 s waiting for TCP port 1 on h to be open (waited 5.0 s); the command's last output");
    expect(verdict.failedOutput).to.deep.equal({ text: 'connection refused', lines: 10 });
    expect(verdict.value).to.equal(undefined);
  });
  it('no tool on the host to test a port', () => {
    expect(interpretWait(p, condition, [{ exitCode: 0, stdout: 'result=no-tool\n', stderr: '' }]).failed).to.match(/none of bash, python3 or nc/);
  });
  it('output it does not understand fails, showing it', () => {
    expect(interpretWait(p, condition, [{ exitCode: 0, stdout: 'garbage', stderr: 'x' }])).to.deep.equal({
      failed: 'the wait loop printed no result',
      failedOutput: { text: 'garbage\nx', lines: 10 },
    });
  });
});
