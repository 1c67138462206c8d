/**
 * user: a local user account present with the asked uid, groups, shell, home, comment, password hash,
 * lock and SSH authorized keys — or absent, with or without its home.
 *
 * One probe reads the account (`getent passwd`, `getent shadow`, `id -Gn`), checks that every asked group
 * exists and who holds an asked uid, and compares an asked password hash with the current one on the
 * host (the hash travels on stdin, and the current one never leaves the host). Each difference is its
 * own change with a diff (`shell /bin/sh → /bin/bash`, `groups +docker`). Authorized keys take a second
 * probe (their path depends on the home the first one found) and are written with the shared file
 * library: `~/.ssh` 0700 and `authorized_keys` 0600, owned by the user, symbolic links never followed.
 *
 * `groups` are the supplementary groups: with `append: false` (the default, as in Ansible) exactly
 * these; with `append: true` these are added and others kept. The password is a crypt(3) hash (from
 * `openssl passwd -6` or `mkpasswd -m sha-512`), given as `secret(...)` or a vault value; it reaches the
 * host through `chpasswd -e` on stdin, never on a command line.
 *
 * @example
 *   await t.user('deploy user', {
 *     name: 'deploy', shell: '/bin/bash', groups: ['docker', 'sudo'], append: true,
 *     password: secret(String(host.vars.deploy_hash)),
 *     authorizedKeys: ['ssh-ed25519 AAAAC3Nza… ops@laptop'], authorizedKeysExclusive: true,
 *   });
 *   await t.user('service account', { name: 'etcd', system: true, shell: '/usr/sbin/nologin', createHome: false });
 *   await t.user('gone', { name: 'olduser', state: 'absent', remove: true });
 */
import { posix } from 'node:path';
import { Script, sh } from '../runner/command.ts';
import { ModuleError } from '../runner/module-error.ts';
import { combinePlans, defineModule, noChange, type Change, type HostContext, type Plan } from '../runner/module.ts';
import { s, type InputOf, type OutputOf } from '../runner/schema.ts';
import type { Secret } from '../runner/secret.ts';
import { fileStateScript, parseFileState, type FileState } from './facts/file-state.ts';
import { planFile } from './file.ts';
import { accountId, accountName, groupRef, normaliseAccountPath, noteAccountReads, passwdPath, withAccountEffects } from './lib/accounts.ts';
import { sameAccount } from './lib/attributes.ts';
import { decodeHostText, encodeHostText } from '../runner/host-text.ts';
import { planFileContentFrom } from './lib/file-content.ts';
import { field, fromBase64, parseFieldLines, probeSections } from './lib/probe-output.ts';

const params = s
  .object({
    /** The login name (lowercase letters, digits, `_` and `-`, starting with a letter or `_`; at most 32 characters). */
    name: accountName('user'),
    /** `present`: the account exists as described; `absent`: removed if it exists (see `remove`). */
    state: s.enum(['present', 'absent']).default('present'),
    /** The numeric user id; default: any free one when creating, and an existing user keeps its own. */
    uid: accountId().optional(),
    /** The primary group (name or gid; it must exist); default: a new user gets a group of its own name. */
    group: groupRef().optional(),
    /** Supplementary groups by name (each must exist): exactly these, or with `append` at least these. `[]` with `append: false` removes all. */
    groups: s.array(accountName('group')).optional(),
    /** Add `groups` to the user's current supplementary groups instead of making them exactly `groups`. */
    append: s.boolean().default(false),
    /** The login shell, e.g. `/bin/bash` or `/usr/sbin/nologin`. */
    shell: passwdPath('a login shell').optional(),
    /** The home directory; default: useradd's (`/home/NAME`) for a new user, the current one for an existing user. */
    home: passwdPath('a home directory').optional(),
    /** Create the home directory (from /etc/skel) when the user is created (`useradd -m`); false: `useradd -M`. */
    createHome: s.boolean().default(true),
    /** When `home` changes: move the old home's contents there (`usermod -m`) instead of only pointing passwd at it. */
    moveHome: s.boolean().default(false),
    /** When creating: a system account (uid from the system range, no aging; `useradd -r`). */
    system: s.boolean().default(false),
    /** The GECOS field: the user's full name or a description (no `:` or line breaks). */
    comment: s.string({ pattern: /^[^:\n\r\0]*$/, what: 'a comment without ":" or line breaks' }).optional(),
    /** The password as a crypt(3) hash (`$6$…`, `$y$…`), as `secret(...)`; never a plain password. Set with `chpasswd -e` through stdin. */
    password: s.secret().optional(),
    /** true: lock the password (`usermod -L`, a `!` before the hash); false: unlock it; unset: leave it. Only password logins: sshd with PAM (Debian's default) still takes keys. */
    locked: s.boolean().optional(),
    /** Public keys for `~/.ssh/authorized_keys`, one per entry, as `ssh-keygen` prints them (options first allowed). */
    authorizedKeys: s.array(s.string({ pattern: /^[^\n\r\0]+$/, what: 'one public key line' })).optional(),
    /** With `authorizedKeys`: the file holds exactly these keys (others removed); false: the keys are added and others kept. */
    authorizedKeysExclusive: s.boolean().default(false),
    /** With `state: absent`: remove the home directory and mail spool too (`userdel -r`). */
    remove: s.boolean().default(false),
  })
  .rule((p) => (p.remove && p.state !== 'absent' ? 'remove is only used with state=absent' : undefined))
  .rule((p) => (p.moveHome && p.home === undefined ? 'moveHome needs home (where to move the home directory)' : undefined))
  .rule((p) =>
    p.state === 'absent' && [p.uid, p.group, p.groups, p.shell, p.home, p.comment, p.password, p.locked, p.authorizedKeys].some((v) => v !== undefined)
      ? 'with state=absent only name and remove are used'
      : undefined,
  )
  .rule((p) => (p.append && p.groups === undefined ? 'append needs groups (the groups to add)' : undefined))
  .rule((p) => (p.authorizedKeysExclusive && p.authorizedKeys === undefined ? 'authorizedKeysExclusive needs authorizedKeys' : undefined));

export type UserParams = InputOf<typeof params>;
type Params = OutputOf<typeof params>;

/** What the account probe found. */
export interface UserState {
  exists: boolean;
  uid?: number;
  gid?: number;
  comment?: string;
  home?: string;
  shell?: string;
  /** The primary group's name (undefined when the gid has no group). */
  primaryGroup?: string;
  /** Supplementary groups: `id -Gn` without the primary group. */
  groups: string[];
  /** Whether /etc/shadow could be read (needs root). */
  shadowRead: boolean;
  /** The shadow password field starts with `!`. */
  locked: boolean;
  /** The field holds a hash (not empty, `*`, `!` or `x` alone). */
  hasPassword: boolean;
  /** With an asked password: whether the hash (without lock marks) is already it. */
  passwordMatches?: boolean;
  /** Asked groups that do not exist. */
  missingGroups: string[];
  /** The user holding the asked uid, when one does. */
  uidOwner?: string;
  /** A group named like the user exists (a new user then takes it as its primary group). */
  ownNameGroup: boolean;
  /** useradd's default base directory for homes (`useradd -D`: HOME). */
  homeBase: string;
  /** Whether the asked home path exists (a move there would fail). */
  homeExists: boolean;
}

export const user = defineModule({
  name: 'user',
  summary: 'Make a local user present (uid, groups, shell, home, password hash, lock, authorized keys) or absent',
  params,
  async plan(p, host) {
    checkPasswordHash(p.password);
    noteAccountReads(host.predicted);
    const state = await probeUser(p, host);
    // The homes an account change may create, move or remove: the new one, and the one it has now.
    const homes = [
      ...new Set([
        p.home !== undefined ? normaliseAccountPath(p.home) : state.exists ? (state.home ?? '') : `${state.homeBase.replace(/\/+$/, '')}/${p.name}`,
        ...(state.exists && state.home ? [state.home] : []),
      ]),
    ].filter((home) => home.startsWith('/') && home !== '/');
    const plan = withAccountEffects(planUser(p, state), homes);
    if (p.state === 'absent' || p.authorizedKeys === undefined) return plan;
    const keys = await planAuthorizedKeys(p, state, host);
    const combined = combinePlans(plan, keys);
    return combined.changes.length > 0 ? combined : noChange(`${plan.reason}; ${keys.reason}`);
  },
});

/** The account probe: passwd, primary group, groups, shadow status, asked groups, uid holder, home. */
export function userProbeScript(p: Params): Script {
  const parts: Script[] = [
    sh`n=${p.name}
if e=$(getent passwd "$n"); then
  printf 'passwd=%s\n' "$(printf '%s' "$e" | base64 -w0)"
  g=$(printf '%s' "$e" | cut -d: -f4)
  if pg=$(getent group "$g"); then printf 'primary=%s\n' "\${pg%%:*}"; fi
  printf 'groups=%s\n' "$(id -Gn "$n" 2>/dev/null || true)"
  if s=$(getent shadow "$n"); then
    f=$(printf '%s' "$s" | cut -d: -f2)
    case $f in '!'*) echo locked=yes ;; *) echo locked=no ;; esac
    h=$f
    while [ "\${h#!}" != "$h" ]; do h=\${h#!}; done
    case $h in ''|'*'|x) echo haspassword=no ;; *) echo haspassword=yes ;; esac`,
  ];
  // The asked hash is compared here, so the current one never travels to the controller.
  if (p.password !== undefined) parts.push(sh`    if [ "$h" = ${p.password} ]; then echo password=same; else echo password=differs; fi`);
  parts.push(sh`  else
    echo shadow=unreadable
  fi
else
  echo passwd=absent
fi
printf 'homebase=%s\n' "$(useradd -D 2>/dev/null | sed -n 's/^HOME=//p')"`);
  const groups = [...new Set([...(p.groups ?? []), ...(p.group !== undefined ? [p.group] : [])])];
  if (groups.length > 0) parts.push(sh`for x in ${groups}; do getent group "$x" >/dev/null || echo "missing=$x"; done`);
  if (p.uid !== undefined) parts.push(sh`if e=$(getent passwd ${p.uid}); then printf 'uidowner=%s\n' "\${e%%:*}"; fi`);
  if (p.group === undefined) parts.push(sh`if getent group "$n" >/dev/null; then echo ownnamegroup=yes; fi`);
  if (p.home !== undefined) parts.push(sh`if [ -e ${normaliseAccountPath(p.home)} ]; then echo homeexists=yes; fi`);
  return Script.join(parts);
}

/** Pure: the account probe's output → UserState. Exported for table tests. */
export function parseUserProbe(stdout: string): UserState {
  const fields = parseFieldLines(stdout);
  const passwd = field(fields, 'passwd');
  if (passwd === undefined)
    throw new ModuleError(
      `unexpected user probe output: ${JSON.stringify(stdout.slice(0, 200))}`,
      'run the task again; if it persists, check getent on the host',
    );
  const state: UserState = {
    exists: passwd !== 'absent',
    groups: [],
    shadowRead: field(fields, 'shadow') !== 'unreadable',
    locked: field(fields, 'locked') === 'yes',
    hasPassword: field(fields, 'haspassword') === 'yes',
    missingGroups: fields.get('missing') ?? [],
    ownNameGroup: field(fields, 'ownnamegroup') === 'yes',
    homeBase: field(fields, 'homebase') || '/home',
    homeExists: field(fields, 'homeexists') === 'yes',
  };
  if (state.exists) {
    const [, , uid = '', gid = '', comment = '', home = '', shell = ''] = fromBase64(passwd).replace(/\n$/, '').split(':');
    Object.assign(state, { uid: Number(uid), gid: Number(gid), comment, home, shell });
    const primary = field(fields, 'primary');
    if (primary !== undefined) state.primaryGroup = primary;
    state.groups = [...new Set((field(fields, 'groups') ?? '').split(' ').filter((name) => name !== '' && name !== primary))].sort();
  }
  const password = field(fields, 'password');
  if (password !== undefined) state.passwordMatches = password === 'same';
  const owner = field(fields, 'uidowner');
  if (owner !== undefined) state.uidOwner = owner;
  return state;
}

async function probeUser(p: Params, host: HostContext): Promise<UserState> {
  const output = await host.probe(userProbeScript(p));
  if (output.exitCode !== 0) {
    throw new ModuleError(
      `cannot read user ${p.name} on ${host.name} (exit ${output.exitCode}): ${output.stderr.trim().slice(0, 300)}`,
      'check that getent and id work on the host',
    );
  }
  return parseUserProbe(output.stdout);
}

/**
 * A plain password given by mistake would be written as a "hash" no login can match, and the account
 * would be silently unusable: only crypt(3) forms are accepted. The value is never shown.
 */
export function checkPasswordHash(password: Secret | undefined): void {
  if (password === undefined) return;
  const hash = password.reveal();
  if (/[:\n\r]/.test(hash))
    throw new ModuleError(
      'password (a secret) contains ":" or a line break, which no shadow entry can hold',
      'give a crypt(3) hash such as the output of `openssl passwd -6`',
    );
  if (!/^\$[0-9a-z]+\$[^\s]+$/.test(hash)) {
    throw new ModuleError(
      'password (a secret) is not a crypt(3) hash ($id$…); drover never hashes a plain password for you',
      'hash it first: `openssl passwd -6` or `mkpasswd -m sha-512`, and give the output as secret(...)',
    );
  }
}

/** Pure: (params, account state) → plan for everything but the authorized keys. Exported for table tests. */
export function planUser(p: Params, state: UserState): Plan {
  const name = p.name;
  if (p.state === 'absent') return planAbsent(p, state);
  if (state.missingGroups.length > 0) {
    const list = state.missingGroups.join(', ');
    throw new ModuleError(
      `group${state.missingGroups.length > 1 ? 's' : ''} ${list} (asked for user ${name}) ${state.missingGroups.length > 1 ? 'do' : 'does'} not exist`,
      `create ${state.missingGroups.length > 1 ? 'them' : 'it'} first with the group module, or leave ${state.missingGroups.length > 1 ? 'them' : 'it'} out`,
    );
  }
  if (p.uid !== undefined && state.uidOwner !== undefined && state.uidOwner !== name) {
    throw new ModuleError(`uid ${p.uid} is already used by user ${state.uidOwner}`, `choose another uid for ${name}, or leave uid out`);
  }
  if ((p.password !== undefined || p.locked !== undefined) && state.exists && !state.shadowRead) {
    throw new ModuleError(`cannot read /etc/shadow for user ${name}: the password and lock need it`, 'run the task as root (become: true)');
  }
  return state.exists ? planModify(p, state) : planCreate(p, state);
}

function planAbsent(p: Params, state: UserState): Plan {
  if (!state.exists) return noChange(`user ${p.name} does not exist`);
  const args = [...(p.remove ? ['-r'] : []), p.name];
  return {
    changes: [
      {
        summary: `remove user ${p.name} (uid ${state.uid})${p.remove ? ` and its home ${state.home}` : ''}`,
        diff: {
          kind: 'value',
          name: `user ${p.name}`,
          before: `uid ${state.uid}, home ${state.home}`,
          after: p.remove ? 'absent, home removed' : 'absent, home kept',
        },
        commands: [{ run: sh`userdel ${args}`, description: `userdel ${args.join(' ')}` }],
      },
    ],
  };
}

/** The supplementary groups asked, without the primary group (membership in it is implicit). */
function wantedGroups(p: Params, primary: string | undefined): string[] {
  return [...new Set(p.groups ?? [])].filter((name) => name !== primary).sort();
}

function planCreate(p: Params, state: UserState): Plan {
  const name = p.name;
  // useradd refuses to make a group of the user's name when one exists: take that group instead.
  const primary = p.group ?? name;
  const groups = wantedGroups(p, primary);
  const home = p.home !== undefined ? normaliseAccountPath(p.home) : `${state.homeBase.replace(/\/+$/, '')}/${name}`;
  const args: string[] = [];
  if (p.uid !== undefined) args.push('-u', String(p.uid));
  if (p.group !== undefined) args.push('-g', p.group);
  else args.push(...(state.ownNameGroup ? ['-g', name] : ['-U']));
  if (groups.length > 0) args.push('-G', groups.join(','));
  if (p.shell !== undefined) args.push('-s', normaliseAccountPath(p.shell));
  if (p.home !== undefined) args.push('-d', home);
  args.push(p.createHome ? '-m' : '-M');
  if (p.system) args.push('-r');
  if (p.comment !== undefined) args.push('-c', p.comment);
  args.push(name);
  const described = [
    p.uid !== undefined ? `uid ${p.uid}` : p.system ? 'system uid' : 'any uid',
    `group ${primary}`,
    groups.length ? `groups ${groups.join(',')}` : undefined,
    p.shell !== undefined ? `shell ${normaliseAccountPath(p.shell)}` : undefined,
    `home ${home}${p.createHome ? ' (created)' : ''}`,
    p.comment !== undefined ? `comment ${JSON.stringify(p.comment)}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const changes: Change[] = [
    {
      summary: `create user ${name} (${described})`,
      diff: { kind: 'value', name: `user ${name}`, before: null, after: described },
      commands: [{ run: sh`useradd ${args}`, description: `useradd ${args.join(' ')}` }],
    },
  ];
  // A new account's shadow field is `!` (no password, counted as locked).
  if (p.password !== undefined) changes.push(passwordChange(name, p.password, p.locked === true, false));
  else if (p.locked === false) throw noPasswordToUnlock(name);
  return { changes };
}

function planModify(p: Params, state: UserState): Plan {
  const name = p.name;
  const changes: Change[] = [];
  const value = (what: string, before: string, after: string, args: string[], summary?: string): void => {
    changes.push({
      summary: summary ?? `set ${what} of ${name} ${before} → ${after}`,
      diff: { kind: 'value', name: `user ${name} ${what}`, before, after },
      commands: [{ run: sh`usermod ${[...args, name]}`, description: `usermod ${[...args, name].join(' ')}` }],
    });
  };
  if (p.uid !== undefined && p.uid !== state.uid) value('uid', String(state.uid), String(p.uid), ['-u', String(p.uid)]);
  if (p.group !== undefined && !sameAccount(p.group, state.gid, state.primaryGroup)) {
    value('primary group', state.primaryGroup ?? String(state.gid), p.group, ['-g', p.group]);
  }
  if (p.groups !== undefined) {
    const wanted = wantedGroups(p, p.group ?? state.primaryGroup);
    const added = wanted.filter((group) => !state.groups.includes(group));
    const removed = p.append ? [] : state.groups.filter((group) => !wanted.includes(group));
    if (added.length > 0 || removed.length > 0) {
      const after = [...new Set([...state.groups.filter((group) => !removed.includes(group)), ...added])].sort();
      const delta = [...added.map((group) => `+${group}`), ...removed.map((group) => `-${group}`)].join(' ');
      const args = p.append ? ['-a', '-G', added.join(',')] : ['-G', wanted.join(',')];
      value('groups', state.groups.join(',') || '(none)', after.join(',') || '(none)', args, `change groups of ${name} ${delta}`);
    }
  }
  if (p.shell !== undefined && normaliseAccountPath(p.shell) !== state.shell)
    value('shell', state.shell || '(default)', normaliseAccountPath(p.shell), ['-s', normaliseAccountPath(p.shell)]);
  if (p.comment !== undefined && p.comment !== state.comment) value('comment', state.comment ?? '', p.comment, ['-c', p.comment]);
  if (p.home !== undefined && normaliseAccountPath(p.home) !== state.home) {
    const home = normaliseAccountPath(p.home);
    if (p.moveHome && state.homeExists)
      throw new ModuleError(
        `cannot move the home of ${name} to ${home}: it already exists`,
        'remove it first, or set moveHome: false to only point passwd at it',
      );
    value(
      'home',
      state.home ?? '',
      home,
      [...(p.moveHome ? ['-m'] : []), '-d', home],
      `set home of ${name} ${state.home} → ${home}${p.moveHome ? ', moving its contents' : ''}`,
    );
  }
  // A password written keeps the current lock unless a lock state is asked.
  const lockWanted = p.locked ?? (state.locked && state.hasPassword);
  if (p.password !== undefined && !state.passwordMatches) {
    changes.push(passwordChange(name, p.password, lockWanted, state.hasPassword));
  } else if (p.locked !== undefined && p.locked !== state.locked) {
    if (!p.locked && !state.hasPassword) throw noPasswordToUnlock(name);
    changes.push({
      summary: `${p.locked ? 'lock' : 'unlock'} the password of ${name}`,
      diff: { kind: 'value', name: `user ${name} locked`, before: state.locked ? 'yes' : 'no', after: p.locked ? 'yes' : 'no' },
      commands: [{ run: sh`usermod ${p.locked ? '-L' : '-U'} ${name}`, description: `usermod ${p.locked ? '-L' : '-U'} ${name}` }],
    });
  }
  if (changes.length > 0) return { changes };
  return noChange(`user ${name} is as asked (uid ${state.uid}, groups ${state.groups.join(',') || '(none)'}, shell ${state.shell}, home ${state.home})`);
}

function noPasswordToUnlock(name: string): ModuleError {
  return new ModuleError(
    `cannot unlock user ${name}: it has no password, and unlocking would leave it without one`,
    'give password (a crypt hash) together with locked: false',
  );
}

/**
 * Writes the hash with `chpasswd -e`: `printf` is a shell builtin, so the hash goes from the script's
 * stdin to chpasswd's stdin without being any program's argument. A lock is kept as the `!` prefix
 * `usermod -L` would add.
 */
function passwordChange(name: string, hash: Secret, locked: boolean, hadPassword: boolean): Change {
  const prefix = locked ? '!' : '';
  return {
    summary: `${hadPassword ? 'change' : 'set'} the password of ${name}${locked ? ' (locked)' : ''}`,
    diff: { kind: 'value', name: `user ${name} password`, before: hadPassword ? '(a hash)' : '(none)', after: `(the given hash)${locked ? ', locked' : ''}` },
    commands: [{ run: sh`printf '%s:%s%s\\n' ${name} ${prefix} ${hash} | chpasswd -e`, description: `chpasswd -e (password of ${name})` }],
  };
}

// ── Authorized keys ──

const KEY_TYPE = /^(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(?:-cert-v01@openssh\.com)?$/;

/**
 * The key itself in an authorized_keys line — type and base64 blob, without options and comment — so
 * that a key already present with another comment is not added twice. Undefined for a line that holds
 * no key (a comment, a blank line).
 */
export function keyIdentity(line: string): string | undefined {
  const tokens = line.trim().split(/\s+/);
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (KEY_TYPE.test(tokens[i]!) && /^[A-Za-z0-9+/]+={0,3}$/.test(tokens[i + 1]!)) return `${tokens[i]} ${tokens[i + 1]}`;
  }
  return undefined;
}

/**
 * Pure: the authorized_keys text wanted, from the current text (null: no file) and the asked keys.
 * Exclusive: exactly the keys. Otherwise: the current lines, then each asked key not already present.
 */
export function authorizedKeysText(current: string | null, keys: string[], exclusive: boolean): string {
  const wanted = keys.map((key) => key.trim());
  if (exclusive) return wanted.length ? `${wanted.join('\n')}\n` : '';
  const text = current ?? '';
  const present = new Set(
    text
      .split('\n')
      .map(keyIdentity)
      .filter((id): id is string => id !== undefined),
  );
  const missing = wanted.filter((key) => {
    const id = keyIdentity(key)!;
    if (present.has(id)) return false;
    present.add(id);
    return true;
  });
  if (missing.length === 0) return text;
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${missing.join('\n')}\n`;
}

async function planAuthorizedKeys(p: Params, state: UserState, host: HostContext): Promise<Plan> {
  const keys = p.authorizedKeys ?? [];
  const bad = keys.find((key) => keyIdentity(key) === undefined);
  if (bad !== undefined) {
    throw new ModuleError(
      `authorizedKeys: ${JSON.stringify(bad.slice(0, 80))} is not a public key line (type and base64 key, e.g. "ssh-ed25519 AAAA… comment")`,
      'give each key as ssh-keygen prints it (the .pub file), one key per entry',
    );
  }
  const targetHome = p.home !== undefined ? normaliseAccountPath(p.home) : (state.home ?? `${state.homeBase.replace(/\/+$/, '')}/${p.name}`);
  // When the home moves in this run, what is in the old one is what the new one will hold.
  const moving = state.exists && p.moveHome && state.home !== undefined && state.home !== targetHome;
  const probedHome = moving ? state.home! : targetHome;
  const base = probedHome === '/' ? '' : probedHome;
  const [dirPath, filePath] = [`${base}/.ssh`, `${base}/.ssh/authorized_keys`];
  const output = await host.probe(
    Script.join([sh`echo @@dir`, fileStateScript(dirPath, { content: 'never' }), sh`echo @@file`, fileStateScript(filePath, { content: 'always' })]),
  );
  if (output.exitCode !== 0) {
    throw new ModuleError(
      `cannot read ${filePath} on ${host.name} (exit ${output.exitCode}): ${output.stderr.trim().slice(0, 300)}`,
      'run the task as root (become: true)',
    );
  }
  const sections = probeSections(output.stdout);
  const rehome = (found: FileState): FileState => (moving ? { ...found, path: targetHome + found.path.slice(base.length), parentExists: true } : found);
  const dir = rehome(parseFileState(dirPath, sections.get('dir') ?? ''));
  const file = rehome(parseFileState(filePath, sections.get('file') ?? ''));
  return planKeyFiles(p, state, dir, file);
}

/** Pure: (params, account state, ~/.ssh and authorized_keys states) → plan. Exported for table tests. */
export function planKeyFiles(p: Params, state: UserState, dir: FileState, file: FileState): Plan {
  const name = p.name;
  // A home created by useradd -m in this run exists by the time the keys are written.
  const homeComes = !state.exists && p.createHome;
  if (!dir.parentExists && !homeComes) {
    throw new ModuleError(
      `cannot write authorized keys for ${name}: the home directory ${posix.dirname(dir.path)} does not exist`,
      'set createHome (for a new user) or create the home first',
    );
  }
  const owner = name;
  const group = p.group ?? state.primaryGroup ?? name;
  const dirPlan = planFile(
    { path: dir.path, state: 'directory', mode: '0700', owner, group, src: undefined, recurse: false, force: false, follow: false },
    dir,
  );
  // Host text both ways: a key's comment in latin-1 (`root@café`) is written back as the host has it.
  const current = file.kind === 'file' ? decodeHostText(file.content ?? Buffer.alloc(0)) : null;
  const content = encodeHostText(authorizedKeysText(current, p.authorizedKeys ?? [], p.authorizedKeysExclusive));
  // The directory plan comes first: by the time the file is written, its directory exists.
  const filePlan = planFileContentFrom({ path: file.path, content, mode: '0600', owner, group, follow: false }, { ...file, parentExists: true });
  const plan = combinePlans(dirPlan, filePlan);
  const count = (p.authorizedKeys ?? []).length;
  return plan.changes.length > 0
    ? plan
    : noChange(`${file.path} has the ${count} key${count === 1 ? '' : 's'}${p.authorizedKeysExclusive ? ' and no others' : ''}`);
}
