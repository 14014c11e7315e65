/**
 * The QoS 1 workload's stream, kept by the suite on an admin connection of its own: recreated
 * empty before every QoS 1 run (its durable consumer goes with it), and absent during QoS 0 runs,
 * where a stream capturing the subject would make the server store every core publish too.
 */
import type { JetStreamManager, NatsConnection } from 'nats';
import type { Server } from './contender.js';
import { PATTERN, STREAM, type Workload } from './workload.js';

export interface StreamKeeper {
  /** Puts the stream in the state `w` runs on. */
  prepare(w: Workload): Promise<void>;
  close(): Promise<void>;
}

async function remove(jsm: JetStreamManager): Promise<void> {
  const exists = await jsm.streams.info(STREAM).then(
    () => true,
    () => false
  );
  if (exists) await jsm.streams.delete(STREAM);
}

export async function streamKeeper(server: Server): Promise<StreamKeeper> {
  const { RetentionPolicy, StorageType, connect } = await import('nats');
  const nc: NatsConnection = await connect({
    servers: `${server.host}:${server.port}`,
    reconnect: false
  });
  const jsm = await nc.jetstreamManager();
  return {
    async prepare(w) {
      await remove(jsm);
      if (w.qos === 0) return;
      // What the bridge creates from `streams: [{ name, subjects }]` (adapters/nats/nats-bridge.ts).
      await jsm.streams.add({
        name: STREAM,
        subjects: [PATTERN],
        num_replicas: 1,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits
      });
    },
    async close() {
      await remove(jsm).catch(() => undefined);
      await nc.close();
    }
  };
}
