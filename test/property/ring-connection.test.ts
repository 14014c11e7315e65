/**
 * RingConnection as a byte stream, against a model (the concatenation of what was written): any
 * mix of chunk sizes, from empty to several times the ring, through rings from 64 bytes up. What
 * arrives must be exactly what was written, in order, however the writes were split into records,
 * queued behind a full ring and resumed; `write` reports backpressure and `drain` follows it;
 * `end()` delivers everything before the peer sees the close.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RingConnection } from '../../adapters/worker/ring-connection.js';
import { RingReader } from '../../adapters/worker/ring-reader.js';
import { RingWriter } from '../../adapters/worker/ring-writer.js';
import { createSharedRing } from '../../adapters/worker/shared-ring.js';
import { waitFor, within } from '../helpers/wait.js';

function connectionPair(capacityBytes: number): [RingConnection, RingConnection] {
  const ab = createSharedRing({ capacityBytes });
  const ba = createSharedRing({ capacityBytes });
  const a = new RingConnection(new RingWriter(ab), new RingReader(ba), 'b', () => undefined);
  const b = new RingConnection(new RingWriter(ba), new RingReader(ab), 'a', () => undefined);
  return [a, b];
}

// size 'max': fast-check's default bias keeps arrays at a few bytes, which never fill a ring.
const chunk = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 100, size: 'max' }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 20_000, size: 'max' }) }
);

describe('RingConnection', () => {
  it('delivers exactly the written bytes, in order, through rings of any size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(64, 256, 4096, 65_536),
        fc.array(chunk, { maxLength: 40, size: 'max' }),
        async (capacity, chunks) => {
          const [a, b] = connectionPair(capacity);
          const received: number[] = [];
          let drains = 0;
          let refused = 0;
          const closed = new Promise<void>((resolve) => {
            b.setHandlers({
              data: (bytes) => received.push(...bytes),
              drain: () => undefined,
              close: resolve
            });
          });
          a.setHandlers({ data: () => undefined, drain: () => drains++, close: () => undefined });
          const expected: number[] = [];
          for (const c of chunks) {
            if (!a.write(c)) refused++;
            expected.push(...c);
          }
          a.end();
          await within(closed, 5000, 'the close after the last byte');
          assert.deepEqual(received, expected);
          assert.equal(a.bufferedBytes, 0);
          if (refused > 0) assert.ok(drains <= refused, 'a drain follows a refused write at most');
        }
      ),
      { seed: 7, numRuns: 150 }
    );
  });

  it('tells the writer to wait when the ring is full, and drains once the queue is in the ring', async () => {
    const [a, b] = connectionPair(64);
    let received = 0;
    b.setHandlers({
      data: (bytes) => (received += bytes.length),
      drain: () => undefined,
      close: () => undefined
    });
    const drained = new Promise<void>((resolve) => {
      a.setHandlers({ data: () => undefined, drain: resolve, close: () => undefined });
    });
    assert.equal(a.write(new Uint8Array(40)), true, 'fits');
    assert.equal(a.write(new Uint8Array(100)), false, 'does not fit: queued');
    assert.ok(a.bufferedBytes > 0 && a.bufferedBytes <= 100);
    await within(drained, 2000, 'drain');
    assert.equal(a.bufferedBytes, 0, 'drained: all of it is in the ring');
    await waitFor(() => received === 140, 2000, 'all 140 bytes at the reader');
    a.destroy();
    b.destroy();
  });
});
