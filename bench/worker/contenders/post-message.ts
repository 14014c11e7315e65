/**
 * `postMessage`, the way Node and browsers offer: one structured-cloned `Uint8Array` per call;
 * arrays of BATCH of them per call (each with its own ArrayBuffer, as separate messages have:
 * views of one buffer would be cloned once); and the trick careful users reach for, BATCH
 * payloads packed into one ArrayBuffer that is transferred, not copied (fixed-size records here,
 * so the receiver needs no lengths).
 *
 * Flow control, since postMessage has none: the worker credits every CREDIT_EVERY messages it
 * has handled, and the parent keeps at most WINDOW messages uncredited, so the queue between the
 * threads stays bounded (a few MB) and the figure is what the receiver keeps up with.
 */
import { type Worker, parentPort } from 'node:worker_threads';
import type { Pinger, Sender, ThroughputTask, WorkerContender } from '../contender.js';
import { makePayload } from '../payload.js';
import { BATCH } from '../settings.js';

export const CREDIT_EVERY = 4096;
export const WINDOW = 4 * CREDIT_EVERY;

const Mode = { ONE: 0, ARRAY: 1, PACKED: 2 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

interface Credit {
  'bench:credit': number;
}

class PostSender implements Sender {
  /** Messages the worker has credited. */
  private credited = 0;
  private wake: (() => void) | undefined = undefined;
  private readonly payload: Uint8Array;
  private readonly lastPayload: Uint8Array;
  /** BATCH payloads with buffers of their own, for ARRAY. */
  private readonly batch: Uint8Array[];
  private readonly onCredit = (m: Credit): void => {
    this.credited = m['bench:credit'];
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  };

  constructor(
    private readonly worker: Worker,
    private readonly mode: Mode,
    private readonly payloadBytes: number,
    private readonly lastSeq: number
  ) {
    this.payload = makePayload(payloadBytes, 0);
    this.lastPayload = makePayload(payloadBytes, lastSeq);
    this.batch = Array.from({ length: BATCH }, () => makePayload(payloadBytes, 0));
    worker.on('message', this.onCredit);
  }

  async send(from: number, to: number): Promise<void> {
    const step = this.mode === Mode.ONE ? 1 : BATCH;
    if ((to - from) % step !== 0) throw new Error(`postMessage: send whole batches of ${step}`);
    for (let seq = from; seq < to;) {
      if (seq - this.credited >= WINDOW) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const end = seq + step;
      if (this.mode === Mode.ONE) this.one(seq);
      else if (this.mode === Mode.ARRAY) this.array(end);
      else this.packed(end);
      seq = end;
    }
  }

  close(): Promise<void> {
    this.worker.off('message', this.onCredit);
    return Promise.resolve();
  }

  private one(seq: number): void {
    this.worker.postMessage(seq === this.lastSeq ? this.lastPayload : this.payload);
  }

  /** The BATCH messages before `end`. */
  private array(end: number): void {
    if (end - 1 !== this.lastSeq) return this.worker.postMessage(this.batch);
    const last = [...this.batch];
    last[BATCH - 1] = this.lastPayload;
    this.worker.postMessage(last);
  }

  private packed(end: number): void {
    const n = this.payloadBytes;
    const buffer = new ArrayBuffer(BATCH * n);
    const bytes = new Uint8Array(buffer);
    for (let k = 0; k < BATCH; k++) {
      bytes.set(end - BATCH + k === this.lastSeq ? this.lastPayload : this.payload, k * n);
    }
    this.worker.postMessage(buffer, [buffer]);
  }
}

function credit(received: number, before: number): void {
  if (Math.floor(received / CREDIT_EVERY) !== Math.floor(before / CREDIT_EVERY)) {
    const m: Credit = { 'bench:credit': received };
    parentPort!.postMessage(m);
  }
}

function postMessage(mode: Mode): WorkerContender {
  return {
    id: ['post-message', 'post-message-array', 'post-message-packed'][mode],
    name: [
      'postMessage, 1 message per call',
      `postMessage, arrays of ${BATCH}`,
      `postMessage, ${BATCH} packed in 1 transferred buffer`
    ][mode],

    openSender(worker, task: ThroughputTask) {
      return Promise.resolve(new PostSender(worker, mode, task.payloadBytes, task.total - 1));
    },

    receive(task, tally) {
      const port = parentPort!;
      const n = task.payloadBytes;
      if (mode === Mode.ONE) {
        port.on('message', (p: Uint8Array) => {
          tally.one(p, 0, p.length);
          credit(tally.received, tally.received - 1);
        });
      } else if (mode === Mode.ARRAY) {
        port.on('message', (batch: Uint8Array[]) => {
          const last = batch[batch.length - 1];
          tally.many(batch.length, last, 0, last.length);
          credit(tally.received, tally.received - batch.length);
        });
      } else {
        port.on('message', (buffer: ArrayBuffer) => {
          const count = buffer.byteLength / n;
          tally.many(count, new Uint8Array(buffer), (count - 1) * n, count * n);
          credit(tally.received, tally.received - count);
        });
      }
      tally.ready();
    },

    roundTrip:
      mode !== Mode.ONE
        ? undefined
        : {
            openPinger(worker, task) {
              return Promise.resolve(new PostPinger(worker, task.payloadBytes));
            },
            echo(_task, ready) {
              const port = parentPort!;
              port.on('message', (p: Uint8Array) => port.postMessage(p));
              ready();
            }
          }
  };
}

class PostPinger implements Pinger {
  private readonly payload: Uint8Array;
  private pong: ((p: Uint8Array) => void) | undefined = undefined;
  private readonly onMessage = (p: Uint8Array): void => this.pong?.(p);

  constructor(
    private readonly worker: Worker,
    private readonly payloadBytes: number
  ) {
    this.payload = makePayload(payloadBytes, 1);
    worker.on('message', this.onMessage);
  }

  async ping(): Promise<void> {
    const echo = new Promise<Uint8Array>((resolve) => (this.pong = resolve));
    this.worker.postMessage(this.payload);
    if ((await echo).length !== this.payloadBytes)
      throw new Error('postMessage echo: wrong length');
  }

  close(): Promise<void> {
    this.worker.off('message', this.onMessage);
    return Promise.resolve();
  }
}

export const postMessageOne = postMessage(Mode.ONE);
export const postMessageArray = postMessage(Mode.ARRAY);
export const postMessagePacked = postMessage(Mode.PACKED);
