/**
 * ringbus contenders: a bus wired to a {@link Shape}, published through a pre-resolved
 * `bus.topic()` handle in bursts of {@link BURST} (the default queueSize, so nothing overflows).
 */
import { Bus } from '../src/index.js';
import type { Message, PublishOptions, Qos, SubscribeOptions } from '../src/index.js';
import type { Contender } from './harness.js';
import type { Library } from './peers.js';
import {
  BURST,
  PAYLOAD_MASK,
  type Payload,
  type Shape,
  type Sink,
  newSink,
  otherTopicNames,
  payloads,
  strayHandler
} from './shape.js';

export interface RingbusMode {
  /** 'manual': publish a burst, then `bus.flush()`. 'microtask': publish a burst, then yield once. */
  dispatch: 'manual' | 'microtask';
  /** Subscription and publish QoS. QoS 1 handlers are sync, so autoAck acks on return. */
  qos: Qos;
}

/** Every topic carries a {@link Payload}. */
export type PayloadMap = Record<string, Payload>;

const QOS1_PUBLISH: PublishOptions = { qos: 1 };
/** Consumers of a shared shape join this channel. */
const CHANNEL = 'workers';

/** One distinct handler closure per subscription; it reads the payload, as a peer's does. */
function messageHandler(sink: Sink): (m: Message<Payload>) => void {
  return (m) => {
    sink.count++;
    sink.last = m.payload.seq;
  };
}

function label(mode: RingbusMode): string {
  return `ringbus ${mode.dispatch === 'manual' ? 'manual+flush' : 'microtask'}${mode.qos === 1 ? ' QoS 1' : ''}`;
}

/** A bus subscribed as `shape` says; returns the sink its handlers count into. */
export function wireBus(bus: Bus<PayloadMap>, shape: Shape, qos: Qos): Sink {
  const sink = newSink();
  const options: SubscribeOptions | undefined =
    shape.shared || qos === 1
      ? { ...(shape.shared ? { channel: CHANNEL } : {}), ...(qos === 1 ? { qos } : {}) }
      : undefined;
  for (let i = 0; i < shape.consumers; i++)
    bus.subscribe(shape.pattern, messageHandler(sink), options);
  for (const t of otherTopicNames(shape)) bus.subscribe(t, strayHandler(sink));
  return sink;
}

/** Publishes `count` messages on `topic` in bursts, flushing (manual) or yielding (microtask) after each. */
export function ringbus(mode: RingbusMode): Library {
  const name = label(mode);
  return {
    name,
    async: false,
    make(shape: Shape, n: number): Contender {
      const bus = new Bus<PayloadMap>({ dispatch: mode.dispatch });
      const sink = wireBus(bus, shape, mode.qos);
      const t = bus.topic(shape.topic);
      const opts = mode.qos === 1 ? QOS1_PUBLISH : undefined;
      const run =
        mode.dispatch === 'manual'
          ? (count: number): void => {
              for (let i = 0; i < count;) {
                const end = Math.min(count, i + BURST);
                for (; i < end; i++) t.publish(payloads[i & PAYLOAD_MASK], opts);
                bus.flush();
              }
            }
          : async (count: number): Promise<void> => {
              for (let i = 0; i < count;) {
                const end = Math.min(count, i + BURST);
                for (; i < end; i++) t.publish(payloads[i & PAYLOAD_MASK], opts);
                // The dispatcher's drain was queued at the burst's first publish, before this
                // continuation: one microtask hop delivers the whole burst.
                await Promise.resolve();
              }
            };
      return { name, run, delivered: () => sink.count, n };
    }
  };
}
