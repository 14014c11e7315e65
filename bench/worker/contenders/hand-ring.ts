/**
 * The practical limit: the hand-written ring of hand-ring.ts (no library code), records of a
 * length word and the payload, published once per batch of BATCH records. The payload is copied
 * in with `TypedArray.set`, or encoded in place field by field, as for the library's ring
 * (ring-api.ts). The reader sleeps as soon as the ring is empty, as there.
 */
import type { Pinger, RoundTripTask, Sender, WorkerContender } from '../contender.js';
import { HandRingReader, HandRingWriter, createHandRing } from '../hand-ring.js';
import { handOver, takeOver } from '../handover.js';
import { encodePayload, makePayload } from '../payload.js';
import { BATCH, RING_BYTES } from '../settings.js';

class HandRingSender implements Sender {
  private readonly writer: HandRingWriter;
  private readonly payload: Uint8Array;
  private readonly lastPayload: Uint8Array;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly payloadBytes: number,
    private readonly inPlace: boolean,
    private readonly lastSeq: number
  ) {
    this.writer = new HandRingWriter(buffer);
    this.payload = makePayload(payloadBytes, 0);
    this.lastPayload = makePayload(payloadBytes, lastSeq);
  }

  send(from: number, to: number): void {
    const { writer, payloadBytes } = this;
    const { data, view } = writer;
    for (let batch = from; batch < to; batch += BATCH) {
      const end = Math.min(to, batch + BATCH);
      for (let seq = batch; seq < end; seq++) {
        const at = writer.begin(payloadBytes);
        if (this.inPlace) encodePayload(view, at, seq, payloadBytes);
        else data.set(seq === this.lastSeq ? this.lastPayload : this.payload, at);
      }
      writer.flush();
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** One payload to the worker and back, each way through a hand ring of its own. */
class HandRingPinger implements Pinger {
  private readonly writer: HandRingWriter;
  private readonly reader: HandRingReader;
  private readonly payload: Uint8Array;
  private echoes = 0;
  private readonly onEcho = (_data: Uint8Array, start: number, end: number): void => {
    if (end - start !== this.payload.length) throw new Error('hand ring echo: wrong length');
    this.echoes++;
  };

  constructor(toWorker: SharedArrayBuffer, toParent: SharedArrayBuffer, payloadBytes: number) {
    this.writer = new HandRingWriter(toWorker);
    this.reader = new HandRingReader(toParent);
    this.payload = makePayload(payloadBytes, 1);
  }

  async ping(): Promise<void> {
    const at = this.writer.begin(this.payload.length);
    this.writer.data.set(this.payload, at);
    this.writer.flush();
    const expected = this.echoes + 1;
    while (this.echoes < expected)
      if (this.reader.read(this.onEcho) === 0) await this.reader.waitAsync();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function handRing(inPlace: boolean): WorkerContender {
  return {
    id: inPlace ? 'hand-ring-in-place' : 'hand-ring-set',
    name: inPlace
      ? 'hand-written SAB ring, encoded in place'
      : 'hand-written SAB ring + TypedArray.set',

    openSender(worker, task) {
      const ring = createHandRing(RING_BYTES);
      handOver(worker, [ring]);
      return Promise.resolve(new HandRingSender(ring, task.payloadBytes, inPlace, task.total - 1));
    },

    async receive(_task, tally) {
      const [ring] = await takeOver();
      const reader = new HandRingReader(ring);
      let isDone = false;
      const onRecord = (data: Uint8Array, start: number, end: number): void => {
        isDone = tally.one(data, start, end);
      };
      tally.ready();
      while (!isDone) if (reader.read(onRecord) === 0) reader.wait();
    },

    // One entry is enough: the round trip copies the payload either way.
    roundTrip: inPlace
      ? undefined
      : {
          openPinger(worker, task: RoundTripTask) {
            const toWorker = createHandRing(RING_BYTES);
            const toParent = createHandRing(RING_BYTES);
            handOver(worker, [toWorker, toParent]);
            return Promise.resolve(new HandRingPinger(toWorker, toParent, task.payloadBytes));
          },

          async echo(_task, ready) {
            const [toWorker, toParent] = await takeOver();
            const reader = new HandRingReader(toWorker);
            const writer = new HandRingWriter(toParent);
            const echo = (data: Uint8Array, start: number, end: number): void => {
              const at = writer.begin(end - start);
              writer.data.set(data.subarray(start, end), at);
            };
            ready();
            for (;;) {
              if (reader.read(echo) === 0) reader.wait();
              else writer.flush();
            }
          }
        }
  };
}

export const handRingSet = handRing(false);
export const handRingInPlace = handRing(true);
