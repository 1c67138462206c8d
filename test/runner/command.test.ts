import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { renderCommand, sh, shellQuote, InvalidShellValueError } from '../../runner/command.ts';
import { secret } from '../../runner/secret.ts';

/** Runs a rendered line in a real /bin/sh, as a login shell on a host would. */
function runLocally(line: string, stdin: Buffer): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('/bin/sh', ['-c', line], { input: stdin, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const HOSTILE = ['; rm -rf /', '$(touch /tmp/drover-pwned)', '`touch /tmp/drover-pwned`', "it's", '"double" and \'single\'', 'two\nlines', 'spaces  and\ttabs', 'ünïcødé ✓', '*', '~root', '-n', '', '$HOME ${PATH}', '\\backslash\\'];

describe('shellQuote', () => {
  for (const value of HOSTILE) {
    it(`passes ${JSON.stringify(value)} through a real shell literally`, () => {
      const { stdout, status } = runLocally(`printf '%s' ${shellQuote(value)}`, Buffer.alloc(0));
      expect(status).to.equal(0);
      expect(stdout).to.equal(value);
    });
  }

  it('leaves plain words unquoted and quotes the rest', () => {
    expect(shellQuote('net.ipv4.ip_forward')).to.equal('net.ipv4.ip_forward');
    expect(shellQuote('/etc/sysctl.d/k8s.conf')).to.equal('/etc/sysctl.d/k8s.conf');
    expect(shellQuote('a b')).to.equal("'a b'");
    expect(shellQuote("it's")).to.equal("'it'\\''s'");
    expect(shellQuote('')).to.equal("''");
  });

  it('refuses NUL, which no shell can carry', () => {
    expect(() => shellQuote('a\0b')).to.throw(InvalidShellValueError, /NUL/);
  });
});

describe('sh template and renderCommand', () => {
  it('quotes every interpolated value and arrays word by word', () => {
    const script = sh`printf '%s|' ${HOSTILE.slice(0, 6)}`;
    const rendered = renderCommand({ run: script });
    const { stdout, status } = runLocally(rendered.line, rendered.stdin);
    expect(status).to.equal(0);
    expect(stdout).to.equal(
      HOSTILE.slice(0, 6)
        .map((value) => `${value}|`)
        .join(''),
    );
  });

  it('runs scripts under set -eu: an unset variable stops the script', () => {
    const rendered = renderCommand({ run: sh`echo "$DROVER_UNSET_VARIABLE"; echo after` });
    const result = runLocally(rendered.line, rendered.stdin);
    expect(result.status).to.not.equal(0);
    expect(result.stdout).to.not.include('after');
  });

  it('runs scripts under set -e: a failing command stops the script', () => {
    const rendered = renderCommand({ run: sh`false\necho after` });
    const result = runLocally(rendered.line, rendered.stdin);
    expect(result.status).to.equal(1);
    expect(result.stdout).to.equal('');
  });

  for (const shell of ['bash', 'dash']) {
    it(`sets pipefail where the shell has it, and runs on where it has not (${shell})`, () => {
      const rendered = renderCommand({ run: sh`echo before\nfalse | true\necho after` });
      // The rendered line starts `/bin/sh -c`; the script is run here by the named shell instead.
      const script = rendered.line.replace(/^\/bin\/sh -c /, '');
      const result = spawnSync(shell, ['-c', `eval ${shellQuote(`set -- ${script}`)}; exec ${shell} -c "$1"`], { encoding: 'utf8' });
      expect(result.stderr).to.equal('');
      if (shell === 'bash') {
        expect(result.status).to.equal(1);
        expect(result.stdout).to.equal('before\n');
      } else {
        expect(result.status).to.equal(0);
        expect(result.stdout).to.equal('before\nafter\n');
      }
    });
  }

  it('sends secrets on stdin, never in the line or the display', () => {
    const token = secret('abcdef.0123456789abcdef', 'join token');
    const rendered = renderCommand({ run: sh`printf '%s' ${token}` });
    expect(rendered.line).to.not.include('abcdef.0123456789abcdef');
    expect(rendered.display).to.not.include('abcdef.0123456789abcdef');
    expect(runLocally(rendered.line, rendered.stdin).stdout).to.equal('abcdef.0123456789abcdef');
  });

  it('keeps secrets and data apart on stdin', () => {
    const rendered = renderCommand({ run: sh`printf '%s:' ${secret('s3cret-value')}; cat`, stdin: 'payload\nline2' });
    expect(runLocally(rendered.line, rendered.stdin).stdout).to.equal('s3cret-value:payload\nline2');
  });

  it('runs argv without a shell interpreting the words', () => {
    const rendered = renderCommand({ run: { argv: ['printf', '%s|', '$(id)', 'a b'] } });
    expect(runLocally(rendered.line, rendered.stdin).stdout).to.equal('$(id)|a b|');
  });

  it('exports env and changes directory', () => {
    const rendered = renderCommand({ run: sh`printf '%s %s' "$GREETING" "$(pwd)"`, env: { GREETING: 'hi there' }, cwd: '/tmp' });
    expect(runLocally(rendered.line, rendered.stdin).stdout).to.equal('hi there /tmp');
  });

  it('refuses an environment variable name that is not an identifier', () => {
    expect(() => renderCommand({ run: sh`true`, env: { 'A;B': 'x' } })).to.throw(InvalidShellValueError);
  });

  it('wraps become in sudo and skips a password line sudo did not consume', () => {
    const password = secret('sudo-password-1');
    const rendered = renderCommand({ run: sh`cat`, stdin: 'data' }, { become: { user: 'root', password }, loginUser: 'ops' }, '__marker__');
    expect(rendered.line).to.match(/^sudo -H -S -p '' -u root -- \/bin\/sh -c /);
    expect(rendered.line).to.not.include('sudo-password-1');
    // Simulate NOPASSWD sudo (it reads nothing): the script itself must skip the password and marker.
    const shellLine = rendered.line.replace(/^sudo .*? -- /, '');
    expect(runLocally(shellLine, rendered.stdin).stdout).to.equal('data');
  });

  it('needs no sudo to become the login user', () => {
    const rendered = renderCommand({ run: sh`true` }, { become: { user: 'root' }, loginUser: 'root' });
    expect(rendered.line.startsWith('/bin/sh -c')).to.equal(true);
  });

  it('uses sudo -n without a password', () => {
    const rendered = renderCommand({ run: sh`true` }, { become: {}, loginUser: 'ops' });
    expect(rendered.line).to.match(/^sudo -H -n -u root -- /);
  });

  it('carries a multi-line secret exactly (line breaks, CR, trailing newline) and refuses NUL', () => {
    const value = '-----BEGIN KEY-----\n  a b\\c\r\n\n$(id)\n-----END KEY-----\n';
    const rendered = renderCommand({ run: sh`printf '%s|' ${secret(value)} ${secret('one')}; cat`, stdin: 'data' });
    expect(rendered.line).to.not.include('BEGIN KEY');
    expect(runLocally(rendered.line, rendered.stdin).stdout).to.equal(`${value}|one|data`);
    expect(() => renderCommand({ run: sh`echo ${secret('a\0b')}` })).to.throw(/NUL/);
  });

  it('refuses a secret in an argv, saying to use env or stdin', () => {
    expect(() => renderCommand({ run: { argv: ['mysql', secret('pw-123456')] } })).to.throw(/argv\[1\] of mysql is a secret/);
  });
});
