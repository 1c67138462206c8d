/**
 * One Ctrl-C reaches drover twice under run.ts (directly, as the process group's member, and relayed by
 * the supervisor): stop requests count presses, not deliveries. Real signals to this process.
 */
import { expect } from 'chai';
import { StopRequests, exitStatusOf, type StopRequest } from '../../../runner/cli/stop-requests.ts';

function nextRequest(requests: StopRequest[], count: number): Promise<void> {
  return new Promise((resolveWait, reject) => {
    const deadline = Date.now() + 10_000;
    const poll = setInterval(() => {
      if (requests.length >= count) {
        clearInterval(poll);
        resolveWait();
      } else if (Date.now() > deadline) {
        clearInterval(poll);
        reject(new Error(`expected ${count} stop request(s), got ${requests.length}`));
      }
    }, 5);
  });
}

describe('stop requests', () => {
  it('counts a signal delivered directly and relayed by the supervisor once; the next one kills', async () => {
    const stops = new StopRequests();
    const seen: StopRequest[] = [];
    const unsubscribe = stops.subscribe((request) => seen.push(request));
    try {
      process.kill(process.pid, 'SIGINT');
      await nextRequest(seen, 1);
      stops.relayed({ type: 'drover-stop', signal: 'SIGINT', seq: 1 });
      expect(seen.map((request) => request.level)).to.deep.equal([1]);
      // A relay that arrives before the direct delivery is the same press too.
      stops.relayed({ type: 'drover-stop', signal: 'SIGINT', seq: 2 });
      process.kill(process.pid, 'SIGINT');
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
      expect(seen.map((request) => request.level)).to.deep.equal([1, 2]);
      expect(seen[0]!.signal).to.equal('SIGINT');
    } finally {
      unsubscribe();
    }
  });

  it('takes the exit status from the first signal and counts a lost launcher as SIGTERM, once', () => {
    const stops = new StopRequests();
    const seen: StopRequest[] = [];
    const unsubscribe = stops.subscribe((request) => seen.push(request));
    try {
      stops.launcherLost('its launcher npm exec (pid 1) is gone');
      stops.launcherLost('again');
      expect(seen).to.have.length(1);
      expect(seen[0]).to.include({ level: 1, signal: 'SIGTERM' });
      expect(exitStatusOf('SIGTERM')).to.equal(143);
      expect(exitStatusOf('SIGINT')).to.equal(130);
      expect(exitStatusOf('SIGHUP')).to.equal(129);
    } finally {
      unsubscribe();
    }
  });

  it('leaves no signal handler installed once the run has unsubscribed', () => {
    const before = process.listenerCount('SIGINT');
    const unsubscribe = new StopRequests().subscribe(() => undefined);
    expect(process.listenerCount('SIGINT')).to.equal(before + 1);
    unsubscribe();
    expect(process.listenerCount('SIGINT')).to.equal(before);
  });
});
