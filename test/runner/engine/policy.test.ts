import { expect } from 'chai';
import { splitIntoBatches } from '../../../runner/engine/run-playbook.ts';
import { RunState } from '../../../runner/engine/run-state.ts';
import { selectByTags } from '../../../runner/engine/tags.ts';
import { skippedResult } from '../../../runner/engine/run-playbook.ts';
import { applyConditions } from '../../../runner/engine/task-policy.ts';
import { withOutputTail } from '../../../runner/engine/task.ts';
import type { TaskResult } from '../../../runner/result.ts';
import { MASK, Redactor, secret } from '../../../runner/secret.ts';

describe('tag selection', () => {
  const table: Array<[string[], { only: string[]; skip: string[] }, boolean]> = [
    [[], { only: [], skip: [] }, true],
    [['prep'], { only: ['prep'], skip: [] }, true],
    [['prep'], { only: ['cni'], skip: [] }, false],
    [[], { only: ['prep'], skip: [] }, false],
    [['always'], { only: ['prep'], skip: [] }, true],
    [['always'], { only: [], skip: ['always'] }, false],
    [['never'], { only: [], skip: [] }, false],
    [['never', 'debug'], { only: ['debug'], skip: [] }, true],
    [['prep', 'swap'], { only: ['prep'], skip: ['swap'] }, false],
    [['x'], { only: ['tagged'], skip: [] }, true],
    [[], { only: ['untagged'], skip: [] }, true],
    [['x'], { only: ['all'], skip: [] }, true],
  ];
  for (const [tags, filter, selected] of table) {
    it(`tags ${JSON.stringify(tags)} with --tags ${filter.only.join(',') || '-'} --skip-tags ${filter.skip.join(',') || '-'} → ${selected ? 'runs' : 'skipped'}`, () => {
      expect(selectByTags(tags, filter)).to.equal(selected);
    });
  }
});

describe('serial batches', () => {
  const hosts = ['a', 'b', 'c', 'd', 'e'];
  it('keeps all hosts in one batch without serial', () => expect(splitIntoBatches(hosts, undefined)).to.deep.equal([hosts]));
  it('splits by count', () => expect(splitIntoBatches(hosts, 2)).to.deep.equal([['a', 'b'], ['c', 'd'], ['e']]));
  it('splits by percentage, at least one host', () => expect(splitIntoBatches(hosts, '10%')).to.have.length(5));
  it('splits 40% of 5 into batches of 2', () => expect(splitIntoBatches(hosts, '40%')[0]).to.deep.equal(['a', 'b']));
  it('refuses a zero batch', () => expect(() => splitIntoBatches(hosts, 0)).to.throw(/serial/));
});

describe('recap and exit status', () => {
  it('counts results per host and gives Ansible-like exit codes', () => {
    const state = new RunState();
    state.count(skippedResult('a', 't', 'm', false, 'x'));
    expect(state.exitCode()).to.equal(0);
    state.unreachableHosts.add('b');
    expect(state.exitCode()).to.equal(4);
    state.failedHosts.add('c');
    expect(state.exitCode()).to.equal(2);
    state.stop('interrupted');
    expect(state.exitCode()).to.equal(130);
    expect(state.recap()[0]).to.include({ host: 'a', skipped: 1 });
  });

  it('announces a stop only once', () => {
    const state = new RunState();
    expect(state.stop('fail-fast')).to.equal(true);
    expect(state.stop('interrupted')).to.equal(false);
    expect(state.stopReason).to.equal('fail-fast');
  });
});

describe('failure messages with an output tail', () => {
  // A PEM-like secret whose last base64 line is too short (4 characters) to be masked on its own.
  const KEY = '-----BEGIN TEST KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\nAT8wggE7AgEAAkEAq7BFUpkGp3+XQ\nZw==\n-----END TEST KEY-----';
  const stderr = `loading the key\n${KEY}\nrefused\n`;
  const redactor = new Redactor();
  redactor.add(secret(KEY));

  it('masks the whole output before keeping its last lines, so no short line of a secret shows', () => {
    const message = withOutputTail('failedWhen matched (exit code 1)', { text: stderr, lines: 5 }, redactor);
    expect(message).to.equal(`failedWhen matched (exit code 1):\nloading the key\n${MASK}\nrefused`);
    expect(message).to.not.include('Zw==');
  });

  it("failedWhen on any module's result keeps the same rule", () => {
    const result = { host: 'a', task: 't', module: 'shell', status: 'ok', changed: false, msg: '', rc: 1, stdout: '', stderr } as TaskResult;
    const judged = applyConditions(result, { failedWhen: (r) => r.rc === 1 }, redactor);
    expect(judged.status).to.equal('failed');
    expect(judged.msg).to.include(MASK);
    expect(judged.msg).to.not.include('Zw==');
  });

  it('puts one line after the reason and several below it', () => {
    const plain = new Redactor();
    expect(withOutputTail('r', { text: 'one\n', lines: 5 }, plain)).to.equal('r: one');
    expect(withOutputTail('r', { text: '', lines: 5 }, plain)).to.equal('r');
    expect(withOutputTail('r', undefined, plain)).to.equal('r');
    expect(withOutputTail('r', { text: 'a\nb\nc', lines: 2 }, plain)).to.equal('r:\nb\nc');
  });
});
