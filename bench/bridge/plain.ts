/**
 * The baseline: the npm `nats` v2 client as an application uses it directly. One connection
 * publishes (core `publish` at QoS 0, `js.publish` awaiting the PubAck at QoS 1); each subscriber
 * is a connection of its own with a callback subscription (QoS 0), or with a durable pull consumer
 * of its own read with `consume()` and acked per message (QoS 1). The consumer is configured as the bridge
 * configures a channel's (adapters/nats/channel-feed.ts), so both sides ask JetStream the same.
 * `plain` uses the client's defaults; `plainNoTraces` also sets `noAsyncTraces`, as the bridge
 * does (every JetStream publish otherwise captures two stack traces), for a like-for-like row.
 */
import type { ConnectionOptions, NatsConnection } from 'nats';
import { DEFAULT_ACK_TIMEOUT_MS, DEFAULT_QUEUE_SIZE } from '../../src/limits.js';
import { type BridgeClient, Closers, type Rig, type Server } from './contender.js';
import { PAYLOAD_BYTES, STREAM, SUBJECT, type Workload, channelOf, payload } from './workload.js';

/** As channel-feed.ts: a pull keeps this many messages requested; each pull expires after this. */
const PULL_BATCH = 256;
const PULL_EXPIRES_MS = 2000;

async function connectTo(
  server: Server,
  closers: Closers,
  tuning: ConnectionOptions
): Promise<NatsConnection> {
  const { connect } = await import('nats');
  const nc = await connect({
    ...tuning,
    servers: `${server.host}:${server.port}`,
    reconnect: false
  });
  closers.add(() => nc.close());
  return nc;
}

/** The durable pull consumer `name` on the stream, as the bridge creates one for a QoS 1 channel. */
async function consumeAcked(
  nc: NatsConnection,
  name: string,
  closers: Closers,
  count: (subject: string, data: Uint8Array) => void
): Promise<void> {
  const { AckPolicy, DeliverPolicy, nanos } = await import('nats');
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(STREAM, {
    durable_name: name,
    filter_subject: SUBJECT,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(DEFAULT_ACK_TIMEOUT_MS),
    max_ack_pending: DEFAULT_QUEUE_SIZE,
    max_deliver: -1,
    deliver_policy: DeliverPolicy.New
  });
  const consumer = await nc.jetstream().consumers.get(STREAM, name);
  const messages = await consumer.consume({
    max_messages: PULL_BATCH,
    expires: PULL_EXPIRES_MS,
    callback: (m) => {
      m.ack();
      count(m.subject, m.data);
    }
  });
  closers.add(() => messages.close());
}

async function open(server: Server, w: Workload, tuning: ConnectionOptions): Promise<Rig> {
  const closers = new Closers();
  let received = 0;
  // Reads what a ringbus handler is handed too (the subject and the data), as any handler of a
  // wildcard or multi-subject subscription must.
  const count = (subject: string, data: Uint8Array): void => {
    if (subject === SUBJECT && data.length === PAYLOAD_BYTES) received++;
  };
  try {
    const pub = await connectTo(server, closers, tuning);
    const bytes = payload();
    const rig = {
      flush: () => pub.flush(),
      received: () => received,
      close: () => closers.close()
    };
    if (w.qos === 1) {
      for (let i = 0; i < w.subscribers; i++) {
        const nc = await connectTo(server, closers, tuning);
        await consumeAcked(nc, channelOf(i), closers, count);
      }
      const js = pub.jetstream();
      return { ...rig, send: () => js.publish(SUBJECT, bytes) };
    }
    for (let i = 0; i < w.subscribers; i++) {
      const nc = await connectTo(server, closers, tuning);
      nc.subscribe(SUBJECT, {
        callback: (err, m) => {
          if (err === null) count(m.subject, m.data);
        }
      });
      await nc.flush(); // the server has the SUB once the PONG is back
    }
    return {
      ...rig,
      send: () => {
        pub.publish(SUBJECT, bytes);
        return undefined;
      }
    };
  } catch (err) {
    await closers.close();
    throw err;
  }
}

export const plain: BridgeClient = {
  id: 'plain',
  name: 'nats.js (plain)',
  open: (server, w) => open(server, w, {})
};

export const plainNoTraces: BridgeClient = {
  id: 'plain-no-traces',
  name: 'nats.js, noAsyncTraces',
  open: (server, w) => open(server, w, { noAsyncTraces: true })
};
