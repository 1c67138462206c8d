/**
 * The runner's reboot path (HostSession.runReboot, reached through Command.reboot) against connections
 * that behave as a rebooting host does: refused while it is down, the old boot id while it has not gone
 * down yet, a new one when it is back. The lab test (test/modules/reboot.lab.test.ts) reboots real hosts.
 */
import { expect } from 'chai';
import { sh } from '../../../runner/command.ts';
import { ModuleError } from '../../../runner/module-error.ts';
import { HostSession, type Connector } from '../../../runner/engine/host-session.ts';
import { runTask } from '../../../runner/engine/task.ts';
import { Redactor } from '../../../runner/secret.ts';
import { HostKeyError, UnreachableError, type Connection, type ExecOutcome } from '../../../runner/transport/transport.ts';
import { reboot } from '../../../modules/reboot.ts';
import { labHostTarget } from '../../support/targets.ts';

const OLD = '11111111-1111-4111-8111-111111111111';
const NEW = '22222222-2222-4222-8222-222222222222';

type Answer = 'refused' | 'hostkey' | { bootId: string };

/** A host whose connection attempts answer in turn from `attempts` (the last repeats); connection 0 is the first. */
function rebootingHost(attempts: Answer[], options: { lostDuringReboot?: boolean } = {}) {
  const log: string[] = [];
  let connections = 0;
  const outcome = (fields: Partial<ExecOutcome>): ExecOutcome => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, aborted: false, connectionLost: false, durationMs: 1, ...fields });
  const connector: Connector = async (spec) => {
    const index = connections++;
    const answer: Answer = index === 0 ? { bootId: OLD } : (attempts[Math.min(index - 1, attempts.length - 1)] ?? 'refused');
    if (answer === 'refused') {
      log.push(`connect ${index}: refused`);
      throw new UnreachableError(spec.name, `cannot connect to ${spec.name}: connect ECONNREFUSED`);
    }
    if (answer === 'hostkey') throw new HostKeyError(spec.name, `the host key of ${spec.name} changed`, 'check the host', 'SHA256:x');
    log.push(`connect ${index}`);
    const connection: Connection = {
      spec,
      exec: async (line) => {
        const what = line.includes('systemctl reboot') ? 'reboot' : line.includes('boot_id') ? 'boot_id' : 'other';
        log.push(`exec ${index} ${what}`);
        if (what === 'reboot') return outcome(options.lostDuringReboot ? { exitCode: null, connectionLost: true } : {});
        if (what === 'boot_id') return outcome({ stdout: `${answer.bootId}\n` });
        return outcome({ stdout: 'ran\n' });
      },
      close: async () => {
        log.push(`close ${index}`);
      },
    };
    return connection;
  };
  const session = new HostSession(labHostTarget('web1', '192.0.2.10', '/dev/null', '/dev/null'), connector, new Redactor(), { defaultTimeoutMs: 10_000, rebootPollMs: 10 });
  return { session, log };
}

const settings = { check: false, redactor: new Redactor(), clock: () => Date.now() };

describe('reboot: the runner waits for the new boot and reconnects', () => {
  it('waits through refused connections and the old boot id, then runs later commands on the new connection', async () => {
    const { session, log } = rebootingHost([{ bootId: OLD }, 'refused', 'refused', { bootId: NEW }]);
    const { result } = await runTask(session, { name: 'reboot', module: reboot, params: {}, become: undefined }, settings);
    expect(result.status, result.msg).to.equal('changed');
    expect(result.value).to.deep.include({ bootIdBefore: OLD, bootIdAfter: NEW });
    expect(result.msg).to.match(/^rebooted; back after [\d.]+ s \(boot id 2{8}-/);
    const next = await session.run({ run: sh`echo next` }, undefined);
    expect(next.stdout).to.equal('ran\n');
    expect(log).to.deep.equal(['connect 0', 'exec 0 boot_id', 'exec 0 reboot', 'close 0', 'connect 1', 'exec 1 boot_id', 'close 1', 'connect 2: refused', 'connect 3: refused', 'connect 4', 'exec 4 boot_id', 'exec 4 other']);
  });

  it('a connection dropped by the reboot command itself is the reboot working, not an unreachable host', async () => {
    const { session } = rebootingHost(['refused', { bootId: NEW }], { lostDuringReboot: true });
    const { result } = await runTask(session, { name: 'reboot', module: reboot, params: {}, become: undefined }, settings);
    expect(result.status, result.msg).to.equal('changed');
    expect(result.commands[0]!.stderr).to.include('the connection closed as the host went down');
    expect(session.unreachable).to.equal(undefined);
  });

  it('a host that never comes back is unreachable once the bound has passed, and stays so', async () => {
    const { session } = rebootingHost(['refused']);
    await session.run({ run: sh`cat /proc/sys/kernel/random/boot_id` }, undefined);
    const started = Date.now();
    const error = await session.runReboot({ run: sh`systemctl reboot`, reboot: { bootId: OLD, timeoutMs: 300 } }, undefined).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(Date.now() - started).to.be.below(5_000);
    expect(error).to.be.instanceOf(UnreachableError);
    expect((error as Error).message).to.match(/^web1 was rebooted \(boot id 1{8}-.*\) and it did not come back within 0 s; last attempt: cannot connect to web1: connect ECONNREFUSED$/);
    expect(session.unreachable).to.equal(error);
    await session.run({ run: sh`true` }, undefined).then(
      () => expect.fail('a later command must fail at once'),
      (caught: unknown) => expect(caught).to.equal(error),
    );
  });

  it('a changed host key after the reboot is not retried', async () => {
    const { session, log } = rebootingHost(['hostkey', { bootId: NEW }]);
    await session.run({ run: sh`cat /proc/sys/kernel/random/boot_id` }, undefined);
    const error = await session.runReboot({ run: sh`systemctl reboot`, reboot: { bootId: OLD, timeoutMs: 60_000 } }, undefined).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(HostKeyError);
    expect(log.filter((line) => line.startsWith('connect'))).to.have.length(1);
  });

  it('refuses to reboot over the local connection (the controller itself)', async () => {
    const target = labHostTarget('localhost', '127.0.0.1', '/dev/null', '/dev/null');
    const session = new HostSession(
      { ...target, connection: { ...target.connection, kind: 'local' } },
      async () => {
        throw new Error('the local connection is never opened for a reboot');
      },
      new Redactor(),
      { defaultTimeoutMs: 1_000 },
    );
    const error = await session.runReboot({ run: sh`systemctl reboot`, reboot: { bootId: OLD, timeoutMs: 1_000 } }, undefined).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ModuleError);
    expect((error as Error).message).to.include('will not reboot the controller it runs on');
  });
});
