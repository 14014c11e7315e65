/**
 * ringbus as users link a worker: the parent's bus `connectWorker(worker)`, the worker's bus
 * `subscribe('bench', handler)` then `connectParent()`; the parent calls `bus.publish` with
 * `Uint8Array` payloads. Each message becomes a `Message` on the parent's bus, a MSG frame in
 * the outbound ring (encoded into the link's buffer, then copied in once per tick), and a
 * `Message` again on the worker's bus, delivered to the handler.
 *
 * Flow control is the link's own: `overflow: 'block'` with a send queue of SEND_QUEUE_SIZE, so a
 * full queue (the ring is behind) makes `publish` throw ERR_QUEUE_FULL without enqueuing, and
 * that message waits in `publishAsync` for room. The publishing loop yields to the event loop
 * every YIELD_EVERY messages (the link writes there). Nothing may be lost: the worker's
 * subscription queue holds QUEUE_SIZE (drop-oldest, as any QoS 0 subscription), and the worker
 * reports a loss instead of waiting for a message that will never come.
 */
import type { Worker } from 'node:worker_threads';
import type { Bus, Link, Message } from '../../../adapters/node.js';
import type {
  Pinger,
  RoundTripTask,
  Sender,
  ThroughputTask,
  WorkerContender
} from '../contender.js';
import { DEFAULT_SEND_QUEUE_SIZE } from '../../../src/limits.js';
import { immediate } from '../../net/harness.js';
import { isQueueFull } from '../../net/peers/ringbus.js';
import { isMarked, makePayload } from '../payload.js';

const TOPIC = 'bench';
const PING = 'bench.ping';
const PONG = 'bench.pong';
/** The link's send queue, in messages: the default, as the network suite uses. */
export const SEND_QUEUE_SIZE = DEFAULT_SEND_QUEUE_SIZE;
/** Messages published per event-loop turn. */
export const YIELD_EVERY = 4096;
/**
 * The worker's subscription queue: one 64 KiB read from the ring holds about 800 frames of a
 * 64 B payload, all queued before the bus dispatches; the default (1024) would do, with less room.
 */
export const QUEUE_SIZE = 4096;

async function newBus(id: string): Promise<Bus> {
  const { Bus } = await import('../../../adapters/node.js');
  return new Bus({ id });
}

class LinkSender implements Sender {
  private readonly payload: Uint8Array;
  private readonly lastPayload: Uint8Array;

  constructor(
    private readonly bus: Bus,
    private readonly link: Link,
    payloadBytes: number,
    private readonly lastSeq: number
  ) {
    this.payload = makePayload(payloadBytes, 0);
    this.lastPayload = makePayload(payloadBytes, lastSeq);
  }

  async send(from: number, to: number): Promise<void> {
    const bus = this.bus;
    let turn = 0;
    for (let seq = from; seq < to; seq++) {
      const p = seq === this.lastSeq ? this.lastPayload : this.payload;
      try {
        bus.publish(TOPIC, p);
      } catch (err) {
        if (!isQueueFull(err)) throw err;
        await bus.publishAsync(TOPIC, p);
      }
      if (++turn === YIELD_EVERY) {
        turn = 0;
        await immediate();
      }
    }
  }

  async close(): Promise<void> {
    await this.link.close();
    await this.bus.close();
  }
}

class LinkPinger implements Pinger {
  private readonly payload: Uint8Array;
  private pong: ((m: Message) => void) | undefined = undefined;
  private link: Link | undefined = undefined;

  constructor(
    private readonly bus: Bus,
    private readonly payloadBytes: number
  ) {
    this.payload = makePayload(payloadBytes, 1);
    bus.subscribe(PONG, (m) => this.pong?.(m));
  }

  async open(worker: Worker): Promise<this> {
    this.link = await this.bus.connectWorker(worker);
    return this;
  }

  async ping(): Promise<void> {
    const echo = new Promise<Message>((resolve) => (this.pong = resolve));
    this.bus.publish(PING, this.payload);
    const m = await echo;
    if ((m.payload as Uint8Array).length !== this.payloadBytes) {
      throw new Error('ringbus echo: wrong length');
    }
  }

  async close(): Promise<void> {
    await this.link?.close();
    await this.bus.close();
  }
}

export const ringbusLink: WorkerContender = {
  id: 'ringbus-link',
  name: 'ringbus link: bus.publish → worker bus',

  async openSender(worker, task: ThroughputTask) {
    const bus = await newBus('bench-parent');
    const link = await bus.connectWorker(worker, {
      sendQueueSize: SEND_QUEUE_SIZE,
      overflow: 'block'
    });
    return new LinkSender(bus, link, task.payloadBytes, task.total - 1);
  },

  async receive(_task, tally) {
    const bus = await newBus('bench-worker');
    bus.subscribe(
      TOPIC,
      (m) => {
        const p = m.payload as Uint8Array;
        // The marked last message, early: some were lost; report rather than wait forever.
        if (!tally.one(p, 0, p.length) && isMarked(p, 0)) tally.finish(p, 0, p.length);
      },
      { queueSize: QUEUE_SIZE }
    );
    await bus.connectParent();
    tally.ready();
  },

  roundTrip: {
    async openPinger(worker, task: RoundTripTask) {
      return new LinkPinger(await newBus('bench-parent'), task.payloadBytes).open(worker);
    },

    async echo(_task, ready) {
      const bus = await newBus('bench-worker');
      bus.subscribe(PING, (m) => {
        bus.publish(PONG, m.payload);
      });
      await bus.connectParent();
      ready();
    }
  }
};
