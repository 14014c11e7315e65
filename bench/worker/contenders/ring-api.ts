/**
 * ringbus's shared ring used directly, without a bus: the parent's `RingWriter` encodes every
 * frame (varint length + payload) where it goes, `reserve` → write → `commit`, with `cork()` /
 * `uncork()` around each batch so a batch costs one index store; the worker's `RingReader` hands
 * runs of frames to the links' `RangeFrameDecoder`, which calls back once per frame with its range
 * in the ring. Three ways to write: each payload copied in from a prebuilt `Uint8Array` with
 * `TypedArray.set`, or encoded in place field by field (payload.ts), a reserve and a commit per
 * frame; or a whole batch of frames encoded in place after one `reserve` and published by one
 * `commit` — "the reserve/commit API that encodes in place" as a batch producer (a tick's entity
 * updates) uses it, with the batch size of the packed postMessage row. A reader sleeps in `waitForData` as soon as the ring is empty (polling
 * first measured no better on the 2-core machine); a full ring makes the writer sleep in
 * `waitForSpace`.
 */
import { RingReader } from '../../../adapters/worker/ring-reader.js';
import { RingWriter } from '../../../adapters/worker/ring-writer.js';
import { createSharedRing } from '../../../adapters/worker/shared-ring.js';
import { RangeFrameDecoder } from '../../../src/frames/frame-decoder.js';
import { encodeVarint, varintLength } from '../../../src/frames/varint.js';
import type { Pinger, RoundTripTask, Sender, WorkerContender } from '../contender.js';
import { handOver, takeOver } from '../handover.js';
import { encodePayload, makePayload } from '../payload.js';
import { BATCH, RING_BYTES, WAIT_MS } from '../settings.js';

/** Reserves room for one frame, sleeping while the ring is full. */
function reserve(writer: RingWriter, frameBytes: number): number {
  let at = writer.reserve(frameBytes);
  while (at < 0) {
    if (!writer.waitForSpace(frameBytes, WAIT_MS)) throw new Error('ring writer: no room');
    at = writer.reserve(frameBytes);
  }
  return at;
}

/** Writes `bytes` as one frame (varint length, then the bytes) and commits it. */
function writeFrame(writer: RingWriter, bytes: Uint8Array): void {
  const frameBytes = varintLength(bytes.length) + bytes.length;
  const at = reserve(writer, frameBytes);
  const prefix = encodeVarint(bytes.length, writer.data, at);
  writer.data.set(bytes, at + prefix);
  writer.commit(frameBytes);
}

/**
 * How the sender fills the ring: `set` and `in-place` reserve and commit each frame (corked per
 * batch); `batch` reserves and commits a batch of frames at once, encoding them in place.
 */
type RingWrite = 'set' | 'in-place' | 'batch';

class RingSender implements Sender {
  private readonly writer: RingWriter;
  private readonly view: DataView;
  private readonly frameBytes: number;
  private readonly prefixBytes: number;
  /** The prebuilt payload (sequence 0), and the last message's. */
  private readonly payload: Uint8Array;
  private readonly lastPayload: Uint8Array;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly payloadBytes: number,
    private readonly how: RingWrite,
    private readonly lastSeq: number
  ) {
    this.writer = new RingWriter(buffer);
    const data = this.writer.data;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.prefixBytes = varintLength(payloadBytes);
    this.frameBytes = this.prefixBytes + payloadBytes;
    this.payload = makePayload(payloadBytes, 0);
    this.lastPayload = makePayload(payloadBytes, lastSeq);
  }

  send(from: number, to: number): void {
    if (this.how === 'batch') return this.sendBatches(from, to);
    const { writer, frameBytes, payloadBytes, prefixBytes } = this;
    const data = writer.data;
    const inPlace = this.how === 'in-place';
    for (let batch = from; batch < to; batch += BATCH) {
      const end = Math.min(to, batch + BATCH);
      writer.cork();
      for (let seq = batch; seq < end; seq++) {
        const at = reserve(writer, frameBytes);
        encodeVarint(payloadBytes, data, at);
        if (inPlace) encodePayload(this.view, at + prefixBytes, seq, payloadBytes);
        else data.set(seq === this.lastSeq ? this.lastPayload : this.payload, at + prefixBytes);
        writer.commit(frameBytes);
      }
      writer.uncork();
    }
  }

  /** One reserve and one commit per batch: the frames are encoded back to back in between. */
  private sendBatches(from: number, to: number): void {
    const { writer, frameBytes, payloadBytes, prefixBytes, view } = this;
    const data = writer.data;
    for (let batch = from; batch < to; batch += BATCH) {
      const end = Math.min(to, batch + BATCH);
      const bytes = (end - batch) * frameBytes;
      let at = reserve(writer, bytes);
      for (let seq = batch; seq < end; seq++) {
        encodeVarint(payloadBytes, data, at);
        encodePayload(view, at + prefixBytes, seq, payloadBytes);
        at += frameBytes;
      }
      writer.commit(bytes);
    }
  }

  close(): Promise<void> {
    this.writer.end();
    return Promise.resolve();
  }
}

/** Feeds whatever the ring holds to `decoder` until `isDone()`, sleeping while it is empty. */
function drain(reader: RingReader, decoder: RangeFrameDecoder, isDone: () => boolean): void {
  while (!isDone()) {
    // ENDED is raised after the last record: read it before looking for records.
    const ended = reader.ended;
    const run = reader.peek();
    if (run.length === 0) {
      if (ended) return;
      reader.waitForData(WAIT_MS);
      continue;
    }
    const error = decoder.push(run);
    if (error !== undefined) throw error;
    reader.release(run.length);
  }
}

/** Parent side of the round trips: writes one frame, then waits (without blocking) for the echo. */
class RingPinger implements Pinger {
  private readonly writer: RingWriter;
  private readonly reader: RingReader;
  private readonly decoder: RangeFrameDecoder;
  private readonly payload: Uint8Array;
  private echoes = 0;

  constructor(toWorker: SharedArrayBuffer, toParent: SharedArrayBuffer, payloadBytes: number) {
    this.writer = new RingWriter(toWorker);
    this.reader = new RingReader(toParent);
    this.payload = makePayload(payloadBytes, 1);
    this.decoder = new RangeFrameDecoder(payloadBytes, (_, start, end) => {
      if (end - start !== payloadBytes) throw new Error('ring echo: wrong length');
      this.echoes++;
    });
  }

  async ping(): Promise<void> {
    const { reader } = this;
    writeFrame(this.writer, this.payload);
    const expected = this.echoes + 1;
    while (this.echoes < expected) {
      const run = reader.peek();
      if (run.length === 0) {
        if (!(await reader.waitForDataAsync(WAIT_MS))) throw new Error('ring echo: none');
        continue;
      }
      const error = this.decoder.push(run);
      if (error !== undefined) throw error;
      reader.release(run.length);
    }
  }

  close(): Promise<void> {
    this.writer.end();
    this.reader.detach();
    return Promise.resolve();
  }
}

const NAMES: Record<RingWrite, string> = {
  set: 'ringbus ring: reserve/commit + TypedArray.set',
  'in-place': 'ringbus ring: reserve/commit, encoded in place',
  batch: `ringbus ring: reserve/commit per ${BATCH} frames, encoded in place`
};

function ringApi(how: RingWrite): WorkerContender {
  return {
    id: how === 'set' ? 'ring-set' : how === 'in-place' ? 'ring-in-place' : 'ring-batch',
    name: NAMES[how],

    openSender(worker, task) {
      const ring = createSharedRing({ capacityBytes: RING_BYTES });
      handOver(worker, [ring]);
      return Promise.resolve(new RingSender(ring, task.payloadBytes, how, task.total - 1));
    },

    async receive(task, tally) {
      const [ring] = await takeOver();
      const reader = new RingReader(ring);
      let isDone = false;
      const decoder = new RangeFrameDecoder(task.payloadBytes, (bytes, start, end) => {
        isDone = tally.one(bytes, start, end);
      });
      tally.ready();
      drain(reader, decoder, () => isDone);
      if (!isDone) throw new Error(`ring ended after ${tally.received} of ${task.total} frames`);
    },

    // One entry is enough: the payload is copied either way, and one 64 B frame is all it takes.
    roundTrip:
      how !== 'set'
        ? undefined
        : {
            openPinger(worker, task: RoundTripTask) {
              const toWorker = createSharedRing({ capacityBytes: RING_BYTES });
              const toParent = createSharedRing({ capacityBytes: RING_BYTES });
              handOver(worker, [toWorker, toParent]);
              return Promise.resolve(new RingPinger(toWorker, toParent, task.payloadBytes));
            },

            async echo(task, ready) {
              const [toWorker, toParent] = await takeOver();
              const reader = new RingReader(toWorker);
              const writer = new RingWriter(toParent);
              const decoder = new RangeFrameDecoder(task.payloadBytes, (bytes, start, end) => {
                writeFrame(writer, bytes.subarray(start, end));
              });
              ready();
              drain(reader, decoder, () => false);
            }
          }
  };
}

export const ringSet = ringApi('set');
export const ringInPlace = ringApi('in-place');
export const ringBatch = ringApi('batch');
