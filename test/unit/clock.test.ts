import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOCK_EPOCH, CoarseClock, READS_PER_REFRESH, clockNow } from '../../src/clock.js';

describe('CoarseClock', () => {
  it('reads the wall clock relative to CLOCK_EPOCH', () => {
    const before = Date.now();
    const now = new CoarseClock().now() + CLOCK_EPOCH;
    const after = Date.now();
    assert.ok(now >= before && now <= after, `${now} within [${before}, ${after}]`);
    assert.ok(Number.isInteger(clockNow()));
  });

  it('reuses one reading within a synchronous run and refreshes every READS_PER_REFRESH reads', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: CLOCK_EPOCH + 1000 });
    const clock = new CoarseClock();
    assert.equal(clock.now(), 1000);
    t.mock.timers.tick(5);
    for (let i = 1; i < READS_PER_REFRESH; i++) assert.equal(clock.now(), 1000);
    assert.equal(clock.now(), 1005, 'the 256th read refreshes');
  });

  it('expires its reading when the synchronous run ends, and on invalidate()', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: CLOCK_EPOCH + 1000 });
    const clock = new CoarseClock();
    assert.equal(clock.now(), 1000);
    t.mock.timers.tick(7);
    assert.equal(clock.now(), 1000);
    await Promise.resolve();
    assert.equal(clock.now(), 1007, 'a later turn reads the clock again');
    t.mock.timers.tick(3);
    clock.invalidate();
    assert.equal(clock.now(), 1010);
  });

  it('keeps values outside the int32 range exact (a mocked or very old epoch)', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: CLOCK_EPOCH - 2 ** 40 });
    assert.equal(new CoarseClock().now(), -(2 ** 40));
    assert.equal(clockNow(), -(2 ** 40));
  });
});
