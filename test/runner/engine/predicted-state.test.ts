/**
 * A dry run that sees its own earlier tasks (runner/predicted-state.ts), through runTask on a scripted
 * host: the host answers every probe as it is now, and a later task must plan against what the earlier
 * tasks' planned changes would have left. Lab tests of the same pairs on real hosts are in
 * test/cli/predicted-state.lab.test.ts.
 */
import { expect } from 'chai';
import { command } from '../../../modules/command.ts';
import { copy } from '../../../modules/copy.ts';
import { file } from '../../../modules/file.ts';
import { group } from '../../../modules/group.ts';
import { lineinfile } from '../../../modules/lineinfile.ts';
import { modprobe } from '../../../modules/modprobe.ts';
import { stat } from '../../../modules/stat.ts';
import { sysctl } from '../../../modules/sysctl.ts';
import { user } from '../../../modules/user.ts';
import { HostSession } from '../../../runner/engine/host-session.ts';
import { runTask } from '../../../runner/engine/task.ts';
import type { Module } from '../../../runner/module.ts';
import { PredictedState } from '../../../runner/predicted-state.ts';
import type { TaskResult } from '../../../runner/result.ts';
import { Redactor } from '../../../runner/secret.ts';
import { ScriptedConnections, type ScriptRule, scriptedTarget } from '../../support/scripted-connection.ts';

/** The file-state probe of one path (it starts `p=PATH`), answered as the host is now. */
const pathIs = (path: string, stdout: string): ScriptRule => ({ match: new RegExp(`^p=${path.replace(/[/.]/g, '\\$&')}$`, 'm'), reply: { stdout } });

/** Runs the tasks in order on one scripted host, as a playbook does, and returns their results. */
async function runTasks(tasks: Array<{ name: string; module: Module; params: unknown }>, rules: ScriptRule[], check: boolean): Promise<TaskResult[]> {
  const hosts = new ScriptedConnections(rules);
  const redactor = new Redactor();
  const session = new HostSession(scriptedTarget('a'), hosts.connector, redactor, { defaultTimeoutMs: 60_000 });
  const results: TaskResult[] = [];
  for (const task of tasks) {
    const { result } = await runTask(session, { ...task, become: undefined }, { check, redactor, clock: () => 0 });
    results.push(result);
  }
  await session.close();
  return results;
}

describe('engine: a dry run sees its own earlier tasks', () => {
  const dockerHost: ScriptRule[] = [pathIs('/etc/docker', 'parent=yes\nkind=absent\n'), pathIs('/etc/docker/daemon.json', 'parent=no\nkind=absent\n')];
  const dockerTasks = [
    { name: 'docker dir', module: file, params: { path: '/etc/docker', state: 'directory', mode: '0755' } },
    { name: 'daemon.json', module: copy, params: { dest: '/etc/docker/daemon.json', content: '{"log-driver": "journald"}\n', mode: '0644' } },
    { name: 'a line in it', module: lineinfile, params: { path: '/etc/docker/daemon.json', line: '# managed', insertbefore: 'BOF' } },
  ];

  it('a directory, then a file in it, then an edit of that file: planned as the apply would do them, never failed', async () => {
    const results = await runTasks(dockerTasks, dockerHost, true);
    expect(results.map((result) => [result.status, result.uncertain, result.changes])).to.deep.equal([
      ['changed', false, ['create directory /etc/docker (mode 0755)']],
      ['changed', false, ['create /etc/docker/daemon.json (27 bytes, mode 0644)']],
      ['changed', false, ['update /etc/docker/daemon.json (27 → 37 bytes), adding the line']],
    ]);
    // The edit's diff starts from the content the copy would have written.
    expect(results[2]!.diffs[0]).to.deep.include({ before: '{"log-driver": "journald"}\n', after: '# managed\n{"log-driver": "journald"}\n' });
  });

  it('stat after a planned write reads the predicted file; what no prediction gives is left out', async () => {
    const results = await runTasks(
      [
        { name: 'config', module: copy, params: { dest: '/etc/app.conf', content: 'x=1\n', mode: '0600' } },
        { name: 'look', module: stat, params: { path: '/etc/app.conf', checksum: true } },
      ],
      [{ match: 'stat "$@" --printf', reply: { stdout: 'absent=yes\n' } }, pathIs('/etc/app.conf', 'parent=yes\nkind=absent\n')],
      true,
    );
    expect(results[1]).to.include({ status: 'ok', uncertain: false });
    expect(results[1]!.value).to.deep.equal({
      path: '/etc/app.conf',
      exists: true,
      type: 'file',
      mode: '0600',
      size: 4,
      sha256: '98752ee28d5484bdc2814fb70adb6a0b2fb31f6a9b8ee7ae81fd2fc9cf300b3b',
    });
  });

  it('a stat that depends on an unknowable task still returns what the host has now, marked uncertain', async () => {
    const results = await runTasks(
      [
        { name: 'run the installer', module: command, params: { argv: ['/opt/install.sh'] } },
        { name: 'look', module: stat, params: { path: '/etc/app.conf' } },
      ],
      [{ match: 'stat "$@" --printf', reply: { stdout: 'absent=yes\n' } }],
      true,
    );
    expect(results[1]).to.include({ status: 'changed', uncertain: true });
    expect(results[1]!.msg).to.match(/^would run \(cannot know: depends on "run the installer"/);
    expect(results[1]!.value).to.deep.equal({ path: '/etc/app.conf', exists: false, type: 'absent' });
  });

  it('a command guarded by creates is skipped when an earlier task would create the path', async () => {
    const results = await runTasks(
      [
        { name: 'unpack marker', module: copy, params: { dest: '/opt/app/.unpacked', content: '', createParents: true } },
        { name: 'unpack', module: command, params: { argv: ['tar', 'xf', '/tmp/app.tar'], creates: '/opt/app/.unpacked' } },
      ],
      [{ match: 'echo creates=yes', reply: { stdout: 'creates=no\n' } }, pathIs('/opt/app/.unpacked', 'parent=no\nkind=absent\n')],
      true,
    );
    expect(results[1]).to.include({ status: 'ok', msg: 'skipped: /opt/app/.unpacked exists' });
  });

  it('a real run records nothing: each task plans from what the host answers', async () => {
    const results = await runTasks(dockerTasks.slice(1, 2), dockerHost, false);
    expect(results[0]).to.include({ status: 'failed' });
    expect(results[0]!.msg).to.contain('its directory /etc/docker does not exist');
  });

  it('a command that would run makes what a later task reads unknowable: "would run (cannot know: depends on …)"', async () => {
    const results = await runTasks(
      [
        { name: 'run the installer', module: command, params: { argv: ['/opt/install.sh'] } },
        { name: 'app config', module: copy, params: { dest: '/etc/app.conf', content: 'x=1\n' } },
      ],
      [pathIs('/etc/app.conf', 'parent=yes\nkind=absent\n')],
      true,
    );
    expect(results[1]).to.include({ status: 'changed', uncertain: true });
    expect(results[1]!.msg).to.equal('would run (cannot know: depends on "run the installer", which may change /etc/app.conf): create /etc/app.conf (4 bytes)');
  });

  it('a group, then a user joining it: the user "would run", depending on the group, never failed for a group not there yet', async () => {
    const results = await runTasks(
      [
        { name: 'docker group', module: group, params: { name: 'docker' } },
        { name: 'app config', module: copy, params: { dest: '/etc/app.conf', content: 'x=1\n' } },
        { name: 'alice', module: user, params: { name: 'alice', groups: ['docker'] } },
      ],
      [{ match: /^n=docker$/m, reply: { stdout: 'group=absent\n' } }, { match: /^n=alice$/m, reply: { stdout: 'passwd=absent\nhomebase=/home\nmissing=docker\n' } }, pathIs('/etc/app.conf', 'parent=yes\nkind=absent\n')],
      true,
    );
    expect(results.map((result) => [result.status, result.uncertain])).to.deep.equal([
      ['changed', false],
      // What a group change leaves unknown is narrow: a file elsewhere is still predicted exactly.
      ['changed', false],
      ['changed', true],
    ]);
    expect(results[2]!.msg).to.match(/^would run \(cannot know: depends on "docker group", which may change the users and groups\): group docker \(asked for user alice\) does not exist/);
  });

  it('a failure planned from a host an unknowable task would change is "would run", not failed', async () => {
    const results = await runTasks(
      [
        { name: 'run the installer', module: command, params: { argv: ['/opt/install.sh'] } },
        { name: 'its config', module: copy, params: { dest: '/opt/app/app.conf', content: 'x=1\n' } },
      ],
      [pathIs('/opt/app/app.conf', 'parent=no\nkind=absent\n')],
      true,
    );
    expect(results[1]).to.include({ status: 'changed', uncertain: true });
    expect(results[1]!.msg).to.match(/^would run \(cannot know: depends on "run the installer", .*\): cannot write \/opt\/app\/app\.conf: its directory/);
  });

  it('a kernel module an earlier task would load: the sysctl key it brings depends on that task', async () => {
    const results = await runTasks(
      [
        { name: 'load ip_vs', module: modprobe, params: { name: 'ip_vs', persistent: 'disabled' } },
        { name: 'ipvs conntrack', module: sysctl, params: { settings: { 'net.ipv4.vs.conntrack': '1' }, sysctlFile: 'ipvs.conf' } },
      ],
      [
        { match: 'm=ip_vs', reply: { stdout: 'kernel=6.1.0\nsysfs=no\nproc=no\nbuiltin-list=no\ndryrun=ok\ndryrun-output=\n' } },
        { match: 'command -v sysctl', reply: { stdout: 'tool=yes\nmissing=net/ipv4/vs/conntrack\n' } },
        pathIs('/etc/sysctl.d/ipvs.conf', 'parent=yes\nkind=absent\n'),
      ],
      true,
    );
    expect(results[0]).to.include({ status: 'changed', uncertain: false, msg: 'load kernel module ip_vs' });
    expect(results[1]).to.include({ status: 'changed', uncertain: true });
    expect(results[1]!.msg).to.match(/^would run \(cannot know: depends on "load ip_vs", which may change net\.ipv4\.vs\.conntrack, which appears when ip_vs is loaded\): /);
  });

  it('a live sysctl value an earlier task would set is not set again', async () => {
    const results = await runTasks(
      [
        { name: 'forwarding', module: sysctl, params: { settings: { 'net.ipv4.ip_forward': '1' }, sysctlFile: 'a.conf' } },
        { name: 'forwarding again', module: sysctl, params: { settings: { 'net.ipv4.ip_forward': '1' }, sysctlFile: 'b.conf' } },
      ],
      [
        { match: 'command -v sysctl', reply: { stdout: `tool=yes\nvalue=net/ipv4/ip_forward ${Buffer.from('0\n').toString('base64')}\n` } },
        pathIs('/etc/sysctl.d/a.conf', 'parent=yes\nkind=absent\n'),
        pathIs('/etc/sysctl.d/b.conf', 'parent=yes\nkind=absent\n'),
      ],
      true,
    );
    expect(results[0]!.changes[0]).to.equal('set net.ipv4.ip_forward 0 → 1');
    expect(results[1]!.changes).to.have.length(1);
    expect(results[1]!.changes[0]).to.match(/^create \/etc\/sysctl\.d\/b\.conf/);
  });
});

describe('predicted state: lookups', () => {
  it('answers from the newest entry that covers a resource; an unknown is noted once per task and answers nothing', () => {
    const state = new PredictedState();
    state.record('mkdir', [{ kind: 'path', path: '/srv/app', state: { kind: 'directory', mode: '0750' } }]);
    state.record('write', [{ kind: 'path', path: '/srv/app/conf/x.conf', state: { kind: 'file', sha256: 'a'.repeat(64), size: 3 } }]);
    state.record('install', [{ kind: 'unknown', domains: ['units'], what: 'the units of nginx' }]);
    state.record('rm', [{ kind: 'path', path: '/srv/old', state: { kind: 'absent' } }]);
    const view = state.view();
    expect(view.path('/srv/app')).to.deep.equal({ known: { kind: 'directory', mode: '0750' }, by: 'write' });
    expect(view.path('/srv/app/conf')).to.deep.equal({ known: { kind: 'directory' }, by: 'write' });
    expect(view.path('/srv/old/a/b')).to.deep.equal({ known: { kind: 'absent' }, by: 'rm' });
    expect(view.path('/etc/hosts')).to.equal(undefined);
    expect(view.unknowns).to.deep.equal([]);
    expect(view.unit('nginx.service')).to.equal(undefined);
    expect(view.unit('other.service')).to.equal(undefined);
    expect(view.unknowns).to.deep.equal([{ by: 'install', what: 'unit nginx.service' }]);
    expect(new PredictedState().view().path('/srv/app')).to.equal(undefined);
  });

  it('state not predicted value by value (iptables rules) depends on the last change that touched it', () => {
    const state = new PredictedState();
    state.record('open 6443', [{ kind: 'unknown', domains: ['iptables'], under: 'ipv4/filter', what: 'the ipv4 filter table' }]);
    const view = state.view();
    view.reads('iptables', 'ipv4/nat', 'the ipv4 nat table');
    expect(view.unknowns).to.deep.equal([]);
    view.reads('iptables', 'ipv4/filter', 'the ipv4 filter table');
    expect(view.unknowns).to.deep.equal([{ by: 'open 6443', what: 'the ipv4 filter table' }]);
  });

  it('a change made for real while earlier changes are only predicted makes every later read depend on it', async () => {
    const hosts = new ScriptedConnections([pathIs('/etc/docker', 'parent=yes\nkind=absent\n'), { match: 'mkdir -p', reply: {} }]);
    const redactor = new Redactor();
    const session = new HostSession(scriptedTarget('a'), hosts.connector, redactor, { defaultTimeoutMs: 60_000 });
    const task = { name: 'docker dir', module: file, params: { path: '/etc/docker', state: 'directory' }, become: undefined };
    await runTask(session, task, { check: true, redactor, clock: () => 0 });
    expect(session.predicted.view().path('/etc/docker')?.known).to.deep.include({ kind: 'directory' });
    // checkMode always-run: the task runs for real inside the dry run.
    await runTask(session, { ...task, name: 'made for real' }, { check: false, redactor, clock: () => 0 });
    const view = session.predicted.view();
    expect(view.path('/etc/docker')).to.equal(undefined);
    expect(view.unknowns.map((item) => item.by)).to.deep.equal(['made for real']);
    // A host changed behind drover's back (a test's own commands): nothing predicted is pending.
    session.invalidateFacts();
    expect(session.predicted.empty).to.equal(true);
    await session.close();
  });

  it('lists what is predicted below a directory, newest per path; an unknown there answers nothing but the task', () => {
    const state = new PredictedState();
    state.record('key', [{ kind: 'path', path: '/etc/apt/keyrings/k.asc', state: { kind: 'file', sha256: 'a', size: 1, content: Buffer.from('k') } }]);
    state.record('source', [{ kind: 'path', path: '/etc/apt/sources.list.d/k.list', state: { kind: 'file', sha256: 'b', size: 1 } }]);
    state.record('elsewhere', [{ kind: 'path', path: '/etc/aptly', state: { kind: 'directory' } }]);
    state.record('drop keys', [{ kind: 'path', path: '/etc/apt/keyrings', state: { kind: 'absent' } }]);
    const view = state.view();
    expect([...view.pathsUnder('/etc/apt').paths]).to.deep.equal([
      ['/etc/apt/sources.list.d/k.list', { known: { kind: 'file', sha256: 'b', size: 1 }, by: 'source' }],
      ['/etc/apt/keyrings', { known: { kind: 'absent' }, by: 'drop keys' }],
    ]);
    expect(view.consulted).to.equal(true);
    state.record('a command', [{ kind: 'unknown', domains: ['files'], what: 'what the command did' }]);
    const later = state.view();
    expect(later.pathsUnder('/etc/apt')).to.deep.include({ unknownBy: 'a command' });
    expect(later.unknowns).to.deep.equal([{ by: 'a command', what: '/etc/apt' }]);
    expect(new PredictedState().view().pathsUnder('/etc/apt').paths.size).to.equal(0);
  });

  it('a table an earlier task would leave is carried whole; an unknown over it answers nothing', () => {
    const state = new PredictedState();
    state.record('chain', [{ kind: 'iptables-table', key: 'ipv4/filter', rules: '*filter\nCOMMIT\n' }]);
    expect(state.view().iptablesTable('ipv4/filter')).to.deep.equal({ known: '*filter\nCOMMIT\n', by: 'chain' });
    expect(state.view().iptablesTable('ipv4/nat')).to.equal(undefined);
    state.record('firewall script', [{ kind: 'unknown', domains: ['iptables'], under: 'ipv4/filter', what: 'the rules' }]);
    const view = state.view();
    expect(view.iptablesTable('ipv4/filter')).to.equal(undefined);
    expect(view.unknowns).to.deep.equal([{ by: 'firewall script', what: 'the ipv4 filter table' }]);
  });

  it('merges what several tasks predict for one unit, newest first', () => {
    const state = new PredictedState();
    state.record('enable', [{ kind: 'unit', name: 'x.service', state: { enablement: 'enabled' } }]);
    state.record('start', [{ kind: 'unit', name: 'x.service', state: { activeState: 'active' } }]);
    expect(state.view().unit('x.service')).to.deep.equal({ known: { enablement: 'enabled', activeState: 'active' }, by: 'start' });
  });

  it('follows links only predicted on the way to a path: absolute, relative, chained; a loop and the last component left as they are', () => {
    const state = new PredictedState();
    expect(state.view().throughLinks('/srv/app/current/app.conf'), 'nothing predicted').to.equal('/srv/app/current/app.conf');
    state.record('links', [
      { kind: 'path', path: '/srv/app/current', state: { kind: 'link', target: '/srv/app/releases/v2' } },
      { kind: 'path', path: '/srv/app/previous', state: { kind: 'link', target: 'releases/../releases/v1' } },
      { kind: 'path', path: '/srv/app/latest', state: { kind: 'link', target: 'current' } },
      { kind: 'path', path: '/srv/loop/a', state: { kind: 'link', target: 'b' } },
      { kind: 'path', path: '/srv/loop/b', state: { kind: 'link', target: 'a' } },
    ]);
    const view = state.view();
    expect(view.throughLinks('/srv/app/current/app.conf')).to.equal('/srv/app/releases/v2/app.conf');
    expect(view.throughLinks('/srv/app/previous/conf.d/x')).to.equal('/srv/app/releases/v1/conf.d/x');
    expect(view.throughLinks('/srv/app/latest/app.conf')).to.equal('/srv/app/releases/v2/app.conf');
    expect(view.throughLinks('/srv/app/current'), "the last component is the module's to follow").to.equal('/srv/app/current');
    expect(view.throughLinks('/srv/loop/a/x')).to.equal('/srv/loop/a/x');
    expect(view.consulted).to.equal(true);
  });
});
