/**
 * What the bridge suite runs: the same workload through ringbus's NATS bridge and through the plain
 * `nats` client, against one nats-server. 64 B `Uint8Array` payloads on one subject.
 */

/** The subject published to; every pattern below captures it. */
export const SUBJECT = 'bench.x';
/** What buses export and import, and what the stream captures. */
export const PATTERN = 'bench.>';
/** The JetStream stream of the QoS 1 workload (file storage, 1 replica, recreated per run). */
export const STREAM = 'BENCH';
/**
 * The ringbus channel of QoS 1 subscriber `i`, hence the name of its durable consumer; the plain
 * consumer `i` uses it too. One channel per subscriber: in the fan-out each gets every message.
 */
export function channelOf(i: number): string {
  return `bench${i}`;
}
export { PAYLOAD_BYTES, payload } from '../durable/workload.js';

/** QoS 0: messages published per event-loop turn (the publisher then yields with setImmediate). */
export const BATCH = 1000;
/**
 * QoS 0: PING/PONG round trips (`nc.flush()`, ringbus `link.flush()`) the publisher keeps
 * unanswered, one started per batch: neither client pushes back on its own, so this bounds what
 * is in flight toward the server to about this many batches.
 */
export const MAX_FLUSHES = 4;
/**
 * QoS 1: publishes in flight (plain: `js.publish` calls awaiting their PubAck; ringbus:
 * `publishAsync` calls outstanding, and the bridge's `maxInFlight`, its own JetStream window).
 */
export const WINDOW = 256;
/** Subscriber connections of the fan-out workloads. */
export const FANOUT = 10;

export type WorkloadId = 'qos0' | 'fanout' | 'qos1' | 'qos1-fanout';

export interface Workload {
  /** For RINGBUS_BRIDGE_WORKLOADS. */
  readonly id: WorkloadId;
  /** Row label. */
  readonly title: string;
  readonly qos: 0 | 1;
  /** Subscriber connections; every one receives every message. */
  readonly subscribers: number;
}

/** Every workload, in table order. */
export const WORKLOADS: readonly Workload[] = [
  { id: 'qos0', title: 'QoS 0, 1 → 1', qos: 0, subscribers: 1 },
  { id: 'fanout', title: `QoS 0, 1 → ${FANOUT}`, qos: 0, subscribers: FANOUT },
  { id: 'qos1', title: 'QoS 1 over JetStream, 1 → 1', qos: 1, subscribers: 1 },
  {
    id: 'qos1-fanout',
    title: `QoS 1 over JetStream, 1 → ${FANOUT}`,
    qos: 1,
    subscribers: FANOUT
  }
];
