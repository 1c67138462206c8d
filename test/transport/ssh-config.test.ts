import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSshConfig, SshConfigError } from '../../runner/transport/ssh-config.ts';
import { loadSshSettings } from '../../runner/transport/ssh-settings.ts';

const context = { file: 'config', localUser: 'alice', homeDir: '/home/alice' };
const resolve = (text: string, alias: string) => resolveSshConfig(text, alias, context);

const SAMPLE = `
# Global settings come first in a real file only when they should win.
User deploy

Host bastion
    HostName 203.0.113.10
    User jump
    Port 2201

Host db-* !db-legacy
    HostName %h.internal.example
    ProxyJump bastion
    IdentityFile ~/.ssh/db_%r@%h

Host web1 web2
    HostName=%h.lan
    Port = 2222
    IdentityFile "/keys/with space/%n"

Match host *.corp exec "true"
    User matched

Host *
    User fallback
    Port 22
    IdentityFile ~/.ssh/id_ed25519
`;

describe('transport/ssh-config', () => {
  const table: Array<[string, string, object]> = [
    ['a host with its own block, first values winning over Host *', 'bastion', { hostName: '203.0.113.10', user: 'deploy', port: 2201, identityFiles: ['/home/alice/.ssh/id_ed25519'] }],
    [
      'a wildcard block with %h in HostName and tokens in IdentityFile',
      'db-primary',
      {
        hostName: 'db-primary.internal.example',
        user: 'deploy',
        port: 22,
        proxyJump: [{ host: 'bastion' }],
        identityFiles: ['/home/alice/.ssh/db_deploy@db-primary.internal.example', '/home/alice/.ssh/id_ed25519'],
      },
    ],
    ['a negated pattern excluding a host from a block', 'db-legacy', { user: 'deploy', port: 22, identityFiles: ['/home/alice/.ssh/id_ed25519'] }],
    ['Key=value syntax, several patterns on a Host line, quoted values', 'web2', { hostName: 'web2.lan', user: 'deploy', port: 2222, identityFiles: ['/keys/with space/web2', '/home/alice/.ssh/id_ed25519'] }],
    ['a Match block skipped (never applied)', 'x.corp', { user: 'deploy', port: 22, identityFiles: ['/home/alice/.ssh/id_ed25519'] }],
  ];
  for (const [what, alias, expected] of table) {
    it(`resolves ${what} (${alias})`, () => {
      expect(resolve(SAMPLE, alias)).to.deep.equal(expected);
    });
  }

  it('gives nothing for an empty config', () => {
    expect(resolve('', 'any')).to.deep.equal({ identityFiles: [] });
  });

  it('matches Host patterns case-insensitively and ignores unknown keys and trailing comments', () => {
    const text = 'Host WEB\n  ForwardAgent yes\n  Port 2200 # the admin port\n';
    expect(resolve(text, 'web')).to.deep.equal({ port: 2200, identityFiles: [] });
  });

  describe('ProxyJump', () => {
    const hops: Array<[string, object | undefined]> = [
      ['bastion', [{ host: 'bastion' }]],
      ['ops@bastion:2201', [{ host: 'bastion', user: 'ops', port: 2201 }]],
      ['ssh://ops@bastion:2201', [{ host: 'bastion', user: 'ops', port: 2201 }]],
      ['[2001:db8::1]:2201', [{ host: '2001:db8::1', port: 2201 }]],
      [
        'a@first,second:2202',
        [
          { host: 'first', user: 'a' },
          { host: 'second', port: 2202 },
        ],
      ],
      ['none', undefined],
    ];
    for (const [value, expected] of hops) {
      it(`parses ProxyJump ${value}`, () => {
        expect(resolve(`Host t\n ProxyJump ${value}\n`, 't').proxyJump).to.deep.equal(expected);
      });
    }

    it('lets a first "ProxyJump none" win over a later one', () => {
      expect(resolve('Host t\n ProxyJump none\nHost *\n ProxyJump bastion\n', 't').proxyJump).to.equal(undefined);
    });
  });

  describe('errors name the file and line', () => {
    const bad: Array<[string, RegExp]> = [
      ['Host t\n Port ssh\n', /^config:2: Port must be a number from 1 to 65535, not "ssh"$/],
      ['Host t\n Port 70000\n', /^config:2: Port must be/],
      ['Host t\n IdentityFile ~/.ssh/%i\n', /^config:2: token %i is not supported here/],
      ['Host t\n ProxyJump @bastion\n', /^config:2: ProxyJump hop "@bastion"/],
      ['Host t\n HostName "unterminated\n', /^config:2: unterminated " quote$/],
      ['Host\n', /^config:1: Host needs at least one pattern$/],
    ];
    for (const [text, message] of bad) {
      it(`rejects ${JSON.stringify(text)}`, () => {
        expect(() => resolve(text, 't')).to.throw(SshConfigError, message);
      });
    }
  });

  describe('Include, from files', () => {
    let home: string;
    before(async () => {
      home = await mkdtemp(join(tmpdir(), 'drover-sshconfig-'));
      await mkdir(join(home, '.ssh', 'conf.d'), { recursive: true });
      await writeFile(join(home, '.ssh', 'conf.d', '10-web.conf'), 'Host web\n  HostName 10.1.1.1\n');
      await writeFile(join(home, '.ssh', 'conf.d', '20-db.conf'), 'Host db\n  HostName 10.2.2.2\n');
      await writeFile(join(home, '.ssh', 'conf.d', 'skip.txt'), 'Host web\n  HostName wrong\n');
      await writeFile(join(home, '.ssh', 'conditional'), 'User from-include\n');
      await writeFile(join(home, '.ssh', 'config'), 'Include conf.d/*.conf\nHost web\n  Include conditional\nHost other\n  Include conditional\nHost *\n  User last\n');
    });
    after(async () => rm(home, { recursive: true, force: true }));

    it('reads globbed includes in name order, relative to ~/.ssh', async () => {
      expect(loadSshSettings({ homeDir: home, localUser: 'alice' }).forHost('web')).to.deep.equal({
        hostName: '10.1.1.1',
        user: 'from-include',
        identityFiles: [],
      });
      expect(loadSshSettings({ homeDir: home, localUser: 'alice' }).forHost('db').hostName).to.equal('10.2.2.2');
    });

    it('applies an Include inside a Host block only to matching hosts', async () => {
      expect(loadSshSettings({ homeDir: home, localUser: 'alice' }).forHost('db').user).to.equal('last');
    });

    it('gives nothing when the config file does not exist', async () => {
      expect(loadSshSettings({ homeDir: join(home, 'nowhere') }).forHost('web')).to.deep.equal({ identityFiles: [] });
    });
  });
});
