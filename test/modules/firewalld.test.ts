import { expect } from 'chai';
import { firewalld, planFirewalld, portProblem, readProbe, sourceProblem } from '../../modules/firewalld.ts';

const parse = (params: unknown) => firewalld.params.parse(params, '');

describe('firewalld planner', () => {
  const ports: Array<[string, boolean]> = [
    ['6443/tcp', true],
    ['30000-32767/tcp', true],
    ['8472/udp', true],
    ['0/tcp', false],
    ['70000/tcp', false],
    ['90-80/tcp', false],
    ['80', false],
    ['80/icmp', false],
    ['80/tcp --permanent', false],
  ];
  for (const [text, ok] of ports) it(`port ${JSON.stringify(text)} is ${ok ? 'accepted' : 'refused'}`, () => expect(portProblem(text) === undefined).to.equal(ok));

  const sources: Array<[string, boolean]> = [
    ['10.0.0.0/8', true],
    ['192.0.2.7', true],
    ['2001:db8::/32', true],
    ['52:54:00:12:34:56', true],
    ['ipset:k8s-nodes', true],
    ['10.0.0.0/33', false],
    ['2001:db8::/129', false],
    ['10.0.0.0/8/1', false],
    ["10.0.0.0/8' ; id", false],
    ['example.com', false],
  ];
  for (const [text, ok] of sources) it(`source ${JSON.stringify(text)} is ${ok ? 'accepted' : 'refused'}`, () => expect(sourceProblem(text) === undefined).to.equal(ok));

  it('cross-field rules: one item, zones need a zone name and the permanent configuration', () => {
    expect(() => parse({ port: '80/tcp', service: 'http' })).to.throw('exactly one of port, service and source');
    expect(() => parse({ state: 'present' })).to.throw('needs the zone');
    expect(() => parse({ zone: 'k8s', state: 'present', port: '80/tcp' })).to.throw('give no port, service or source');
    expect(() => parse({ zone: 'k8s', state: 'absent', permanent: false })).to.throw('needs permanent: true');
    expect(() => parse({ port: '80/tcp', permanent: false, runtime: false })).to.throw('nothing would change');
  });

  const table: Array<[string, unknown, { permanent: boolean; runtime: boolean }, string[]]> = [
    ['opens both when closed', { port: '80/tcp' }, { permanent: false, runtime: false }, ['firewall-cmd --permanent --zone=public --add-port=80/tcp', 'firewall-cmd --zone=public --add-port=80/tcp']],
    ['only the runtime when the saved one has it', { port: '80/tcp' }, { permanent: true, runtime: false }, ['firewall-cmd --zone=public --add-port=80/tcp']],
    ['nothing when both have it', { service: 'http' }, { permanent: true, runtime: true }, []],
    ['runtime only, as asked', { source: '10.0.0.0/8', permanent: false }, { permanent: false, runtime: false }, ['firewall-cmd --zone=public --add-source=10.0.0.0/8']],
    ['removes where present', { service: 'http', state: 'disabled' }, { permanent: true, runtime: false }, ['firewall-cmd --permanent --zone=public --remove-service=http']],
    ['creates a zone and reloads', { zone: 'k8s', state: 'present' }, { permanent: false, runtime: false }, ['firewall-cmd --permanent --new-zone=k8s', 'firewall-cmd --reload']],
    ['reloads a zone saved but not yet in force', { zone: 'k8s', state: 'present' }, { permanent: true, runtime: false }, ['firewall-cmd --reload']],
    ['leaves the reload for later with runtime false', { zone: 'k8s', state: 'absent', runtime: false }, { permanent: true, runtime: true }, ['firewall-cmd --permanent --delete-zone=k8s']],
  ];
  for (const [what, params, state, commands] of table) {
    it(`plans: ${what}`, () => {
      const p = parse(params);
      const plan = planFirewalld(p, { zone: p.zone ?? 'public', ...state });
      expect(plan.changes.flatMap((change) => change.commands.map((command) => (command.run instanceof Object && 'text' in command.run ? command.run.text : '')))).to.deep.equal(commands);
    });
  }

  it('reads the probe, and names the fix for what firewall-cmd refuses', () => {
    const p = parse({ port: '80/tcp' });
    expect(readProbe({ exitCode: 0, stdout: 'state=running\nzone=public\npermanent=0\nruntime=1\n', stderr: '' }, p, 'h')).to.deep.equal({ zone: 'public', permanent: true, runtime: false });
    expect(() => readProbe({ exitCode: 0, stdout: 'state=not running\n', stderr: '' }, p, 'h')).to.throw('firewalld is not running on h');
    expect(() => readProbe({ exitCode: 0, stdout: 'tool=missing\n', stderr: '' }, p, 'h')).to.throw('h has no firewall-cmd');
    const missing = readProbe({ exitCode: 0, stdout: 'state=running\nzone=x\npermanent=112\npermanent-error=Error: INVALID_ZONE: x \nruntime=1\n', stderr: '' }, p, 'h');
    expect(missing).to.deep.equal({ zone: 'x', permanent: false, runtime: false, zoneMissing: { permanent: true, runtime: false } });
    expect(() => readProbe({ exitCode: 0, stdout: 'state=running\nzone=public\npermanent=101\npermanent-error=Error: INVALID_SERVICE: nope \n', stderr: '' }, parse({ service: 'nope' }), 'h')).to.throw('INVALID_SERVICE');
  });

  it('a zone that does not exist yet: the change is planned behind a guard and uncertain; removing from it is nothing to do', () => {
    const zoneMissing = { permanent: true, runtime: true };
    const add = planFirewalld(parse({ port: '80/tcp', zone: 'k8s' }), { zone: 'k8s', permanent: false, runtime: false, zoneMissing });
    expect(add.uncertain).to.equal(true);
    expect(add.changes.map((change) => change.summary)).to.deep.equal([
      'check that zone k8s exists by then (not yet in the permanent configuration; an earlier task may create it)',
      'enable port 80/tcp in zone k8s (permanent)',
      'check that zone k8s exists by then (not yet in the runtime configuration; an earlier task may create it)',
      'enable port 80/tcp in zone k8s (runtime)',
    ]);
    expect(add.changes[0]!.commands[0]!.readOnly).to.equal(true);
    const remove = planFirewalld(parse({ port: '80/tcp', zone: 'k8s', state: 'disabled' }), { zone: 'k8s', permanent: false, runtime: false, zoneMissing });
    expect(remove.changes).to.deep.equal([]);
  });
});
