import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RingConnection } from '../../adapters/worker/ring-connection.js';
import { RingReader } from '../../adapters/worker/ring-reader.js';
import { RingWriter } from '../../adapters/worker/ring-writer.js';
import { createSharedRing } from '../../adapters/worker/shared-ring.js';
import { waitFor } from '../helpers/wait.js';

/**
 * RingConnection's write/drain contract where the reader is another thread: that thread may free
 * space at any moment, here simulated at the worst one (between the copy that found the ring full
 * and the queueing that follows), which a same-thread test cannot otherwise reach.
 */
describe('RingConnection', () => {
  it('emits drain after the write() that returned false, even when the reader freed space during it', async () => {
    const capacityBytes = 4096;
    const out = createSharedRing({ capacityBytes });
    const writer = new RingWriter(out);
    const peer = new RingReader(out); // the other thread's reader of this side's ring
    let freed = false;
    const reserve = writer.reserve.bind(writer);
    writer.reserve = (maxBytes: number): number => {
      const at = reserve(maxBytes);
      if (at < 0 && !freed) {
        // The ring is full: the peer reads everything at this very moment.
        freed = true;
        peer.release(peer.available());
      }
      return at;
    };
    const conn = new RingConnection(
      writer,
      new RingReader(createSharedRing({ capacityBytes })),
      'peer',
      () => undefined
    );
    let returned = false;
    let drainedWithinWrite = false;
    let drains = 0;
    conn.setHandlers({
      data: () => undefined,
      drain: () => {
        drains++;
        if (!returned) drainedWithinWrite = true;
      },
      close: () => undefined
    });
    try {
      // More than the ring holds: the copy stops when it is full, and the peer then frees it.
      const ok = conn.write(new Uint8Array(capacityBytes + 1000));
      returned = true;
      assert.equal(freed, true, 'the ring filled during the write');
      assert.equal(ok, false, 'the chunk did not fit at once');
      await waitFor(() => drains === 1, 2000, 'a drain after the refused write');
      assert.equal(drainedWithinWrite, false, 'no drain before write() returned false');
      assert.equal(conn.bufferedBytes, 0);
    } finally {
      conn.destroy();
    }
  });
});
