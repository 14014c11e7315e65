/**
 * NATS JetStream: Debian's `nats-server -js` with its store in a fresh temporary directory (the
 * same disk as ringbus's store), a stream on SUBJECT with work-queue retention (a message is
 * removed once acked, as a ringbus channel forgets it), and the npm `nats` v2 client in this
 * process: one connection publishes with `js.publish` (each resolves with the server's PubAck), a
 * second runs a durable pull consumer (`consumer.consume()`, explicit ack of every message).
 *
 * File storage is the contender. nats-server 2.9 sends a PubAck once the message is written to
 * its file, not fsynced: it fsyncs every two minutes and has no option to sync sooner. Memory
 * storage runs the same client against a stream that never touches the disk: what is left of
 * the figure without the disk.
 */
import { missingPackage } from '../net/harness.js';
import { loopbackArgs, missingNatsServer, startNatsServer } from '../net/nats-server.js';
import type { DurableContender, DurableSession } from './contender.js';
import { MAX_IN_FLIGHT, SUBJECT, WINDOW, payload } from './workload.js';

const STREAM = 'BENCH';
const DURABLE = 'work';

type Storage = 'file' | 'memory';

async function open(storage: Storage): Promise<DurableSession> {
  const { AckPolicy, RetentionPolicy, StorageType, connect } = await import('nats');
  const broker = await startNatsServer((port, dir) => [...loopbackArgs(port), '-js', '-sd', dir]);
  const closers: (() => Promise<unknown>)[] = [() => broker.stop()];
  const close = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    if ('path' in broker.endpoint) throw new Error('nats-server listens on TCP');
    const servers = `${broker.endpoint.host}:${broker.endpoint.port}`;
    const pub = await connect({ servers, reconnect: false });
    closers.push(() => pub.close());
    const sub = await connect({ servers, reconnect: false });
    closers.push(() => sub.close());

    const jsm = await pub.jetstreamManager();
    await jsm.streams.add({
      name: STREAM,
      subjects: [SUBJECT],
      storage: storage === 'file' ? StorageType.File : StorageType.Memory,
      retention: RetentionPolicy.Workqueue
    });
    await jsm.consumers.add(STREAM, {
      durable_name: DURABLE,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: MAX_IN_FLIGHT
    });
    let delivered = 0;
    const consumer = await sub.jetstream().consumers.get(STREAM, DURABLE);
    const messages = await consumer.consume({
      max_messages: WINDOW,
      callback: (m) => {
        m.ack();
        delivered++;
      }
    });
    closers.push(() => messages.close());

    const js = pub.jetstream();
    const bytes = payload();
    return { publish: () => js.publish(SUBJECT, bytes), delivered: () => delivered, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** JetStream with its stream in `storage`. */
export function jetstream(storage: Storage): DurableContender {
  return {
    id: storage === 'file' ? 'jetstream' : 'jetstream-memory',
    name: `NATS JetStream, ${storage} storage`,
    available: async () => missingNatsServer() ?? (await missingPackage('nats')),
    open: () => open(storage)
  };
}
