/**
 * ringbus over its NATS bridge, as an application deploys it: a publishing bus bridged with
 * `export: ['bench.>']`, and each subscriber a bus of its own (its own NATS connection) bridged
 * with `import: ['bench.>']`. QoS 0: the publisher calls `bus.publish` (a full export queue,
 * `overflow: 'block'`, makes it throw ERR_QUEUE_FULL and that message waits in `publishAsync`);
 * the subscriber's handler counts. QoS 1: the publisher calls `publishAsync(…, { qos: 1 })`, the
 * bridge stores each message in JetStream (at most WINDOW awaiting their PubAck, its
 * `maxInFlight`) and acks it locally then; each subscribing bus has a named QoS 1 channel of its
 * own (channelOf), which the bridge feeds from the durable JetStream consumer of that name, and a
 * handler that returns acks the message in JetStream.
 */
import type { Bus, Link, Message, NatsBridgeOptions } from '../../adapters/node.js';
import { isQueueFull } from '../net/peers/ringbus.js';
import { type BridgeClient, Closers, type Rig, type Server } from './contender.js';
import {
  PATTERN,
  PAYLOAD_BYTES,
  STREAM,
  SUBJECT,
  WINDOW,
  type Workload,
  channelOf,
  payload
} from './workload.js';

const QOS1 = { qos: 1 } as const;
/** The QoS 1 stream, as a user lists it; the suite creates the same one before each run. */
const STREAMS: NatsBridgeOptions['streams'] = [{ name: STREAM, subjects: [PATTERN] }];

async function bridged(
  server: Server,
  options: NatsBridgeOptions,
  closers: Closers,
  setUp: (bus: Bus) => void = () => undefined
): Promise<{ bus: Bus; link: Link }> {
  const { Bus } = await import('../../adapters/node.js');
  const bus = new Bus();
  closers.add(() => bus.close());
  setUp(bus); // before connecting, so the bridge sees a channel from the start
  const link = await bus.connect(`nats://${server.host}:${server.port}`, {
    ...options,
    reconnect: false
  });
  await link.flush(); // channel feeds consuming, and the server has every SUB
  return { bus, link };
}

async function open(server: Server, w: Workload): Promise<Rig> {
  const closers = new Closers();
  let received = 0;
  const count = (msg: Message): void => {
    if (msg.topic === SUBJECT && (msg.payload as Uint8Array).length === PAYLOAD_BYTES) received++;
  };
  try {
    const streams = w.qos === 1 ? STREAMS : undefined;
    const { bus, link } = await bridged(
      server,
      { export: [PATTERN], maxInFlight: WINDOW, streams },
      closers
    );
    for (let i = 0; i < w.subscribers; i++) {
      await bridged(server, { import: [PATTERN], streams }, closers, (b) => {
        if (w.qos === 1) b.subscribe(SUBJECT, count, { channel: channelOf(i), qos: 1 });
        else b.subscribe(SUBJECT, count);
      });
    }
    const bytes = payload();
    const rig = {
      flush: () => link.flush(),
      received: () => received,
      close: () => closers.close()
    };
    if (w.qos === 1) return { ...rig, send: () => bus.publishAsync(SUBJECT, bytes, QOS1) };
    return {
      ...rig,
      send: () => {
        try {
          bus.publish(SUBJECT, bytes);
          return undefined;
        } catch (err) {
          if (!isQueueFull(err)) throw err;
          return bus.publishAsync(SUBJECT, bytes);
        }
      }
    };
  } catch (err) {
    await closers.close();
    throw err;
  }
}

export const ringbus: BridgeClient = { id: 'ringbus', name: 'ringbus over NATS', open };
