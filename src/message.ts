import type { Qos } from './options.js';

/** Frozen empty headers shared by every message published without headers. */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Where a message's life cycle is tracked. @internal */
export const MessageState = { QUEUED: 0, IN_FLIGHT: 1, SETTLED: 2 } as const;
/** @internal */
export type MessageState = (typeof MessageState)[keyof typeof MessageState];

/** What settles a QoS 1 message: the queue that delivered it. @internal */
export interface MessageOwner {
  ack(msg: Message): boolean;
  nack(msg: Message, delayMs: number): boolean;
}

/** What answers `respond()`: the bus the request came through. @internal */
export interface Responder {
  respondTo(replyTo: string, payload: unknown): boolean;
}

/** The consumer holding an in-flight message (for credit accounting). @internal */
export interface MessageConsumer {
  inFlight: number;
}

/**
 * One delivery of a published message. QoS 0 subscribers of one publish share one Message; each
 * QoS 1 queue gets its own (its ack state is per queue). A redelivery is a new Message with
 * `attempt + 1`: a Message a handler holds never changes under it.
 *
 * @typeParam P - the payload type
 */
export class Message<P = unknown> {
  /** The concrete topic it was published on. */
  readonly topic: string;
  /** The payload, by reference in process. */
  readonly payload: P;
  /** String headers; a shared frozen empty object when none were given. */
  readonly headers: Readonly<Record<string, string>>;
  /** Per-bus sequence number of the publish; shared by every delivery of that publish. */
  readonly id: number;
  /** 1 on first delivery, +1 on every redelivery. */
  readonly attempt: number;
  /** Effective delivery guarantee: min(publish QoS, subscription QoS). */
  readonly qos: Qos;
  /** Epoch ms at publish (1 ms resolution; the bus reads the clock once per burst). */
  readonly publishedAt: number;
  /** The reply topic when this is a request; `respond()` publishes there. */
  readonly replyTo: string | undefined;

  /** @internal epoch ms after which it is dropped at dequeue; 0 = never */
  readonly expiresAt: number;
  /** @internal */
  readonly responder: Responder;
  /** @internal queue holding its ack state (QoS 1 only) */
  owner: MessageOwner | undefined;
  /** @internal consumer it is in flight with */
  consumer: MessageConsumer | undefined;
  /** @internal ack deadline while in flight */
  deadline: number;
  /** @internal in-flight list links */
  prev: Message | undefined;
  /** @internal */
  next: Message | undefined;
  /** @internal */
  state: MessageState;

  /** @internal messages are made by the bus */
  constructor(
    topic: string,
    payload: P,
    headers: Readonly<Record<string, string>>,
    id: number,
    attempt: number,
    qos: Qos,
    publishedAt: number,
    replyTo: string | undefined,
    expiresAt: number,
    responder: Responder
  ) {
    this.topic = topic;
    this.payload = payload;
    this.headers = headers;
    this.id = id;
    this.attempt = attempt;
    this.qos = qos;
    this.publishedAt = publishedAt;
    this.replyTo = replyTo;
    this.expiresAt = expiresAt;
    this.responder = responder;
    this.owner = undefined;
    this.consumer = undefined;
    this.deadline = 0;
    this.prev = undefined;
    this.next = undefined;
    this.state = MessageState.QUEUED;
  }

  /**
   * Acknowledges a QoS 1 delivery: it will not be redelivered.
   *
   * @returns true if this call settled it; false for QoS 0, or when it was already acked, nacked,
   * timed out (a redelivery is under way) or its subscription is gone
   */
  ack(): boolean {
    return this.state === MessageState.IN_FLIGHT && this.owner!.ack(this);
  }

  /**
   * Rejects a QoS 1 delivery: it is redelivered with `attempt + 1` after `delayMs`, or
   * dead-lettered once `maxAttempts` deliveries failed.
   *
   * @param delayMs - wait before it is queued again @defaultValue 0
   * @returns true if this call settled it (see {@link Message.ack})
   */
  nack(delayMs = 0): boolean {
    return this.state === MessageState.IN_FLIGHT && this.owner!.nack(this, delayMs);
  }

  /**
   * Answers a request: publishes `payload` on {@link Message.replyTo}.
   *
   * @returns false when this message is not a request or nobody waits for the reply any more
   */
  respond(payload: unknown): boolean {
    return this.replyTo !== undefined && this.responder.respondTo(this.replyTo, payload);
  }

  /** @internal the same message for another queue or attempt (QoS 1 state is per delivery) */
  copy(attempt: number, qos: Qos): Message<P> {
    return new Message(
      this.topic,
      this.payload,
      this.headers,
      this.id,
      attempt,
      qos,
      this.publishedAt,
      this.replyTo,
      this.expiresAt,
      this.responder
    );
  }
}
