import { expect } from 'chai';
import { group, groupProbeScript, parseGroupProbe, planGroup, type GroupState } from '../../modules/group.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { predictThenApply } from '../support/check-mode.ts';
import { displayedCommands } from '../support/plan-display.ts';
import { applyModule, closeTargets, labTargets, onHost, type LabTarget } from '../support/targets.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const parse = (input: Parameters<typeof group.params.parse>[0]) => group.params.parse(input, '');
const found = (gid: number, extra: Partial<GroupState> = {}): GroupState => ({ exists: true, gid, members: [], primaryOf: [], ...extra });
const none: GroupState = { exists: false, members: [], primaryOf: [] };

describe('group: names, probe output and plans (pure)', () => {
  it('refuses names shadow-utils would refuse, and hostile strings, as invalid input', () => {
    for (const name of ['docker', '_etcd', 'k8s-admins', 'machine$', 'a'.repeat(32)]) expect(parse({ name }).name).to.equal(name);
    for (const [name, message] of [
      ['', /must not be empty/],
      ['Docker', /not a valid group name/],
      ['-rf', /not a valid group name/],
      ['1000', /not a valid group name/],
      ['a:b', /not a valid group name/],
      ['x; touch /tmp/pwned', /not a valid group name/],
      ['$(id)', /not a valid group name/],
      ['new\nline', /not a valid group name/],
      ['a'.repeat(33), /longer than 32 characters/],
    ] as const) {
      expect(() => parse({ name }), name).to.throw(SchemaError, message);
    }
    expect(() => parse({ name: 'g', state: 'absent', gid: 5 })).to.throw(SchemaError, /gid means nothing with state=absent/);
    expect(() => parse({ name: 'g', gid: -1 })).to.throw(SchemaError, /below the minimum/);
  });

  it('parses the probe output (getent line base64, gid holder, primary users)', () => {
    expect(parseGroupProbe(`group=${b64('sudo:x:27:ops,alice\n')}\n`)).to.deep.equal(found(27, { members: ['ops', 'alice'] }));
    expect(parseGroupProbe('group=absent\ngidowner=docker\n')).to.deep.equal({ ...none, gidOwner: 'docker' });
    expect(parseGroupProbe(`group=${b64('web:x:1001:')}\nprimaryof=web\nprimaryof=deploy\n`)).to.deep.equal(found(1001, { primaryOf: ['web', 'deploy'] }));
    expect(() => parseGroupProbe('garbage')).to.throw(ModuleError, /unexpected group probe output/);
  });

  it('asks only what it needs: the gid holder with gid, primary users when removing', () => {
    expect(groupProbeScript(parse({ name: 'g' })).text).to.not.match(/gidowner|primaryof/);
    expect(groupProbeScript(parse({ name: 'g', gid: 1234 })).text).to.include('getent group 1234');
    expect(groupProbeScript(parse({ name: 'g', state: 'absent' })).text).to.include('primaryof=');
  });

  const table: Array<[string, Parameters<typeof parse>[0], GroupState, { diffs: unknown[]; commands: string[] }]> = [
    ['create with any gid', { name: 'web' }, none, { diffs: [{ kind: 'value', name: 'group web', before: null, after: 'present' }], commands: ['groupadd web'] }],
    ['create a system group with a gid', { name: 'etcd', gid: 2379, system: true }, none, { diffs: [{ kind: 'value', name: 'group etcd', before: null, after: 'gid 2379' }], commands: ['groupadd -g 2379 -r etcd'] }],
    ['exists, no gid asked', { name: 'web' }, found(1001), { diffs: [], commands: [] }],
    ['exists with the asked gid', { name: 'web', gid: 1001 }, found(1001, { gidOwner: 'web' }), { diffs: [], commands: [] }],
    ['gid differs', { name: 'web', gid: 2000 }, found(1001), { diffs: [{ kind: 'value', name: 'group web gid', before: '1001', after: '2000' }], commands: ['groupmod -g 2000 web'] }],
    ['remove', { name: 'web', state: 'absent' }, found(1001), { diffs: [{ kind: 'value', name: 'group web', before: 'gid 1001', after: 'absent' }], commands: ['groupdel web'] }],
    ['remove, already absent', { name: 'web', state: 'absent' }, none, { diffs: [], commands: [] }],
  ];
  for (const [label, input, state, expected] of table) {
    it(`plans: ${label}`, () => {
      const plan = planGroup(parse(input), state);
      expect(plan.changes.map((change) => change.diff)).to.deep.equal(expected.diffs);
      expect(displayedCommands(plan)).to.deep.equal(expected.commands);
      if (expected.commands.length === 0) expect(plan.reason).to.be.a('string');
    });
  }

  it('refuses a gid held by another group, and removing a primary group, naming who', () => {
    expect(() => planGroup(parse({ name: 'web', gid: 27 }), { ...none, gidOwner: 'sudo' })).to.throw(ModuleError, 'gid 27 is already used by group sudo');
    expect(() => planGroup(parse({ name: 'web', state: 'absent' }), found(1001, { primaryOf: ['web', 'deploy'] })))
      .to.throw(ModuleError, 'group web is the primary group of web, deploy; groupdel cannot remove it');
  });
});

// ── Integration: lab host index 1, read back with getent over the OpenSSH client. ──

const PWNED = '/tmp/drover-pwned-group';
const G = 'drover-tg';

describe('group on a lab host', function () {
  let target: LabTarget;

  const getent = async (name: string): Promise<string> => (await onHost(target, `getent group ${name} || echo absent`)).stdout.trim();
  const cleanup = () => onHost(target, `userdel drover-tgu 2>/dev/null; for g in ${G} ${G}2; do groupdel $g 2>/dev/null; done; rm -f ${PWNED}; true`);

  before(async function () {
    target = (await labTargets(this, 2))[1]!;
    await cleanup();
  });
  after(async () => {
    await cleanup();
    await closeTargets();
  });

  it('creates, re-applies without change, predicts a gid change in check mode without touching the host, applies it, removes', async () => {
    const first = await applyModule(target, group, { name: G, gid: 23456 });
    expect(first.status, first.msg).to.equal('changed');
    expect(await getent(G)).to.equal(`${G}:x:23456:`);

    const again = await applyModule(target, group, { name: G, gid: 23456 });
    expect(again.status, again.msg).to.equal('ok');
    expect(again.commands).to.deep.equal([]);

    const check = await applyModule(target, group, { name: G, gid: 23457 }, { check: true });
    expect(check.status).to.equal('changed');
    expect(check.diffs).to.deep.equal([{ kind: 'value', name: `group ${G} gid`, before: '23456', after: '23457' }]);
    expect(check.commands.every((command) => !command.executed)).to.equal(true);
    expect(await getent(G)).to.equal(`${G}:x:23456:`);

    await predictThenApply(target, group, { name: G, gid: 23457 }, 'gid change');
    expect(await getent(G)).to.equal(`${G}:x:23457:`);

    const removed = await applyModule(target, group, { name: G, state: 'absent' });
    expect(removed.status, removed.msg).to.equal('changed');
    expect(await getent(G)).to.equal('absent');
    const removedAgain = await applyModule(target, group, { name: G, state: 'absent' });
    expect(removedAgain.status, removedAgain.msg).to.equal('ok');
  });

  it('creates a system group with a gid from the system range', async () => {
    const result = await applyModule(target, group, { name: `${G}2`, system: true });
    expect(result.status, result.msg).to.equal('changed');
    const gid = Number((await getent(`${G}2`)).split(':')[2]);
    const sysMax = Number((await onHost(target, "awk '$1 == \"SYS_GID_MAX\" { print $2 }' /etc/login.defs")).stdout.trim() || 999);
    expect(gid).to.be.within(1, sysMax);
  });

  it('fails with the reason when the gid is taken or the group is a primary group, and changes nothing', async () => {
    const taken = await applyModule(target, group, { name: G, gid: 0 });
    expect(taken.status).to.equal('failed');
    expect(taken.msg).to.include('gid 0 is already used by group root');
    expect(await getent(G)).to.equal('absent');

    await onHost(target, `groupadd ${G} && useradd -M -g ${G} drover-tgu`);
    const primary = await applyModule(target, group, { name: G, state: 'absent' });
    expect(primary.status).to.equal('failed');
    expect(primary.msg).to.include(`group ${G} is the primary group of drover-tgu`);
    expect(primary.commands).to.deep.equal([]);
    expect(await getent(G)).to.match(new RegExp(`^${G}:x:\\d+:$`));
  });

  it('refuses hostile names before anything reaches the host', async () => {
    for (const name of [`x; touch ${PWNED}`, `$(touch ${PWNED})`, `\`touch ${PWNED}\``, '-f', 'a:b', 'new\nline', 'Ünïcødé']) {
      const result = await applyModule(target, group, { name });
      expect(result.status, name).to.equal('failed');
      expect(result.failure?.kind, name).to.equal('invalid-input');
      expect(result.msg, name).to.match(/invalid parameter for group: name: /);
      expect(result.commands).to.deep.equal([]);
    }
    expect((await onHost(target, `test -e ${PWNED} && echo pwned || echo clean`)).stdout.trim()).to.equal('clean');
  });
});
