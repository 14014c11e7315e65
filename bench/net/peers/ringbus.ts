/**
 * ringbus: this repository's own links (adapters/socket.ts, and adapters/websocket.ts in W6–W10),
 * QoS 0 and QoS 1. The publisher is a bus that listens; every subscriber connection is a bus of
 * its own that subscribes locally and connects, so its subscription reaches the publisher as
 * interest (QoS 0) or as a subscription by id (QoS 1, a private queue whose proxy on the
 * publisher holds the messages until acked).
 *
 * Flow control is the bus's own, no window of ours: the publisher listens with
 * `overflow: 'block'`, so each link's send queue (QoS 0) or the QoS 1 proxy queue (at most the
 * subscriber's `queueSize`) fills while the socket is behind, `publish()` then throws
 * ERR_QUEUE_FULL without enqueuing, and the message waits in `publishAsync()` for room. Nothing
 * is dropped by design; the loss column would show it if something were.
 */
import { readFileSync } from 'node:fs';
import type { Bus, Listener, SubscribeOptions } from '../../../adapters/node.js';
import { immediate } from '../harness.js';
import { type Endpoint, type NetPeer, type Publisher, type Qos, TOPIC } from '../peer.js';

/**
 * QoS 0: messages a link's send queue holds while its socket is behind (the default); past it
 * `publish` blocks. A flood of 1 KiB payloads parks up to 8 MiB there.
 */
const SEND_QUEUE_SIZE = 8192;
/** QoS 1: the subscriber's queue and maxInFlight, hence the publisher's credit (unacked in flight). */
const QOS1_QUEUE_SIZE = 4096;
/**
 * QoS 0 subscriber queue: one socket read (64 KiB) holds about 800 frames of 64 B, all pushed
 * before the next dispatch; drop-oldest like any private subscription, so a too-small queue
 * would show as loss.
 */
const QOS0_QUEUE_SIZE = 4096;

function url(endpoint: Endpoint): string {
  if ('path' in endpoint) return `unix://${endpoint.path}`;
  const where = `${endpoint.host}:${String(endpoint.port)}`;
  return endpoint.webSocket === true ? `ws://${where}/bus` : `tcp://${where}`;
}

function endpointOf(listenerUrl: string): Endpoint {
  const u = new URL(listenerUrl);
  if (u.protocol === 'unix:') return { path: decodeURIComponent(u.pathname) };
  return { host: u.hostname, port: Number(u.port), webSocket: u.protocol === 'ws:' };
}

/** `ErrorCode.QUEUE_FULL`, without loading ringbus in every child of the other peers. */
export function isQueueFull(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'ERR_QUEUE_FULL';
}

class RingbusPublisher implements Publisher {
  /** A message `publish` refused (a 'block' queue was full): `drain` publishes it. */
  private pending: Buffer | undefined;
  private readonly options: { qos: Qos };

  constructor(
    private readonly bus: Bus,
    private readonly listener: Listener,
    qos: Qos,
    readonly endpoint: Endpoint
  ) {
    this.pending = undefined;
    this.options = { qos };
  }

  send(payload: Buffer): boolean {
    try {
      this.bus.publish(TOPIC, payload, this.options);
      return true;
    } catch (err) {
      if (!isQueueFull(err)) throw err;
      this.pending = payload;
      return false;
    }
  }

  async drain(): Promise<void> {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    await this.bus.publishAsync(TOPIC, p, this.options);
  }

  /**
   * Waits until every queue is empty and every QoS 1 delivery acked, then for a ping round trip
   * on each link (the writes before it reached the peer).
   */
  async flush(): Promise<void> {
    await this.drain();
    for (;;) {
      const idle = this.bus.stats().queues.every((q) => q.depth === 0 && q.inFlight === 0);
      if (idle) break;
      await immediate();
    }
    await Promise.all(this.listener.links.map((l) => l.flush()));
  }

  async close(): Promise<void> {
    await this.listener.close();
    await this.bus.close();
  }
}

function ringbusVersion(): string {
  // build/bench/net/peers/ringbus.js → the repository's package.json
  const file = new URL('../../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

export const ringbus: NetPeer = {
  name: 'ringbus',
  hasQos1: true,
  transports: ['tcp', 'unix', 'ws'],

  available: () => Promise.resolve(undefined),

  versions: () =>
    Promise.resolve({ ringbus: `${ringbusVersion()} (this tree)`, node: process.version }),

  async openPublisher(endpoint, qos) {
    const { Bus } = await import('../../../adapters/node.js');
    const bus = new Bus();
    const listener = await bus.listen(url(endpoint), {
      sendQueueSize: SEND_QUEUE_SIZE,
      overflow: 'block'
    });
    return new RingbusPublisher(bus, listener, qos, endpointOf(listener.url));
  },

  async openSubscriber(endpoint, qos, onMessage) {
    const { Bus } = await import('../../../adapters/node.js');
    const bus = new Bus();
    const options: SubscribeOptions =
      qos === 1
        ? { qos: 1, queueSize: QOS1_QUEUE_SIZE, maxInFlight: QOS1_QUEUE_SIZE, overflow: 'block' }
        : { queueSize: QOS0_QUEUE_SIZE };
    // maxInFlight is the credit the publisher's bus gets (unacked messages on the wire): as deep
    // as the queue, like MQTT's receive maximum; the default (1024) pipelines 15 % less here.
    // Returning acks a QoS 1 message.
    bus.subscribe(TOPIC, (msg) => onMessage(msg.payload as Uint8Array), options);
    // Resolves once the publisher registered the subscription.
    await bus.connect(url(endpoint), { reconnect: false });
    return { close: () => bus.close() };
  }
};
