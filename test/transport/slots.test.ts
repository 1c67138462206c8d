import { expect } from 'chai';
import { Slots } from '../../runner/transport/slots.ts';

describe('transport/slots', () => {
  it('grants up to its size at once and the rest in order as slots are released', async () => {
    const slots = new Slots(2);
    const order: number[] = [];
    const first = await slots.acquire();
    const second = await slots.acquire();
    const waiting = [3, 4].map((n) =>
      slots.acquire().then((release) => {
        order.push(n);
        return release;
      }),
    );
    await Promise.resolve();
    expect(order).to.deep.equal([]);
    first?.();
    const third = await waiting[0];
    expect(order).to.deep.equal([3]);
    second?.();
    await waiting[1];
    expect(order).to.deep.equal([3, 4]);
    // Releasing twice frees one slot, not two.
    third?.();
    third?.();
  });

  it('drops a waiter whose signal aborts, without losing the slot', async () => {
    const slots = new Slots(1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const abandoned = slots.acquire(controller.signal);
    const next = slots.acquire();
    controller.abort();
    expect(await abandoned).to.equal(undefined);
    held?.();
    expect(await next).to.be.a('function');
  });

  it('refuses an already aborted signal at once', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await new Slots(1).acquire(controller.signal)).to.equal(undefined);
  });

  it('rejects a size below 1', () => {
    expect(() => new Slots(0)).to.throw(RangeError, /maxChannels must be a whole number of at least 1, got 0/);
  });
});
