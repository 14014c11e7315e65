import { ErrorCode, RingbusError } from './errors.js';
import { MAX_DURATION_MS } from './limits.js';
import { CLOCK_EPOCH } from './clock.js';
import type { Qos } from './options.js';

/** Frozen empty headers shared by every message published without headers. */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Where a QoS 1 delivery is in its life cycle. @internal */
export const MessageState = {
  QUEUED: 0,
  /** Delivered and in its queue's in-flight list (ack timeout running). */
  IN_FLIGHT: 1,
  SETTLED: 2,
  /** Delivered to a push handler that acks by returning; listed only if it returns a promise. */
  IN_HANDLER: 3
} as const;
/** @internal */
export type MessageState = (typeof MessageState)[keyof typeof MessageState];

/** What settles a QoS 1 message: the queue that delivered it. @internal */
export interface MessageOwner {
  ack(msg: ReliableMessage): boolean;
  nack(msg: ReliableMessage, delayMs: number): boolean;
}

/** What answers `respond()`: the bus the request came through. @internal */
export interface Responder {
  respondTo(replyTo: string, payload: unknown): boolean;
}

/** The consumer holding an in-flight message: credit accounting, and its queue settles it. @internal */
export interface MessageConsumer {
  inFlight: number;
  readonly queue: MessageOwner;
}

/** Where a request's reply goes; one per request, shared by its deliveries. @internal */
export interface ReplyTarget {
  readonly topic: string;
  readonly responder: Responder;
}

/**
 * The link a message arrived through: it is never sent back there, and a QoS 1 delivery it made
 * is acked back to it once settled here. @internal
 */
export interface Upstream {
  /** The peer's delivery `tag` was acked (or dead-lettered, or expired) here. */
  settled(tag: number): void;
  /** The delivery `tag` was discarded here unconsumed (channel emptied or deleted): the sender may offer it elsewhere. */
  released?(tag: number): void;
  /** Shared metas of its plain messages (no headers, TTL, reply or tag), by hop count. */
  readonly plainMetas: (PublishMeta | undefined)[];
  /** Retained messages do not cross it (a NATS bridge): its queues get no replay of them. */
  readonly skipsRetained?: boolean;
}

/**
 * What most publishes share: headers, expiry and reply target; for a message that came over a
 * link, where from. Plain publishes all use {@link PLAIN}, so the envelope allocated per publish
 * stays small.
 *
 * @internal
 */
export class PublishMeta {
  readonly headers: Readonly<Record<string, string>>;
  /** Bus clock ms (see clock.ts) after which the message is dropped at dequeue; 0 = never. */
  readonly expiresAt: number;
  readonly reply: ReplyTarget | undefined;
  /** The link it arrived through (never sent back there), or undefined when published here. */
  readonly origin: Upstream | undefined;
  /** Links crossed so far. */
  readonly hops: number;
  /** The origin's delivery tag of a QoS 1 message (0: nothing to ack upstream). */
  readonly tag: number;

  constructor(
    headers: Readonly<Record<string, string>>,
    expiresAt: number,
    reply: ReplyTarget | undefined,
    origin: Upstream | undefined = undefined,
    hops = 0,
    tag = 0
  ) {
    this.headers = headers;
    this.expiresAt = expiresAt;
    this.reply = reply;
    this.origin = origin;
    this.hops = hops;
    this.tag = tag;
  }
}

/** The meta of a publish without headers, TTL or reply. @internal */
export const PLAIN = new PublishMeta(NO_HEADERS, 0, undefined);

/**
 * One delivery of a published message. QoS 0 subscribers of one publish share one Message; each
 * QoS 1 queue gets its own (its ack state is per queue). A redelivery is a new Message with
 * `attempt + 1`: a Message a handler holds never changes under it.
 *
 * @remarks The envelope is the one allocation per publish, so it holds six fields, all small
 * integers or references (a `Date.now()` value would be a boxed double); the rest is shared
 * by the publish (headers, expiry, reply target) or derived.
 * @typeParam P - the payload type
 */
export class Message<P = unknown> {
  /** The concrete topic it was published on. */
  readonly topic: string;
  /** The payload, by reference in process. */
  readonly payload: P;
  /** Per-bus sequence number of the publish; shared by every delivery of that publish. */
  readonly id: number;
  /** 1 on first delivery, +1 on every redelivery. */
  readonly attempt: number;
  /** @internal bus clock ms at publish */
  readonly sentAt: number;
  /** @internal */
  readonly meta: PublishMeta;

  /** @internal messages are made by the bus */
  constructor(
    topic: string,
    payload: P,
    id: number,
    attempt: number,
    sentAt: number,
    meta: PublishMeta
  ) {
    this.topic = topic;
    this.payload = payload;
    this.id = id;
    this.attempt = attempt;
    this.sentAt = sentAt;
    this.meta = meta;
  }

  /** Effective delivery guarantee: min(publish QoS, subscription QoS). */
  get qos(): Qos {
    return 0;
  }

  /** Epoch ms at publish (1 ms resolution; the bus reads the clock once per burst). */
  get publishedAt(): number {
    return CLOCK_EPOCH + this.sentAt;
  }

  /** String headers; a shared frozen empty object when none were given. */
  get headers(): Readonly<Record<string, string>> {
    return this.meta.headers;
  }

  /** The reply topic when this is a request; `respond()` publishes there. */
  get replyTo(): string | undefined {
    return this.meta.reply?.topic;
  }

  /** @internal bus clock ms after which it is dropped at dequeue; 0 = never */
  get expiresAt(): number {
    return this.meta.expiresAt;
  }

  /**
   * Acknowledges a QoS 1 delivery: it will not be redelivered.
   *
   * @returns true if this call settled it; false for QoS 0, or when it was already acked, nacked,
   * timed out (a redelivery is under way) or its subscription is gone
   */
  ack(): boolean {
    return false;
  }

  /**
   * Rejects a QoS 1 delivery: it is redelivered with `attempt + 1` after `delayMs`, or
   * dead-lettered once `maxAttempts` deliveries failed.
   *
   * @param delayMs - wait before it is queued again @defaultValue 0
   * @returns true if this call settled it (see {@link Message.ack})
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` when `delayMs` is outside [0, one day]
   */
  nack(delayMs = 0): boolean {
    void delayMs; // a QoS 0 delivery has nothing to redeliver
    return false;
  }

  /**
   * Answers a request: publishes `payload` on {@link Message.replyTo}.
   *
   * @param payload - the reply
   * @returns false when this message is not a request or nobody waits for the reply any more
   */
  respond(payload: unknown): boolean {
    const reply = this.meta.reply;
    return reply !== undefined && reply.responder.respondTo(reply.topic, payload);
  }

  /** @internal the same message for another queue or attempt (QoS 1 state is per delivery) */
  copy(attempt: number, qos: Qos): Message<P> {
    return qos === 0
      ? new Message(this.topic, this.payload, this.id, attempt, this.sentAt, this.meta)
      : new ReliableMessage(this.topic, this.payload, this.id, attempt, this.sentAt, this.meta);
  }
}

/**
 * A QoS 1 delivery: a {@link Message} plus its ack state and its links in the queue's in-flight
 * list (intrusive, so acking allocates nothing). Every message with `qos === 1` is one.
 *
 * @internal
 */
export class ReliableMessage<P = unknown> extends Message<P> {
  /** Consumer it is in flight with; its queue holds the ack state. */
  consumer: MessageConsumer | undefined = undefined;
  /** Ack deadline while in flight. */
  deadline = 0;
  prev: ReliableMessage | undefined = undefined;
  next: ReliableMessage | undefined = undefined;
  state: MessageState = MessageState.QUEUED;

  // Explicit rather than the implicit `super(...arguments)`, which V8 does not inline here
  // (measured: the implicit one made a QoS 1 publish about 20 ns slower).
  constructor(
    topic: string,
    payload: P,
    id: number,
    attempt: number,
    sentAt: number,
    meta: PublishMeta
  ) {
    super(topic, payload, id, attempt, sentAt, meta);
  }

  override get qos(): Qos {
    return 1;
  }

  override ack(): boolean {
    return this.isUnsettled() && this.consumer!.queue.ack(this);
  }

  override nack(delayMs = 0): boolean {
    if (!(delayMs >= 0 && delayMs <= MAX_DURATION_MS)) {
      throw new RingbusError(
        ErrorCode.INVALID_OPTIONS,
        `delayMs must be a number in [0, ${MAX_DURATION_MS}] (got ${String(delayMs)})`
      );
    }
    return this.isUnsettled() && this.consumer!.queue.nack(this, delayMs);
  }

  private isUnsettled(): boolean {
    return this.state === MessageState.IN_FLIGHT || this.state === MessageState.IN_HANDLER;
  }
}
