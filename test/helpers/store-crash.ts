import type { FsyncPolicy } from '../../src/store.js';
import { prng } from './prng.js';

/**
 * Shared by test/fault/store-crash.test.ts and its child test/fault/fixtures/store-publisher.ts:
 * the durable channel both open, the payload every logical id carries, and the IPC messages the
 * child reports.
 */

/** The topic the child publishes to, and the durable channel that holds it. */
export const CRASH_TOPIC = 'crash.x';
export const CRASH_PATTERN = 'crash.*';
export const CRASH_CHANNEL = 'c';

/**
 * The channel's options, the same on every open (a durable channel keeps those it was created
 * with): room for every message a test publishes, an ack timeout no test reaches, and enough
 * attempts that nothing is dead-lettered.
 */
export const CRASH_CHANNEL_OPTIONS = {
  channel: CRASH_CHANNEL,
  qos: 1,
  queueSize: 65536,
  maxInFlight: 65536,
  ackTimeoutMs: 600_000,
  maxAttempts: 1000
} as const;

/** The topic map of the buses of the crash test. */
export interface CrashTopics {
  [CRASH_TOPIC]: CrashPayload;
}

/** What a child does: publish only, or also consume (ack, nack, hold) part of the backlog. */
export type CrashMode = 'publish' | 'consume';

/** What a child is told to do, in its `start` message. */
export interface PublisherArgs {
  dir: string;
  trial: number;
  fsync: FsyncPolicy;
  segmentBytes: number;
  mode: CrashMode;
}

/** The logical id of the `n`th message trial `trial` publishes. */
export function crashId(trial: number, n: number): string {
  return `${trial}:${n}`;
}

/** The payload that carries `id`: its body is derived from the id, so damage shows. */
export interface CrashPayload {
  id: string;
  body: string;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-_ ';

/** The payload of `id`: a body of 0–1499 characters drawn from a PRNG seeded by the id. */
export function crashPayload(id: string): CrashPayload {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  const next = prng(h);
  const length = Math.floor(next() * 1500);
  let body = '';
  for (let i = 0; i < length; i++) body += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return { id, body };
}

/** What a consuming child does with a message it pulls, by id (the same in every trial). */
export type ConsumeAction = 'ack' | 'hold' | 'nack';

/**
 * What the child of trial `trial` does with a message. Half of the ids are acked at once. The
 * process that published the others holds them (pulls them and never settles them), a quarter of
 * all ids after a nack on their first attempt; later processes (they come back after the restart)
 * ack them, except an eighth of all ids, held by every process. So ACK and NACK records interleave
 * with the messages, whole segments end up acked (compaction deletes them) and old ones keep an
 * eighth live (compaction rewrites them).
 */
export function consumeAction(id: string, attempt: number, trial: number): ConsumeAction {
  const colon = id.indexOf(':');
  const kind = Number(id.slice(colon + 1)) % 8;
  if (kind < 4) return 'ack';
  if (Number(id.slice(0, colon)) !== trial) return kind === 7 ? 'hold' : 'ack';
  return kind >= 6 && attempt === 1 ? 'nack' : 'hold';
}

/** The recovery a child found when it opened the store. */
export interface RecoveryReport {
  messages: number;
  truncatedBytes: number;
  damaged: unknown[];
}

/** A message the child received (consume mode), reported before it acts on it. */
export interface ReceivedReport {
  id: string;
  attempt: number;
  action: ConsumeAction;
  /** The payload and the `id` header arrived as published. */
  intact: boolean;
}

/** The IPC messages of the child, in the order it sends them. */
export type PublisherMessage =
  /** Loaded its modules; waits for `{ type: 'start', args }`. */
  | { type: 'loaded' }
  /** Opened the store (sent before subscribing). */
  | { type: 'opened'; recovery: RecoveryReport }
  /** About to publish ids `trial:from` … `trial:(to − 1)`; the child waits until this is sent. */
  | { type: 'attempting'; from: number; to: number }
  /**
   * These ids' `publishAsync` resolved. `acksCovered`: the child had called `ack()` on the first
   * that many messages it reported acking before it published the last of them, so their ACK
   * records are durable too.
   */
  | {
      type: 'resolved';
      ns: number[];
      acksCovered: number;
      /** The store's compaction so far (stats().store). */
      segmentsDeleted: number;
      segmentsRewritten: number;
    }
  /** Pulled these; acks, nacks or holds them only once this is sent. */
  | { type: 'received'; messages: ReceivedReport[] }
  /** Something that must not happen (a rejected publish, an exception). */
  | { type: 'failed'; message: string };
