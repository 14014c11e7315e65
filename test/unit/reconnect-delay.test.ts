import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { reconnectDelay } from '../../src/link/backoff.js';

const backoff = { initialDelayMs: 100, maxDelayMs: 5000 };

void describe('reconnect delays', () => {
  void it('double from initialDelayMs with each failure up to maxDelayMs (the jitter at its top)', () => {
    const top = (): number => 1;
    assert.deepEqual(
      Array.from({ length: 9 }, (_, failures) => reconnectDelay(backoff, failures, top)),
      [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]
    );
    // Far beyond: still the cap, never Infinity or NaN.
    assert.equal(reconnectDelay(backoff, 10_000, top), 5000);
  });

  void it('spread uniformly below the ceiling (full jitter)', () => {
    assert.equal(
      reconnectDelay(backoff, 3, () => 0),
      0
    );
    assert.equal(
      reconnectDelay(backoff, 3, () => 0.25),
      200
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.nat(100),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initialDelayMs, extra, failures, r) => {
          const b = { initialDelayMs, maxDelayMs: initialDelayMs + extra };
          const ceiling = Math.min(b.maxDelayMs, initialDelayMs * 2 ** failures);
          const delay = reconnectDelay(b, failures, () => r);
          assert.ok(delay >= 0 && delay < Math.max(ceiling, Number.MIN_VALUE));
          assert.equal(delay, r * ceiling);
        }
      ),
      { seed: 7, numRuns: 500 }
    );
  });

  void it('differ between clients: Math.random by default', () => {
    const delays = new Set(Array.from({ length: 20 }, () => reconnectDelay(backoff, 4)));
    assert.ok(delays.size > 1, 'twenty clients do not all wait the same');
    for (const d of delays) assert.ok(d >= 0 && d < 1600);
  });
});
