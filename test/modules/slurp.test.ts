import { expect } from 'chai';
import { parseSlurp, slurp, slurpScript, SlurpedFile, SLURP_MAX_SIZE } from '../../modules/slurp.ts';
import { ModuleError } from '../../runner/module-error.ts';
import { toPlain } from '../../runner/plain-value.ts';
import { SchemaError } from '../../runner/schema.ts';
import { Redactor, Secret } from '../../runner/secret.ts';
import { planOn } from '../support/plan-with-schema.ts';
import { RecordedHost } from '../support/recorded-host.ts';

const BYTES = Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a, 0x41, 0xc3, 0x28]);

describe('slurp: probe output → value', () => {
  it('decodes the exact bytes, whatever they are', () => {
    const value = parseSlurp('/p', 100, false, `kind=file\ncontent=${BYTES.toString('base64')}\n`, 0, '', 'h');
    expect(value.content.equals(BYTES)).to.equal(true);
    expect(value.size).to.equal(8);
    expect(value.text('latin1')).to.equal(BYTES.toString('latin1'));
    expect(parseSlurp('/p', 100, false, 'kind=file\ncontent=\n', 0, '', 'h').size).to.equal(0);
  });

  const errors: Array<[string, string, number, string, RegExp, RegExp | undefined]> = [
    ['a missing file', 'kind=absent\n', 0, '', /^no file at \/p on h$/, /stat tells/],
    ['a directory', 'kind=directory\n', 0, '', /^\/p on h is a directory, not a file$/, undefined],
    ['an unreadable file', 'kind=file\n', 1, 'sh: 5: cannot open /p: Permission denied\n', /^could not read \/p on h: sh: 5: cannot open \/p: Permission denied$/, /become/],
    ['one byte over the limit', `kind=file\ncontent=${Buffer.alloc(5).toString('base64')}\n`, 0, '', /^\/p on h is larger than maxSize \(4 bytes\)$/, /raise maxSize .* or copy the file to the controller with fetch/],
  ];
  for (const [label, stdout, exitCode, stderr, message, hint] of errors) {
    it(`${label} fails, naming path and host`, () => {
      const error = (() => {
        try {
          parseSlurp('/p', 4, false, stdout, exitCode, stderr, 'h');
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).to.be.instanceOf(ModuleError);
      expect((error as ModuleError).message).to.match(message);
      if (hint) expect((error as ModuleError).hint).to.match(hint);
    });
  }
});

describe('slurp: the value in reports, and secrets', () => {
  it('reports and the audit log get path, size and sha256, never the bytes', () => {
    const value = new SlurpedFile('/p', Buffer.from('hello\n'), false);
    expect(toPlain({ value })).to.deep.equal({ value: { path: '/p', size: 6, sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03' } });
  });

  it('a secret: no hash in reports, a Secret the runner registers, which masks the text wherever it appears', () => {
    const value = new SlurpedFile('/root/token', Buffer.from('abcdef.0123456789abcdef\n'), true);
    expect(toPlain(value)).to.deep.equal({ path: '/root/token', size: 24, secret: true });
    expect(value.secretText).to.be.instanceOf(Secret);
    expect(value.secret().reveal()).to.equal('abcdef.0123456789abcdef\n');
    const redactor = new Redactor();
    redactor.add(value.secret());
    expect(redactor.redact('token abcdef.0123456789abcdef here')).to.not.contain('abcdef.0123456789abcdef');
  });

  it('plans nothing, with the value, from one probe that reads at most maxSize + 1 bytes', async () => {
    const host = new RecordedHost([{ match: 'head -c', output: { stdout: `kind=file\ncontent=${BYTES.toString('base64')}\n` } }]);
    const plan = await planOn(slurp, { path: '/etc//x/', maxSize: 10 }, host);
    expect(plan.changes).to.deep.equal([]);
    expect(plan.reason).to.equal('read /etc/x (8 bytes)');
    expect(plan.value?.content.equals(BYTES)).to.equal(true);
    expect(host.probes).to.have.length(1);
    expect(host.probes[0]).to.contain('head -c 11 <');
  });

  it('quotes a hostile path; refuses relative paths and a maxSize over 64 MiB', () => {
    expect(slurpScript("/tmp/a'$(reboot)", 1).text).to.contain(`p='/tmp/a'\\''$(reboot)'`);
    expect(() => slurp.params.parse({ path: 'x' }, '')).to.throw(SchemaError, /absolute/);
    expect(() => slurp.params.parse({ path: '/x', maxSize: SLURP_MAX_SIZE + 1 }, '')).to.throw(SchemaError, /maxSize/);
  });
});
