/**
 * firewalld on a real lab host: Debian's firewalld (from the lab's repository) runs in the nspawn host with
 * its nftables backend. Each change is read back three ways: firewall-cmd's runtime view, the saved zone
 * file in /etc/firewalld/zones (the permanent configuration, read as a file), and real traffic: a TCP
 * server on the firewalled host and a client on another lab host that is refused until the port is open.
 *
 * Not covered here: RHEL-family hosts themselves (the lab's hosts are Debian; firewall-cmd and its
 * --query/--add/--remove options are the same program there).
 */
import { expect } from 'chai';
import { firewalld } from '../../modules/firewalld.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

const PORT = 18_461;
const ZONE_FILE = '/etc/firewalld/zones';

describe('firewalld on lab hosts', function () {
  let server: LabTarget;
  let client: LabTarget;
  const on = async (target: LabTarget, script: string) => {
    const output = await onHost(target, script);
    expect(output.exitCode, `${script}\n${output.stderr}`).to.equal(0);
    return output.stdout.trim();
  };
  /** Whether the client reaches the server's port now (a short, bounded TCP connect from the other host). */
  const reachable = async () =>
    (await on(
      client,
      `python3 -c 'import socket,sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), 3).close(); print("open")
except OSError as error:
    print("closed")' ${server.address} ${PORT}`,
    )) === 'open';
  const runtimePorts = () => on(server, 'firewall-cmd --zone=public --list-ports');
  const savedZone = (zone: string) => on(server, `cat ${ZONE_FILE}/${zone}.xml 2>/dev/null || true`);

  before(async function () {
    const targets = await labTargets(this, 2);
    [client, server] = [targets[0]!, targets[1]!];
    await on(
      server,
      `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firewalld >/dev/null && systemctl start firewalld && firewall-cmd --state
(setsid python3 -m http.server ${PORT} --bind ${server.address} >/dev/null 2>&1 < /dev/null & echo $! > /run/drover-firewalld-http.pid)`,
    );
    for (let i = 0; i < 50 && (await onHost(server, `python3 -c 'import socket; socket.create_connection(("${server.address}", ${PORT}), 1)'`)).exitCode !== 0; i++) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
  });
  after(async () => {
    // Stopping firewalld removes its nftables tables; the package goes so that no later suite meets it.
    await onHost(server, `kill "$(cat /run/drover-firewalld-http.pid)"; rm -f /run/drover-firewalld-http.pid; systemctl stop firewalld; DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq firewalld >/dev/null; rm -rf /etc/firewalld`);
  });

  it('opens a port permanently and at runtime: traffic passes, the zone file has it; a re-run changes nothing', async () => {
    expect(await reachable(), 'the default zone refuses the port before').to.equal(false);
    const first = await applyModule(server, firewalld, { port: `${PORT}/tcp` });
    expect(first.status, first.msg).to.equal('changed');
    expect(first.changes).to.deep.equal([`enable port ${PORT}/tcp in zone public (permanent)`, `enable port ${PORT}/tcp in zone public (runtime)`]);
    expect(await runtimePorts()).to.equal(`${PORT}/tcp`);
    expect(await savedZone('public')).to.include(`<port port="${PORT}" protocol="tcp"/>`);
    expect(await reachable()).to.equal(true);

    const again = await applyModule(server, firewalld, { port: `${PORT}/tcp`, zone: 'public' });
    expect(again.status, again.msg).to.equal('ok');
    expect(again.msg).to.equal(`port ${PORT}/tcp already enabled in zone public (permanent and runtime)`);
  });

  it('check mode predicts closing the port and changes nothing; the real run closes it', async () => {
    const check = await applyModule(server, firewalld, { port: `${PORT}/tcp`, state: 'disabled' }, { check: true });
    expect(check.status, check.msg).to.equal('changed');
    expect(check.diffs).to.deep.include({ kind: 'value', name: `zone public port ${PORT}/tcp (runtime)`, before: 'enabled', after: 'disabled' });
    expect(await runtimePorts()).to.equal(`${PORT}/tcp`);
    expect(await reachable()).to.equal(true);

    const close = await applyModule(server, firewalld, { port: `${PORT}/tcp`, state: 'disabled' });
    expect(close.status, close.msg).to.equal('changed');
    expect(await runtimePorts()).to.equal('');
    expect(await savedZone('public')).to.not.include(`port="${PORT}"`);
    expect(await reachable()).to.equal(false);
  });

  it('runtime and permanent apart: each changes only its own configuration', async () => {
    const runtime = await applyModule(server, firewalld, { port: `${PORT}/tcp`, permanent: false });
    expect(runtime.changes).to.deep.equal([`enable port ${PORT}/tcp in zone public (runtime)`]);
    expect(await reachable()).to.equal(true);
    expect(await savedZone('public')).to.not.include(`port="${PORT}"`);
    const permanent = await applyModule(server, firewalld, { port: `${PORT}/tcp` });
    expect(permanent.changes).to.deep.equal([`enable port ${PORT}/tcp in zone public (permanent)`]);
    expect(await savedZone('public')).to.include(`<port port="${PORT}" protocol="tcp"/>`);
    // A reload puts the runtime back to the saved configuration: the port stays open.
    await on(server, 'firewall-cmd --reload');
    expect(await reachable()).to.equal(true);
    await applyModule(server, firewalld, { port: `${PORT}/tcp`, state: 'disabled' });
  });

  it('services and sources, in the default zone and a named one', async () => {
    const service = await applyModule(server, firewalld, { service: 'http' });
    expect(service.status, service.msg).to.equal('changed');
    expect((await on(server, 'firewall-cmd --list-services')).split(' ')).to.include('http');
    expect(await savedZone('public')).to.include('<service name="http"/>');
    expect((await applyModule(server, firewalld, { service: 'http' })).status).to.equal('ok');

    const source = await applyModule(server, firewalld, { source: '10.99.0.0/16', zone: 'trusted' });
    expect(source.status, source.msg).to.equal('changed');
    expect(await on(server, 'firewall-cmd --zone=trusted --list-sources')).to.equal('10.99.0.0/16');
    expect(await savedZone('trusted')).to.include('<source address="10.99.0.0/16"/>');
    const remove = await applyModule(server, firewalld, { source: '10.99.0.0/16', zone: 'trusted', state: 'disabled' });
    expect(remove.status, remove.msg).to.equal('changed');
    expect(await on(server, 'firewall-cmd --zone=trusted --list-sources')).to.equal('');
    await applyModule(server, firewalld, { service: 'http', state: 'disabled' });
  });

  it('creates and deletes a zone (permanent, then a reload); check mode leaves it', async () => {
    const create = await applyModule(server, firewalld, { zone: 'drovertest', state: 'present' });
    expect(create.status, create.msg).to.equal('changed');
    expect(create.msg).to.equal('create zone drovertest and reload firewalld');
    expect((await on(server, 'firewall-cmd --get-zones')).split(' ')).to.include('drovertest');
    expect(await savedZone('drovertest')).to.include('<zone');
    expect((await applyModule(server, firewalld, { zone: 'drovertest', state: 'present' })).status).to.equal('ok');

    const port = await applyModule(server, firewalld, { zone: 'drovertest', port: '9000-9010/udp' });
    expect(port.status, port.msg).to.equal('changed');
    expect(await on(server, 'firewall-cmd --zone=drovertest --list-ports')).to.equal('9000-9010/udp');

    const check = await applyModule(server, firewalld, { zone: 'drovertest', state: 'absent' }, { check: true });
    expect(check.status).to.equal('changed');
    expect((await on(server, 'firewall-cmd --get-zones')).split(' ')).to.include('drovertest');
    const remove = await applyModule(server, firewalld, { zone: 'drovertest', state: 'absent' });
    expect(remove.status, remove.msg).to.equal('changed');
    expect((await on(server, 'firewall-cmd --get-zones')).split(' ')).to.not.include('drovertest');
    expect(await savedZone('drovertest')).to.equal('');
  });

  it('hostile strings never reach the host: the schema refuses them, naming the parameter', async () => {
    const hostile = [
      { port: `80/tcp; touch /tmp/drover-firewalld-pwned` },
      { port: '80/tcp --permanent' },
      { service: '$(touch /tmp/drover-firewalld-pwned)' },
      { source: `10.0.0.0/8' ; touch /tmp/drover-firewalld-pwned '` },
      { port: '80/tcp', zone: 'public;touch /tmp/drover-firewalld-pwned' },
      { port: '70000/tcp' },
    ];
    for (const params of hostile) {
      const result = await applyModule(server, firewalld, params as Parameters<typeof applyModule<typeof firewalld>>[2]);
      expect(result.status, JSON.stringify(params)).to.equal('failed');
      expect(result.failure?.kind).to.equal('invalid-input');
      expect(result.msg).to.match(new RegExp(`^invalid parameter for firewalld: .*${Object.keys(params).at(-1)}`));
      expect(result.commands).to.deep.equal([]);
    }
    expect(await on(server, 'ls /tmp/drover-firewalld-pwned 2>/dev/null || echo clean')).to.equal('clean');
  });

  it('names what firewall-cmd refuses (an unknown service), a zone that does not exist and a stopped daemon, with the fix', async () => {
    const service = await applyModule(server, firewalld, { service: 'no-such-service' });
    expect(service.status).to.equal('failed');
    expect(service.msg).to.include('INVALID_SERVICE');
    expect(service.failure?.hint).to.include('firewall-cmd --get-services');
    // A zone that does not exist: a dry run cannot know whether an earlier task creates it; a real run fails.
    const check = await applyModule(server, firewalld, { port: '80/tcp', zone: 'nozone' }, { check: true });
    expect(check.status, check.msg).to.equal('changed');
    expect(check.uncertain).to.equal(true);
    const zone = await applyModule(server, firewalld, { port: '80/tcp', zone: 'nozone' });
    expect(zone.status).to.equal('failed');
    expect(zone.msg).to.include("zone nozone does not exist in firewalld's permanent configuration: create it first (firewalld zone=nozone state=present)");
    expect(zone.commands.filter((command) => command.executed).map((command) => command.display)).to.have.length(1);
    await on(server, 'systemctl stop firewalld');
    const stopped = await applyModule(server, firewalld, { port: '80/tcp' });
    expect(stopped.msg).to.match(/^firewalld is not running on lab-2/);
    expect(stopped.failure?.hint).to.include('systemd name=firewalld state=started');
  });
});
