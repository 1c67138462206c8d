import { expect } from 'chai';
import { group, groupProbeScript, parseGroupProbe, planGroup, type GroupState } from '../../modules/group.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { displayedCommands } from '../support/plan-display.ts';

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

  it('says a gid change in the imperative, which a dry run prints after "would"', () => {
    expect(planGroup(parse({ name: 'web', gid: 2000 }), found(1001)).changes.map((change) => change.summary)).to.deep.equal(['set gid of group web 1001 → 2000']);
  });

  it('says who the members are when nothing is to be done', () => {
    expect(planGroup(parse({ name: 'sudo' }), found(27, { members: ['ops', 'alice'] }))).to.deep.equal({ changes: [], reason: 'group sudo exists (gid 27, members ops, alice)' });
  });

  it('refuses a gid held by another group, and removing a primary group, naming who', () => {
    expect(() => planGroup(parse({ name: 'web', gid: 27 }), { ...none, gidOwner: 'sudo' })).to.throw(ModuleError, 'gid 27 is already used by group sudo');
    expect(() => planGroup(parse({ name: 'web', state: 'absent' }), found(1001, { primaryOf: ['web', 'deploy'] }))).to.throw(ModuleError, 'group web is the primary group of web, deploy; groupdel cannot remove it');
  });
});
