import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import type { FileState } from '../../modules/facts/file-state.ts';
import { authorizedKeysText, checkPasswordHash, keyIdentity, parseUserProbe, planKeyFiles, planUser, user, userProbeScript, type UserParams, type UserState } from '../../modules/user.ts';
import { renderCommand } from '../../runner/command.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { SchemaError } from '../../runner/schema.ts';
import { secret } from '../../runner/secret.ts';
import { changeSummaries, displayedCommands, planCommands } from '../support/plan-display.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const parse = (input: Parameters<typeof user.params.parse>[0]) => user.params.parse(input, '');
const HASH = '$6$abcdefgh$M/eYsB4rVXAm3ZNc88J.UD9rCKAT6FB1rahiwJCHtEndQNORCub5qhjxn50qbqVVthkM.9HpEwtf0t.iV9uH0/';
const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ4b2Y0bmZ0c2VjcmV0a2V5YWFhYWFhYWFhYWFhYWFhYWE alice@laptop';
const KEY_B = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob@desk';

/** The account probe's output as a lab host prints it (captured from `userProbeScript` on Debian 12). */
function probeOutput(passwd: string | null, extra = ''): string {
  if (passwd === null) return `passwd=absent\nhomebase=/home\n${extra}`;
  return `passwd=${b64(passwd)}\nprimary=alice\ngroups=alice sudo docker\nlocked=no\nhaspassword=yes\nhomebase=/home\n${extra}`;
}

const existing: UserState = {
  exists: true,
  uid: 1001,
  gid: 1001,
  comment: 'Alice',
  home: '/home/alice',
  shell: '/bin/sh',
  primaryGroup: 'alice',
  groups: ['docker', 'sudo'],
  shadowRead: true,
  locked: false,
  hasPassword: true,
  missingGroups: [],
  ownNameGroup: true,
  homeBase: '/home',
  homeExists: true,
};
const absent: UserState = {
  exists: false,
  groups: [],
  shadowRead: true,
  locked: false,
  hasPassword: false,
  missingGroups: [],
  ownNameGroup: false,
  homeBase: '/home',
  homeExists: false,
};
const fileState = (path: string, kind: FileState['kind'], extra: Partial<FileState> = {}): FileState => ({ path, resolved: false, kind, parentExists: true, ...extra });

describe('user: names, probe output and plans (pure)', () => {
  it('refuses hostile or invalid names, paths and comments as invalid input', () => {
    for (const [input, message] of [
      [{ name: 'Root' }, /name: "Root" is not a valid user name/],
      [{ name: '-o' }, /not a valid user name/],
      [{ name: 'x; touch /tmp/p' }, /not a valid user name/],
      [{ name: '$(id)' }, /not a valid user name/],
      [{ name: 'a'.repeat(33) }, /longer than 32 characters/],
      [{ name: 'ok', groups: ['sudo', 'bad group'] }, /groups\[1\]: "bad group" is not a valid group name/],
      [{ name: 'ok', groups: ['27'] }, /groups\[0\]: "27" is not a valid group name/],
      [{ name: 'ok', shell: 'bash' }, /shell: .* absolute path/],
      [{ name: 'ok', home: '/home/a:b' }, /home: .* without ":"/],
      [{ name: 'ok', comment: 'a\nb' }, /comment: /],
      [{ name: 'ok', comment: 'x:0:0' }, /comment: /],
      [{ name: 'ok', authorizedKeys: [`${KEY_A}\n${KEY_B}`] }, /authorizedKeys\[0\]: /],
      [{ name: 'ok', remove: true }, /remove is only used with state=absent/],
      [{ name: 'ok', state: 'absent', shell: '/bin/sh' }, /only name and remove are used/],
      [{ name: 'ok', append: true }, /append needs groups/],
      [{ name: 'ok', moveHome: true }, /moveHome needs home/],
    ] as const) {
      expect(() => parse(input as UserParams), JSON.stringify(input)).to.throw(SchemaError, message);
    }
  });

  it('accepts only crypt(3) hashes as the password, without ever showing it', () => {
    expect(() => checkPasswordHash(secret(HASH))).to.not.throw();
    expect(() => checkPasswordHash(secret('$y$j9T$abc$def'))).to.not.throw();
    for (const bad of ['hunter2', `${HASH}\nroot::0:0`, 'x:y']) {
      try {
        checkPasswordHash(secret(bad));
        expect.fail(`accepted ${bad}`);
      } catch (error) {
        expect(error).to.be.instanceOf(ModuleError);
        expect((error as Error).message).to.not.include(bad.slice(0, 6));
      }
    }
  });

  it('parses the account probe: passwd fields, primary and supplementary groups, shadow status', () => {
    const state = parseUserProbe(probeOutput('alice:x:1001:1001:Alice Liddell,,,:/home/alice:/bin/bash\n', 'password=same\nmissing=docker\nuidowner=alice\n'));
    expect(state).to.deep.equal({
      ...existing,
      comment: 'Alice Liddell,,,',
      shell: '/bin/bash',
      groups: ['docker', 'sudo'],
      passwordMatches: true,
      missingGroups: ['docker'],
      uidOwner: 'alice',
      ownNameGroup: false,
      homeExists: false,
    });
    expect(parseUserProbe(probeOutput(null, 'ownnamegroup=yes\n'))).to.deep.equal({ ...absent, ownNameGroup: true });
    expect(parseUserProbe('passwd=absent\nshadow=unreadable\n').shadowRead).to.equal(false);
    expect(() => parseUserProbe('nonsense')).to.throw(ModuleError, /unexpected user probe output/);
  });

  it('puts the asked password hash on stdin, never in the probe line', () => {
    const script = userProbeScript(parse({ name: 'alice', password: secret(HASH), groups: ['sudo'], uid: 1001 }));
    const rendered = renderCommand({ run: script, readOnly: true });
    expect(rendered.line).to.not.include(HASH);
    expect(rendered.stdin.toString()).to.include(HASH);
    expect(script.text).to.include('getent group "$x"').and.include('getent passwd 1001');
  });

  const modify: Array<[string, UserParams, Partial<UserState>, { summaries: string[]; diffs: unknown[]; commands: string[] }]> = [
    ['nothing to do', { name: 'alice', shell: '/bin/sh', groups: ['sudo', 'docker'] }, {}, { summaries: [], diffs: [], commands: [] }],
    [
      'shell',
      { name: 'alice', shell: '/bin/bash' },
      {},
      {
        summaries: ['set shell of alice /bin/sh → /bin/bash'],
        diffs: [{ kind: 'value', name: 'user alice shell', before: '/bin/sh', after: '/bin/bash' }],
        commands: ['usermod -s /bin/bash alice'],
      },
    ],
    [
      'groups appended',
      { name: 'alice', groups: ['kvm', 'sudo'], append: true },
      {},
      {
        summaries: ['change groups of alice +kvm'],
        diffs: [{ kind: 'value', name: 'user alice groups', before: 'docker,sudo', after: 'docker,kvm,sudo' }],
        commands: ['usermod -a -G kvm alice'],
      },
    ],
    [
      'groups exact',
      { name: 'alice', groups: ['kvm', 'sudo'] },
      {},
      {
        summaries: ['change groups of alice +kvm -docker'],
        diffs: [{ kind: 'value', name: 'user alice groups', before: 'docker,sudo', after: 'kvm,sudo' }],
        commands: ['usermod -G kvm,sudo alice'],
      },
    ],
    [
      'no groups at all, the primary group listed is implicit',
      { name: 'alice', groups: ['alice'] },
      {},
      {
        summaries: ['change groups of alice -docker -sudo'],
        diffs: [{ kind: 'value', name: 'user alice groups', before: 'docker,sudo', after: '(none)' }],
        commands: ["usermod -G '' alice"],
      },
    ],
    [
      'uid, primary group, comment, home moved',
      { name: 'alice', uid: 2001, group: 'staff', comment: 'A. L.', home: '/srv/alice/', moveHome: true },
      { homeExists: false },
      {
        summaries: ['set uid of alice 1001 → 2001', 'set primary group of alice alice → staff', 'set comment of alice Alice → A. L.', 'set home of alice /home/alice → /srv/alice, moving its contents'],
        diffs: [
          { kind: 'value', name: 'user alice uid', before: '1001', after: '2001' },
          { kind: 'value', name: 'user alice primary group', before: 'alice', after: 'staff' },
          { kind: 'value', name: 'user alice comment', before: 'Alice', after: 'A. L.' },
          { kind: 'value', name: 'user alice home', before: '/home/alice', after: '/srv/alice' },
        ],
        commands: ['usermod -u 2001 alice', 'usermod -g staff alice', "usermod -c 'A. L.' alice", 'usermod -m -d /srv/alice alice'],
      },
    ],
    [
      'password differs, lock kept',
      { name: 'alice', password: HASH },
      { passwordMatches: false, locked: true },
      {
        summaries: ['change the password of alice (locked)'],
        diffs: [{ kind: 'value', name: 'user alice password', before: '(a hash)', after: '(the given hash), locked' }],
        commands: [`printf '%s:%s%s\\n' alice '!' "$DROVER_SECRET_N" | chpasswd -e`],
      },
    ],
    [
      'password matches, lock asked',
      { name: 'alice', password: HASH, locked: true },
      { passwordMatches: true },
      {
        summaries: ['lock the password of alice'],
        diffs: [{ kind: 'value', name: 'user alice locked', before: 'no', after: 'yes' }],
        commands: ['usermod -L alice'],
      },
    ],
  ];
  for (const [label, input, state, expected] of modify) {
    it(`plans a change to an existing user: ${label}`, () => {
      const plan = planUser(parse(input), { ...existing, ...state });
      expect(changeSummaries(plan)).to.deep.equal(expected.summaries);
      expect(plan.changes.map((change) => change.diff)).to.deep.equal(expected.diffs);
      expect(displayedCommands(plan).map((line) => line.replace(/DROVER_SECRET_\d+/, 'DROVER_SECRET_N'))).to.deep.equal(expected.commands);
      if (expected.commands.length === 0) expect(plan.reason).to.match(/^user alice is as asked/);
    });
  }

  it('plans a new user: one useradd with every option, then the password on stdin', () => {
    const plan = planUser(parse({ name: 'deploy', uid: 1500, groups: ['sudo', 'docker'], shell: '/bin/bash', comment: 'Deploy bot', password: secret(HASH), system: false }), absent);
    expect(displayedCommands(plan)[0]).to.equal("useradd -u 1500 -U -G docker,sudo -s /bin/bash -m -c 'Deploy bot' deploy");
    expect(plan.changes[0]!.diff).to.deep.equal({ kind: 'value', name: 'user deploy', before: null, after: 'uid 1500, group deploy, groups docker,sudo, shell /bin/bash, home /home/deploy (created), comment "Deploy bot"' });
    const setPassword = planCommands(plan)[1]!;
    const rendered = renderCommand(setPassword);
    expect(rendered.line).to.not.include(HASH);
    expect(rendered.display).to.not.include(HASH);
    expect(JSON.stringify(plan.changes.map((change) => [change.summary, change.diff]))).to.not.include(HASH);
    // An existing group of the user's name becomes its primary group (useradd -U would refuse).
    expect(displayedCommands(planUser(parse({ name: 'deploy', createHome: false, system: true }), { ...absent, ownNameGroup: true }))).to.deep.equal(['useradd -g deploy -M -r deploy']);
  });

  it('plans removal with and without the home', () => {
    expect(displayedCommands(planUser(parse({ name: 'alice', state: 'absent' }), existing))).to.deep.equal(['userdel alice']);
    const remove = planUser(parse({ name: 'alice', state: 'absent', remove: true }), existing);
    expect(displayedCommands(remove)).to.deep.equal(['userdel -r alice']);
    expect(remove.changes[0]!.diff).to.deep.equal({ kind: 'value', name: 'user alice', before: 'uid 1001, home /home/alice', after: 'absent, home removed' });
    expect(planUser(parse({ name: 'alice', state: 'absent' }), absent)).to.deep.equal({ changes: [], reason: 'user alice does not exist' });
  });

  it('fails with the fix for missing groups, a taken uid, unreadable shadow, unlocking without a password', () => {
    expect(() => planUser(parse({ name: 'alice', groups: ['nope'] }), { ...existing, missingGroups: ['nope'] })).to.throw(ModuleError, 'group nope (asked for user alice) does not exist');
    expect(() => planUser(parse({ name: 'alice', groups: ['a', 'b'] }), { ...existing, missingGroups: ['a', 'b'] })).to.throw(ModuleError, 'groups a, b (asked for user alice) do not exist');
    expect(() => planUser(parse({ name: 'alice', uid: 0 }), { ...existing, uidOwner: 'root' })).to.throw(ModuleError, 'uid 0 is already used by user root');
    expect(() => planUser(parse({ name: 'alice', locked: true }), { ...existing, shadowRead: false })).to.throw(ModuleError, /cannot read \/etc\/shadow/);
    expect(() => planUser(parse({ name: 'alice', locked: false }), { ...existing, locked: true, hasPassword: false })).to.throw(ModuleError, /cannot unlock user alice: it has no password/);
    expect(() => planUser(parse({ name: 'alice', home: '/srv/a', moveHome: true }), existing)).to.throw(ModuleError, /cannot move the home of alice to \/srv\/a: it already exists/);
  });

  it('recognises keys by type and blob, whatever their options and comment', () => {
    expect(keyIdentity(KEY_A)).to.equal(KEY_A.split(' ').slice(0, 2).join(' '));
    expect(keyIdentity(`from="10.0.0.0/8",no-pty ${KEY_B}`)).to.equal('ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7');
    expect(keyIdentity('# a comment')).to.equal(undefined);
    expect(keyIdentity('ssh-ed25519 not*base64')).to.equal(undefined);
  });

  it('computes authorized_keys: exclusive, added, already there with another comment', () => {
    expect(authorizedKeysText(null, [KEY_A], false)).to.equal(`${KEY_A}\n`);
    expect(authorizedKeysText(`${KEY_B}\n`, [KEY_A], false)).to.equal(`${KEY_B}\n${KEY_A}\n`);
    expect(authorizedKeysText(`# keep\n${KEY_B}`, [KEY_A], false)).to.equal(`# keep\n${KEY_B}\n${KEY_A}\n`);
    expect(authorizedKeysText(`${KEY_A.replace('alice@laptop', 'old comment')}\n`, [KEY_A], false)).to.equal(`${KEY_A.replace('alice@laptop', 'old comment')}\n`);
    expect(authorizedKeysText(`${KEY_B}\n# keep\n`, [KEY_A], true)).to.equal(`${KEY_A}\n`);
    expect(authorizedKeysText(`${KEY_B}\n`, [], true)).to.equal('');
  });

  it('plans ~/.ssh 0700 and authorized_keys 0600 owned by the user, and refuses a link in their place', () => {
    const p = parse({ name: 'alice', authorizedKeys: [KEY_A] });
    const plan = planKeyFiles(p, existing, fileState('/home/alice/.ssh', 'absent'), fileState('/home/alice/.ssh/authorized_keys', 'absent', { parentExists: false }));
    expect(changeSummaries(plan)).to.deep.equal(['create directory /home/alice/.ssh (mode 0700, owner alice, group alice)', `create /home/alice/.ssh/authorized_keys (${KEY_A.length + 1} bytes, mode 0600, owner alice, group alice)`]);
    const sshDir = fileState('/home/alice/.ssh', 'directory', { mode: '700', owner: 'alice', group: 'alice', uid: 1001, gid: 1001 });
    const keysFile = (text: string, stat: Partial<FileState> = {}) =>
      fileState('/home/alice/.ssh/authorized_keys', 'file', {
        mode: '600',
        owner: 'alice',
        group: 'alice',
        uid: 1001,
        gid: 1001,
        size: text.length,
        content: Buffer.from(text),
        sha256: execFileSync('sha256sum', { input: text }).toString().split(' ')[0],
        ...stat,
      });
    expect(planKeyFiles(p, existing, sshDir, keysFile(`${KEY_A}\n`))).to.deep.equal({ changes: [], reason: '/home/alice/.ssh/authorized_keys has the 1 key' });
    expect(changeSummaries(planKeyFiles(p, existing, sshDir, keysFile(`${KEY_A}\n`, { mode: '644', owner: 'root', uid: 0 })))).to.deep.equal([
      'set mode of /home/alice/.ssh/authorized_keys 0644 → 0600',
      'set owner of /home/alice/.ssh/authorized_keys root:alice → alice:alice',
    ]);
    expect(() => planKeyFiles(p, existing, fileState('/home/alice/.ssh', 'link', { linkTarget: '/root/.ssh' }), fileState('/home/alice/.ssh/authorized_keys', 'absent'))).to.throw(
      ModuleError,
      /\/home\/alice\/.ssh exists and is a symbolic link to \/root\/.ssh, not a directory/,
    );
    expect(() => planKeyFiles(p, existing, fileState('/home/alice/.ssh', 'absent', { parentExists: false }), fileState('/home/alice/.ssh/authorized_keys', 'absent'))).to.throw(ModuleError, /home directory \/home\/alice does not exist/);
  });
});
