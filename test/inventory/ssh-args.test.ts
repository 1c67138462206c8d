import { expect } from 'chai';
import { parseSshArgs } from '../../inventory/ssh-args.ts';
import { ShlexError } from '../../inventory/shlex.ts';

describe('inventory/ssh-args', () => {
  const CASES: ReadonlyArray<readonly [string, string, ReturnType<typeof parseSshArgs>]> = [
    ['-o Key=Value', '-o UserKnownHostsFile=/k -o ProxyJump=b', { knownHostsFile: '/k', proxyJump: 'b', unsupported: [] }],
    ['-oKey=Value and keys in any case', '-ouserknownhostsfile=/k -oPROXYJUMP=b', { knownHostsFile: '/k', proxyJump: 'b', unsupported: [] }],
    ['"Key Value" in one quoted word', `-o 'UserKnownHostsFile /k' -o "ProxyJump a@b:2"`, { knownHostsFile: '/k', proxyJump: 'a@b:2', unsupported: [] }],
    ['-J with a separate or attached value', '-J a,b', { proxyJump: 'a,b', unsupported: [] }],
    ['-Jattached', '-Ja', { proxyJump: 'a', unsupported: [] }],
    ['the first value wins, as ssh reads them', '-o ProxyJump=first -J second -o UserKnownHostsFile=/k -o UserKnownHostsFile=/other', { proxyJump: 'first', knownHostsFile: '/k', unsupported: [] }],
    ['StrictHostKeyChecking=yes is the default; anything else is reported', '-o StrictHostKeyChecking=yes -o StrictHostKeyChecking=accept-new', { unsupported: ['-o StrictHostKeyChecking=accept-new'] }],
    ['several known_hosts files are not taken', '-o "UserKnownHostsFile=/a /b"', { unsupported: ['-o UserKnownHostsFile=/a /b'] }],
    ['options and flags drover does not act on', '-C -o ControlMaster=auto -o ControlPersist=60s -v', { unsupported: ['-C', '-o ControlMaster=auto', '-o ControlPersist=60s', '-v'] }],
    ['a dangling -o', '-o', { unsupported: ['-o'] }],
    ['an option without a value', '-o ProxyJump=', { unsupported: ['-o ProxyJump='] }],
    ['nothing', '  ', { unsupported: [] }],
  ];
  for (const [title, text, expected] of CASES) {
    it(title, () => expect(parseSshArgs(text)).to.deep.equal(expected));
  }

  it('refuses unbalanced quotes', () => {
    expect(() => parseSshArgs("-o 'ProxyJump=b")).to.throw(ShlexError);
  });
});
