import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSshSettings } from '../../runner/transport/ssh-settings.ts';
import type { ConnectionSpec } from '../../runner/transport/transport.ts';

describe('transport/ssh-settings', () => {
  let home: string;
  const config = (text: string) => {
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'config'), text);
  };
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'drover-ssh-settings-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('reads the config once per run: later edits of the file do not change what a run sees', () => {
    config('Host web\n  HostName 10.1.1.1\nHost db\n  HostName 10.2.2.2\n');
    const settings = loadSshSettings({ homeDir: home, localUser: 'alice' });
    expect(settings.forHost('web').hostName).to.equal('10.1.1.1');
    config('Host web\n  HostName changed\nHost db\n  HostName changed\n');
    expect(settings.forHost('web').hostName).to.equal('10.1.1.1');
    expect(settings.forHost('db').hostName).to.equal('10.2.2.2');
    expect(loadSshSettings({ homeDir: home, localUser: 'alice' }).forHost('db').hostName).to.equal('changed');
  });

  it('names each Match block met in a warning, once, and none without one', () => {
    const file = join(home, '.ssh', 'config');
    config('Host web\n  User deploy\nMatch host *.corp exec "true"\n  User corp\nHost *\n  Port 2222\nMatch all\n  User everyone\n');
    const settings = loadSshSettings({ homeDir: home, localUser: 'alice' });
    expect(settings.warnings()).to.deep.equal([]);
    expect(settings.forHost('web')).to.deep.equal({ user: 'deploy', port: 2222, identityFiles: [] });
    settings.forHost('x.corp');
    expect(settings.warnings()).to.deep.equal([
      `${file}:3: drover does not evaluate ssh_config Match blocks; the settings under this one never apply (put them under a Host block)`,
      `${file}:7: drover does not evaluate ssh_config Match blocks; the settings under this one never apply (put them under a Host block)`,
    ]);
    config('Host web\n  User deploy\n');
    const clean = loadSshSettings({ homeDir: home, localUser: 'alice' });
    clean.forHost('web');
    expect(clean.warnings()).to.deep.equal([]);
  });

  it('builds jump chains with each hop resolved like a host', () => {
    config('Host bastion\n  HostName 192.0.2.1\n  User jump\n  Port 2200\n');
    const target: ConnectionSpec = {
      name: 'node1',
      address: '10.0.0.5',
      port: 22,
      user: 'root',
      kind: 'ssh',
      knownHostsFiles: [],
      hostKeyPolicy: 'strict',
      connectTimeoutMs: 1000,
      keepaliveIntervalMs: 1000,
      connectRetries: 0,
      maxChannels: 1,
    };
    const chain = loadSshSettings({ homeDir: home, localUser: 'alice' }).jumpChain(target, [{ host: 'bastion' }, { host: 'inner', user: 'me' }]);
    expect([chain?.address, chain?.user, chain?.port]).to.deep.equal(['inner', 'me', 22]);
    expect([chain?.jump?.address, chain?.jump?.user, chain?.jump?.port, chain?.jump?.jump]).to.deep.equal(['192.0.2.1', 'jump', 2200, undefined]);
  });

  it('has no settings and reads nothing when the config file does not exist', () => {
    const settings = loadSshSettings({ file: join(home, 'absent'), localUser: 'alice' });
    expect(settings.forHost('web')).to.deep.equal({ identityFiles: [] });
    expect(settings.jumpChain({ name: 'x' } as ConnectionSpec, [])).to.equal(undefined);
  });
});
