/**
 * A lab instance belongs to the checkout that brought its hosts up: another checkout's `up` is refused
 * while those hosts run and their checkout exists, instead of locking that checkout out of its own hosts.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimInstance, instanceOwner, releaseInstance } from '../../lab/owner.ts';

describe('lab/owner: one checkout per lab instance', () => {
  let root: string;
  const runDir = () => join(root, 'run');
  const checkout = (name: string) => {
    const stateDir = join(root, name, '.lab');
    mkdirSync(stateDir, { recursive: true });
    return { runDir: runDir(), stateDir };
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'drover-lab-owner-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('records the first checkout, refuses a second while the hosts run, and lets it in after down', async () => {
    const first = checkout('first');
    const second = checkout('second');
    expect(await claimInstance(first, false)).to.equal(undefined);
    expect(readFileSync(join(runDir(), 'owner'), 'utf8')).to.equal(`${first.stateDir}\n`);
    expect(await claimInstance(first, true), 'the owner itself, again').to.equal(undefined);
    const refused = await claimInstance(second, true);
    expect(refused).to.match(/^lab instance \d is in use by another checkout \(.*\/first\/\.lab\): its hosts trust that checkout's key/);
    expect(refused).to.include(`(cd ${join(root, 'first')} && npm run lab -- down)`);
    expect(await instanceOwner(second), 'the refusal changes nothing').to.equal(first.stateDir);
    await releaseInstance(first);
    expect(await claimInstance(second, true)).to.equal(undefined);
    expect(await instanceOwner(first)).to.equal(second.stateDir);
  });

  it('takes over an instance whose owner checkout is gone, or whose hosts are all down', async () => {
    const gone = checkout('gone');
    const next = checkout('next');
    await claimInstance(gone, false);
    rmSync(join(root, 'gone'), { recursive: true });
    expect(await claimInstance(next, true)).to.equal(undefined);
    const other = checkout('other');
    expect(await claimInstance(other, false), 'no host running: nothing to lock anyone out of').to.equal(undefined);
  });
});
