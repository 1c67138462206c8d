import { expect } from 'chai';
import { waitFor } from '../../modules/wait-for.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 2. Servers are started in the background over the OpenSSH client, the
// wait runs through drover's runner, and the port's state is read back independently. ──

const DIR = '/tmp/drover-wait';
const PORT = 18481;

describe('waitFor on a lab host', function () {
  let target: LabTarget;

  /** Starts `python3 -m http.server` on PORT after `after` seconds, detached; its pid goes to DIR/pid. */
  const serveLater = (after: number) => onHost(target, `cd ${DIR}; nohup sh -c 'sleep ${after}; exec python3 -m http.server ${PORT} --bind 127.0.0.1' </dev/null >/dev/null 2>&1 & echo $! > ${DIR}/pid`);
  const stopServer = () => onHost(target, `[ -f ${DIR}/pid ] && kill "$(cat ${DIR}/pid)" 2>/dev/null; rm -f ${DIR}/pid; true`);
  const portOpen = async () => (await onHost(target, `timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${PORT}' 2>/dev/null && echo open || echo closed`)).stdout.trim();

  before(async function () {
    target = (await labTargets(this, 3))[2]!;
    await onHost(target, `rm -rf ${DIR}; mkdir -p ${DIR}`);
  });
  afterEach(stopServer);
  after(() => onHost(target, `rm -rf ${DIR} ~/drover-wait-pwned`));

  it('waits for a port a server opens 3 s later, in one command, and says how long it waited; then for it to close', async () => {
    expect(await portOpen()).to.equal('closed');
    await serveLater(3);
    const result = await applyModule(target, waitFor, { port: PORT, timeout: 120, sleep: 0.5 });
    expect(result.status, result.msg).to.equal('ok');
    expect(result.changed).to.equal(false);
    expect(result.commands).to.have.length(1);
    expect(result.value?.condition).to.equal(`TCP port ${PORT} on 127.0.0.1 to be open`);
    expect(result.value?.elapsed).to.be.within(2.5, 120);
    expect(result.msg).to.match(new RegExp(`^TCP port ${PORT} on 127.0.0.1 to be open: reached after \\d+\\.\\d s$`));
    expect(await portOpen()).to.equal('open');

    // Stopped 2 s from now by a detached job: the wait for "closed" must see it go.
    await onHost(target, `nohup sh -c 'sleep 2; kill "$(cat ${DIR}/pid)"' </dev/null >/dev/null 2>&1 &`);
    const closed = await applyModule(target, waitFor, { port: PORT, state: 'closed', timeout: 120, sleep: 0.5 });
    expect(closed.status, closed.msg).to.equal('ok');
    expect(closed.value?.elapsed).to.be.within(1, 120);
    expect(await portOpen()).to.equal('closed');
  });

  it('a timeout fails the task, naming what was waited for, after about the timeout', async () => {
    const result = await applyModule(target, waitFor, { port: PORT, timeout: 2, sleep: 0.5 });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.match(new RegExp(`^timed out after 2 s waiting for TCP port ${PORT} on 127.0.0.1 to be open \\(waited \\d`));
    expect(result.durationMs).to.be.at.least(2000);
    expect(result.value).to.equal(undefined);

    const command = await applyModule(target, waitFor, { argv: ['sh', '-c', 'echo "not yet: $0" >&2; exit 3', 'x'], timeout: 1 });
    expect(command.status).to.equal('failed');
    expect(command.msg).to.contain('to succeed (waited').and.to.contain("the command's last output: not yet: x");
  });

  it('check mode: it runs (it only reads); a wait that times out with no change predicted fails there as in a real run', async () => {
    const reached = await applyModule(target, waitFor, { path: '/etc/passwd', search: '^root:' }, { check: true });
    expect(reached.status, reached.msg).to.equal('ok');
    expect(reached.value?.elapsed).to.be.a('number');
    expect(reached.commands[0]?.executed).to.equal(true);

    const never = await applyModule(target, waitFor, { port: PORT, timeout: 1 }, { check: true });
    expect(never.status, never.msg).to.equal('failed');
    expect(never.msg).to.match(/^timed out after 1 s waiting for TCP port/);
    // The same wait in a real run fails.
    expect((await applyModule(target, waitFor, { port: PORT, timeout: 1 })).status).to.equal('failed');
  });

  it('a path that appears, a regex that appears in a file, a path that goes, a command that starts succeeding', async () => {
    await onHost(target, `nohup sh -c 'sleep 2; echo starting > ${DIR}/log; sleep 1; echo "node has joined" >> ${DIR}/log; touch ${DIR}/ready' </dev/null >/dev/null 2>&1 &`);
    const present = await applyModule(target, waitFor, { path: `${DIR}/log`, timeout: 60, sleep: 0.3 });
    expect(present.status, present.msg).to.equal('ok');
    const matched = await applyModule(target, waitFor, { path: `${DIR}/log`, search: 'has joined$', timeout: 60, sleep: 0.3 });
    expect(matched.status, matched.msg).to.equal('ok');
    expect((await onHost(target, `cat ${DIR}/log`)).stdout).to.contain('node has joined');
    const succeeded = await applyModule(target, waitFor, { argv: ['test', '-e', `${DIR}/ready`], timeout: 60, sleep: 0.3 });
    expect(succeeded.status, succeeded.msg).to.equal('ok');

    await onHost(target, `nohup sh -c 'sleep 2; rm -f ${DIR}/log' </dev/null >/dev/null 2>&1 &`);
    const absent = await applyModule(target, waitFor, { path: `${DIR}/log`, state: 'absent', timeout: 60, sleep: 0.3 });
    expect(absent.status, absent.msg).to.equal('ok');
    expect(absent.value?.elapsed).to.be.within(1, 60);
    expect((await onHost(target, `test -e ${DIR}/log && echo there || echo gone`)).stdout.trim()).to.equal('gone');
  });

  it('a hostile path and regex are data: nothing in them runs', async () => {
    const name = `${DIR}/a'b $(touch drover-wait-pwned)`;
    const result = await applyModule(target, waitFor, { path: name, search: "'; touch drover-wait-pwned; '", timeout: 1 });
    expect(result.status).to.equal('failed');
    expect(result.msg).to.contain('timed out after 1 s waiting for');
    expect((await onHost(target, 'ls ~/drover-wait-pwned /drover-wait-pwned 2>/dev/null | grep -q . && echo pwned || echo clean')).stdout.trim()).to.equal('clean');
  });
});
