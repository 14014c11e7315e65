import * as z from 'zod/mini';
import { ErrorCode, RingbusError } from './errors.js';
import {
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_TOPICS,
  DEFAULT_QUEUE_SIZE,
  MAX_ACK_TIMEOUT_MS,
  MAX_ATTEMPTS,
  MAX_IN_FLIGHT,
  MAX_QUEUE_SIZE,
  MAX_TOPICS,
  MIN_ACK_TIMEOUT_MS,
  DEFAULT_FSYNC_INTERVAL_MS,
  DEFAULT_SEGMENT_BYTES,
  MAX_DURATION_MS,
  MAX_SEGMENT_BYTES,
  MIN_SEGMENT_BYTES
} from './limits.js';
import { codecSchema } from './codec-schema.js';
import { environment } from './link/transport.js';
import { LOG_LEVELS, type Logger, silentLogger } from './logger.js';
import { safeParse } from './safe-parse.js';
import type { ResolvedStoreOptions, StoreOptions } from './store.js';

/** What a full queue does with one more message. */
export type Overflow = 'drop-oldest' | 'drop-newest' | 'block';
/** Delivery guarantee: 0 at most once, 1 at least once (acked). */
export type Qos = 0 | 1;
/** When queued messages are delivered: on a microtask after publish, or only on `bus.flush()`. */
export type DispatchMode = 'microtask' | 'manual';

/** Options of `new Bus(options)`. */
export interface BusOptions {
  /**
   * This bus's id, used in request inboxes, stats and (later) link handshakes.
   * @defaultValue a random 12-character id
   */
  id?: string;
  /**
   * `'microtask'` delivers queued messages on a microtask after publish; `'manual'` delivers only
   * when `bus.flush()` is called (deterministic tick-based dispatch for game loops).
   * @defaultValue `'microtask'`
   */
  dispatch?: DispatchMode;
  /** Where ringbus logs; levels as pino's. @defaultValue a silent logger */
  logger?: Logger;
  /**
   * Concrete topics kept for routing and per-topic stats; past this the older half (in order of
   * creation) is forgotten (they are recreated on next use, so only their per-topic counters are
   * lost).
   * @defaultValue 10 000
   */
  maxTopics?: number;
  /**
   * A write-ahead log that makes named QoS 1 channels durable (Node only; docs/durability.md).
   * Recovery runs inside the constructor: the bus starts with every unacked message back in its
   * channel.
   */
  store?: StoreOptions;
}

/** Options of `bus.publish(topic, payload, options)`; checked by hand, not by zod (hot path). */
export interface PublishOptions {
  /** 0: at most once; 1: at least once, held until acked. @defaultValue 0 */
  qos?: Qos;
  /** Drop the message at dequeue once it is older than this. @defaultValue no expiry */
  ttlMs?: number;
  /** String headers carried with the message. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Keep this message as the topic's retained message, delivered to every new matching
   * subscriber. `retain: true` with an `undefined` payload clears it. @defaultValue false
   */
  retain?: boolean;
}

/** Options of `bus.subscribe(pattern, handler?, options)`. */
export interface SubscribeOptions {
  /**
   * Name of a shared queue: subscriptions with the same pattern and channel share one queue and
   * each message goes to one of them. Without it the subscription has a private queue.
   */
  channel?: string;
  /** Delivery guarantee for this queue; the effective QoS is min(publish, subscribe). @defaultValue 0 */
  qos?: Qos;
  /** Bound of the queue in messages (rounded up to a power of two). @defaultValue 1024 */
  queueSize?: number;
  /** Full-queue policy. @defaultValue `'drop-oldest'` for QoS 0, `'block'` for QoS 1 */
  overflow?: Overflow;
  /** Keep only the latest queued message per topic (QoS 0 only). @defaultValue false */
  conflate?: boolean;
  /** Unacked QoS 1 messages this consumer may hold. @defaultValue 1024 */
  maxInFlight?: number;
  /** Redeliver a QoS 1 message not acked within this time. @defaultValue 30 000 */
  ackTimeoutMs?: number;
  /** Deliveries before a QoS 1 message is dead-lettered to `$dlq.<topic>`. @defaultValue 5 */
  maxAttempts?: number;
  /**
   * Ack when the push handler returns (or its promise resolves), nack when it throws (rejects).
   * Pull consumers ack by hand unless this is set to true. @defaultValue true for push, false for pull
   */
  autoAck?: boolean;
}

/** Options of `bus.request(topic, payload, options)`. */
export interface RequestOptions {
  /** Reject with `ERR_TIMEOUT` when no reply came within this time. @defaultValue 5000 */
  timeoutMs?: number;
  /** Headers for the request message. */
  headers?: Readonly<Record<string, string>>;
}

/** Options of `subscription.pull(max, options)`. */
export interface PullOptions {
  /** Wait this long for the first message, then resolve with what there is. @defaultValue 0 (no wait) */
  timeoutMs?: number;
}

/** {@link BusOptions} after validation: every field present. */
export interface ResolvedBusOptions {
  readonly id: string;
  readonly dispatch: DispatchMode;
  readonly logger: Logger;
  readonly maxTopics: number;
  readonly store: ResolvedStoreOptions | undefined;
}

/** {@link SubscribeOptions} after validation. `channel` stays optional. */
export interface ResolvedSubscribeOptions {
  readonly channel: string | undefined;
  readonly qos: Qos;
  readonly queueSize: number;
  readonly overflow: Overflow;
  readonly conflate: boolean;
  readonly maxInFlight: number;
  readonly ackTimeoutMs: number;
  readonly maxAttempts: number;
  readonly autoAck: boolean;
}

const intIn = (min: number, max: number) => {
  const message = `must be an integer in [${min}, ${max}]`;
  return z.int(message).check(z.minimum(min, message), z.maximum(max, message));
};

const isLogger = (value: unknown): value is Logger =>
  typeof value === 'object' &&
  value !== null &&
  LOG_LEVELS.every((level) => typeof (value as Record<string, unknown>)[level] === 'function');

const nameSchema = z
  .string('must be a string')
  .check(
    z.regex(/^[^\s.*>]{1,256}$/u, 'must be 1-256 characters without whitespace, ".", "*" or ">"')
  );

const storeOptionsSchema = z.strictObject({
  dir: z.string('must be a directory path').check(z.minLength(1, 'must be a directory path')),
  fsync: z.optional(z.enum(['always', 'batch', 'never'], "must be 'always', 'batch' or 'never'")),
  fsyncIntervalMs: z.optional(intIn(0, MAX_DURATION_MS)),
  segmentBytes: z.optional(intIn(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES)),
  codec: z.optional(codecSchema)
});

/** @internal */
export const busOptionsSchema = z.strictObject({
  id: z.optional(nameSchema),
  dispatch: z.optional(z.enum(['microtask', 'manual'], "must be 'microtask' or 'manual'")),
  logger: z.optional(z.custom<Logger>(isLogger, `must have the methods ${LOG_LEVELS.join(', ')}`)),
  maxTopics: z.optional(intIn(16, MAX_TOPICS)),
  store: z.optional(storeOptionsSchema)
});

/** @internal */
export const subscribeOptionsSchema = z.strictObject({
  channel: z.optional(nameSchema),
  qos: z.optional(z.literal([0, 1], 'must be 0 or 1')),
  queueSize: z.optional(intIn(1, MAX_QUEUE_SIZE)),
  overflow: z.optional(
    z.enum(
      ['drop-oldest', 'drop-newest', 'block'],
      "must be 'drop-oldest', 'drop-newest' or 'block'"
    )
  ),
  conflate: z.optional(z.boolean('must be a boolean')),
  maxInFlight: z.optional(intIn(1, MAX_IN_FLIGHT)),
  ackTimeoutMs: z.optional(intIn(MIN_ACK_TIMEOUT_MS, MAX_ACK_TIMEOUT_MS)),
  maxAttempts: z.optional(intIn(1, MAX_ATTEMPTS)),
  autoAck: z.optional(z.boolean('must be a boolean'))
});

/**
 * Validates with `schema`; on failure throws `ERR_INVALID_OPTIONS` naming each bad field, its
 * allowed range and the value given.
 *
 * @internal
 */
export function parseWith<S extends z.ZodMiniType>(
  schema: S,
  input: unknown,
  what: string
): z.output<S> {
  const result = safeParse(schema, input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : what;
    if (issue.code === 'unrecognized_keys')
      return `${field} has unknown option(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    return `${field} ${issue.message} (got ${describe(issue.input)})`;
  });
  throw new RingbusError(ErrorCode.INVALID_OPTIONS, problems.join('; '), { cause: result.error });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null)
    return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** @internal */
export function parseBusOptions(input: unknown, randomId: () => string): ResolvedBusOptions {
  const o = parseWith(busOptionsSchema, input, 'bus options');
  return Object.freeze({
    id: o.id ?? randomId(),
    dispatch: o.dispatch ?? 'microtask',
    logger: o.logger ?? environment.logger() ?? silentLogger,
    maxTopics: o.maxTopics ?? DEFAULT_MAX_TOPICS,
    store:
      o.store === undefined
        ? undefined
        : Object.freeze({
            dir: o.store.dir,
            fsync: o.store.fsync ?? 'always',
            fsyncIntervalMs: o.store.fsyncIntervalMs ?? DEFAULT_FSYNC_INTERVAL_MS,
            segmentBytes: o.store.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
            codec: o.store.codec
          })
  });
}

/** @internal fills the defaults of validated subscribe options */
export function resolveSubscribeOptions(
  o: SubscribeOptions,
  isPull: boolean
): ResolvedSubscribeOptions {
  const qos = o.qos ?? 0;
  if (qos === 1 && o.conflate === true) {
    throw new RingbusError(
      ErrorCode.INVALID_OPTIONS,
      'conflate must be false with qos 1 (got true): conflation discards queued messages and a QoS 1 message is never discarded silently; use qos 0'
    );
  }
  return Object.freeze({
    channel: o.channel,
    qos,
    queueSize: o.queueSize ?? DEFAULT_QUEUE_SIZE,
    overflow: o.overflow ?? (qos === 1 ? 'block' : 'drop-oldest'),
    conflate: o.conflate ?? false,
    maxInFlight: o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    ackTimeoutMs: o.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
    maxAttempts: o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    autoAck: o.autoAck ?? !isPull
  });
}
