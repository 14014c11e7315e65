/**
 * What the parent and the child processes say to each other. The task goes in argv (JSON), then
 * the child sends one {@link ReadyMessage}; after that every {@link Request} gets exactly one
 * {@link Reply} carrying the same `id`.
 */
import type { Endpoint, Qos } from './peer.js';

export type Role = 'publisher' | 'subscriber' | 'broker';

/** argv[2] of a child, as JSON. */
export interface ChildTask {
  role: Role;
  peer: string;
  /** Broker address, or the address a brokerless publisher listens on. */
  endpoint?: Endpoint;
  qos: Qos;
  /** Subscriber connections this child opens. */
  connections: number;
  payloadBytes: number;
  /** The parent's {@link monoNs} when it forked the child: the child checks the clock is shared. */
  parentNs: number;
  /** The child exits by itself after this long, whatever happens to the parent. */
  lifetimeMs: number;
}

export interface ReadyMessage {
  type: 'ready';
  /** Where subscribers connect (publisher) or where the broker listens (broker). */
  endpoint?: Endpoint;
}

export type Request =
  /** Publisher: start or stop sending PROBE messages every few ms. */
  | { type: 'probe'; on: boolean }
  /**
   * Publisher: send as fast as flow control allows for `durationMs` or until `maxMessages` are
   * sent, whichever comes first, then one LAST message.
   */
  | { type: 'flood'; durationMs: number; maxMessages: number }
  /** Publisher: send `ratePerSec` timestamped messages per second for `durationMs`. */
  | { type: 'paced'; ratePerSec: number; durationMs: number }
  /** Subscriber: answer once every connection has seen a PROBE. */
  | { type: 'primed' }
  /** Subscriber: zero the counters; keep room for `samples` latency samples (0 = none). */
  | { type: 'reset'; samples: number }
  /** Subscriber: counters so far, and the latency samples when asked. */
  | { type: 'stats'; withSamples: boolean }
  | { type: 'close' };

export interface SendReport {
  sent: number;
  /** Shared-clock ns just before the first message. */
  startNs: number;
  /** Shared-clock ns after the last send call (before the final flush). */
  endNs: number;
}

export interface SubscriberStats {
  received: number;
  /** Shared-clock ns of (about) the last delivery; 0 when nothing arrived. */
  lastNs: number;
  /** One-way latencies in ns, when asked for. */
  samples?: number[];
}

export type Reply = { id: number } & (
  { ok: true; value: SendReport | SubscriberStats | null } | { ok: false; error: string }
);

export type Envelope = { id: number } & Request;
