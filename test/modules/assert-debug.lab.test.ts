/**
 * assert and debug on a real lab host: conditions computed from what the host really reports (stat), no
 * command sent for either module, the same in check mode, and a debug value's Secret masked.
 */
import { expect } from 'chai';
import { assert } from '../../modules/assert.ts';
import { debug } from '../../modules/debug.ts';
import { stat } from '../../modules/stat.ts';
import { MASK, Secret } from '../../runner/secret.ts';
import { applyModule, labTargets, type LabTarget } from '../support/targets.ts';

describe('assert and debug on a lab host', function () {
  let target: LabTarget;
  before(async function () {
    target = (await labTargets(this, 1))[0]!;
  });

  it('assert passes or fails on values read from the host, sends no command, and is the same in check mode', async () => {
    const passwd = await applyModule(target, stat, { path: '/etc/passwd' });
    const missing = await applyModule(target, stat, { path: '/etc/drover-no-such-file' });
    for (const check of [false, true]) {
      const ok = await applyModule(target, assert, { that: [{ ok: passwd.value?.exists === true, msg: '/etc/passwd is missing' }] }, { check });
      expect(ok).to.include({ status: 'ok', changed: false, checkMode: check });
      expect(ok.commands).to.deep.equal([]);
      const failed = await applyModule(
        target,
        assert,
        {
          that: [
            { ok: missing.value?.exists === true, msg: '/etc/drover-no-such-file is absent' },
            { ok: passwd.value?.mode === '0600', msg: `/etc/passwd has mode ${passwd.value?.mode}` },
          ],
        },
        { check },
      );
      expect(failed.status).to.equal('failed');
      expect(failed.msg).to.equal(`assertion failed: 2 of 2 conditions failed on ${target.name}: /etc/drover-no-such-file is absent; /etc/passwd has mode 0644`);
      expect(failed.commands).to.deep.equal([]);
    }
  });

  it('debug records the value with its Secret masked, sends no command', async () => {
    const result = await applyModule(target, debug, { msg: 'join', value: { token: new Secret('lab-token-4b2e9c', 't'), host: target.name } });
    expect(result).to.include({ status: 'ok', changed: false, msg: `join: {"token":"${MASK}","host":"${target.name}"}` });
    expect(result.commands).to.deep.equal([]);
  });
});
