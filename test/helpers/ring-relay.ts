import { workerData } from 'node:worker_threads';
import { RingReader } from '../../adapters/worker/ring-reader.js';
import { RingWriter } from '../../adapters/worker/ring-writer.js';

/**
 * A worker thread of the `ring-thread://` test transport (test/helpers/ring-transport.ts): copies
 * one direction of a connection from the ring its sender writes into the ring its receiver
 * reads, with blocking waits. Backpressure passes through (a full `to` stops it reading `from`);
 * so do the ends: `from` ended and read out ends `to`, and `to` detached detaches `from`.
 */

const { from, to } = workerData as { from: SharedArrayBuffer; to: SharedArrayBuffer };
const reader = new RingReader(from);
const writer = new RingWriter(to);
const maxRecord = writer.capacity >>> 2;

relay: for (;;) {
  const n = reader.available();
  if (n === 0) {
    // ENDED is raised after the last record: look at it, then at what is left.
    if (reader.ended && reader.available() === 0) break;
    if (writer.closed) break;
    reader.waitForData(Infinity);
    continue;
  }
  const at = reader.readOffset;
  for (let done = 0; done < n;) {
    const len = Math.min(n - done, maxRecord);
    // False once the receiver detached: nothing more is read there.
    if (!writer.waitForSpace(len, Infinity)) break relay;
    writer.write(reader.data.subarray(at + done, at + done + len));
    done += len;
  }
  reader.release(n);
}
writer.end();
reader.detach();
