import { expect } from 'chai';
import { copy } from '../../modules/copy.ts';
import { slurp } from '../../modules/slurp.ts';
import { applyModule, labTargets, onHost, type LabTarget } from '../support/targets.ts';

// ── Integration: lab host index 0; files written and hashed over the OpenSSH client. ──

const DIR = '/tmp/drover-slurp';
/** Not UTF-8, with NUL, CR, CRLF, a lone high byte and no final newline: every byte must survive. */
const BYTES = Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x41, 0xc3, 0x28, 0x80, 0x0a, 0x0a, 0x7f]);

describe('slurp on a lab host', function () {
  let target: LabTarget;

  before(async function () {
    target = (await labTargets(this, 1))[0]!;
    const setup = await onHost(
      target,
      `rm -rf ${DIR}; mkdir ${DIR} && base64 -d > ${DIR}/bin && printf 'token-abcdef.0123456789abcdef\\n' > ${DIR}/token && head -c 5000 /dev/urandom > ${DIR}/big && ln -s bin ${DIR}/link && printf x > "${DIR}/a'b \\$(touch drover-slurp-pwned)" && chmod 0600 ${DIR}/token`,
      BYTES.toString('base64'),
    );
    expect(setup.exitCode, setup.stderr).to.equal(0);
  });
  after(() => onHost(target, `rm -rf ${DIR} ~/drover-slurp-pwned /drover-slurp-pwned; userdel drover-slurp-u 2>/dev/null; true`));

  it('reads the exact bytes of a non-UTF-8 file; sha256 agrees with sha256sum on the host; check mode reads too', async () => {
    const result = await applyModule(target, slurp, { path: `${DIR}/bin` });
    expect(result.status, result.msg).to.equal('ok');
    expect(result.changed).to.equal(false);
    expect(result.value?.content.equals(BYTES)).to.equal(true);
    const hostHash = (await onHost(target, `sha256sum < ${DIR}/bin | cut -d' ' -f1`)).stdout.trim();
    expect(result.value?.sha256).to.equal(hostHash);
    expect(result.msg).to.equal(`read ${DIR}/bin (14 bytes)`);

    const check = await applyModule(target, slurp, { path: `${DIR}/link` }, { check: true });
    expect(check.status, check.msg).to.equal('ok');
    expect(check.value?.content.equals(BYTES)).to.equal(true);
  });

  it('a file over maxSize fails with its limit; at the limit it is read whole', async () => {
    const over = await applyModule(target, slurp, { path: `${DIR}/big`, maxSize: 4999 });
    expect(over.status).to.equal('failed');
    expect(over.msg).to.equal(`${DIR}/big on lab-1 is larger than maxSize (4999 bytes)`);
    expect(over.failure?.hint).to.match(/fetch/);
    const exact = await applyModule(target, slurp, { path: `${DIR}/big`, maxSize: 5000 });
    expect(exact.value?.size).to.equal(5000);
  });

  it('missing, a directory, unreadable for the become user: each fails with the reason', async () => {
    expect((await applyModule(target, slurp, { path: `${DIR}/none` })).msg).to.equal(`no file at ${DIR}/none on lab-1`);
    expect((await applyModule(target, slurp, { path: DIR })).msg).to.equal(`${DIR} on lab-1 is a directory, not a file`);
    await onHost(target, 'id drover-slurp-u >/dev/null 2>&1 || useradd -M drover-slurp-u');
    const denied = await applyModule(target, slurp, { path: `${DIR}/token` }, { become: { user: 'drover-slurp-u' } });
    expect(denied.status).to.equal('failed');
    expect(denied.msg).to.match(new RegExp(`^could not read ${DIR}/token on lab-1: .*Permission denied`));
  });

  it('a secret: the value has the text, the result and its JSON form do not', async () => {
    const result = await applyModule(target, slurp, { path: `${DIR}/token`, secret: true });
    expect(result.status, result.msg).to.equal('ok');
    expect(result.value?.text()).to.equal('token-abcdef.0123456789abcdef\n');
    expect(result.value?.secret().reveal()).to.equal('token-abcdef.0123456789abcdef\n');
    expect(JSON.stringify(result)).to.not.contain('0123456789abcdef');
    expect(JSON.parse(JSON.stringify(result)).value).to.deep.equal({ path: `${DIR}/token`, size: 30, secret: true });
  });

  it('a secret that is not UTF-8 is copied byte for byte (each such byte became U+FFFD)', async () => {
    const key = Buffer.from('abc\xff\xfe\x80xyz\n', 'latin1');
    expect((await onHost(target, `base64 -d > ${DIR}/bin.key`, key.toString('base64'))).exitCode).to.equal(0);
    const read = await applyModule(target, slurp, { path: `${DIR}/bin.key`, secret: true });
    expect(read.status, read.msg).to.equal('ok');
    const written = await applyModule(target, copy, { dest: `${DIR}/bin2.key`, content: read.value!.secret(), mode: '0600' });
    expect(written.status, written.msg).to.equal('changed');
    const hashes = (await onHost(target, `sha256sum < ${DIR}/bin.key; sha256sum < ${DIR}/bin2.key`)).stdout.split('\n');
    expect(hashes[1]).to.equal(hashes[0]);
    expect((await applyModule(target, copy, { dest: `${DIR}/bin2.key`, content: read.value!.secret(), mode: '0600' })).status).to.equal('ok');
  });

  it('a hostile file name is read as one path; nothing in it runs', async () => {
    const result = await applyModule(target, slurp, { path: `${DIR}/a'b $(touch drover-slurp-pwned)` });
    expect(result.value?.text()).to.equal('x');
    expect((await onHost(target, 'ls ~/drover-slurp-pwned /drover-slurp-pwned 2>/dev/null | grep -q . && echo pwned || echo clean')).stdout.trim()).to.equal('clean');
  });
});
