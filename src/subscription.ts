import { ErrorCode, RingbusError } from './errors.js';
import { MAX_DURATION_MS, MAX_QUEUE_SIZE } from './limits.js';
import { type Message, MessageState, type ReliableMessage, type Upstream } from './message.js';
import type { PullOptions, Qos } from './options.js';
import type { Queue } from './queue.js';

/** A push handler. Returning (or resolving) acks a QoS 1 message; throwing (rejecting) nacks it. */
export type Handler<P = unknown> = (msg: Message<P>) => unknown;

/** What a subscription needs from its bus. @internal */
export interface SubscriptionHost {
  handlerFailed(sub: Subscription, msg: Message, err: unknown): void;
  unsubscribe(sub: Subscription): void;
}

/** Messages an async iterator takes per pull. */
const ITERATOR_BATCH = 256;

class PullWaiter {
  readonly max: number;
  readonly batch: Message[] = [];
  readonly resolve: (batch: Message[]) => void;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(max: number, resolve: (batch: Message[]) => void) {
    this.max = max;
    this.resolve = resolve;
  }
}

/**
 * A subscription: a push handler, or (created without one) a pull consumer that is an async
 * iterable and has {@link Subscription.pull}. The two modes are exclusive.
 *
 * @typeParam P - the payload type of the messages it receives
 */
export class Subscription<P = unknown> implements AsyncIterable<Message<P>> {
  /** Per-bus id, as in stats. */
  readonly id: number;
  /** The pattern it was created with. */
  readonly pattern: string;
  /** The channel it consumes from, if any. */
  readonly channel: string | undefined;
  /** The QoS of its queue. */
  readonly qos: Qos;
  /** True for a push (handler) subscription, false for a pull consumer. */
  readonly isPush: boolean;
  /** @internal */
  readonly queue: Queue;
  /** @internal changes only for a proxy, whose peer sends CREDIT */
  maxInFlight: number;
  /** @internal */
  readonly autoAck: boolean;
  /** @internal a QoS 1 push subscription with autoAck: a handler's return acks */
  readonly acksOnReturn: boolean;
  private readonly handler: Handler | undefined;
  private readonly host: SubscriptionHost;
  private waiters: PullWaiter[];
  /** @internal the link a proxy subscription forwards to (it stands for a remote subscriber) */
  link: Upstream | undefined;
  /** @internal */
  paused: boolean;
  /** True once unsubscribed (or the bus closed). */
  closed: boolean;
  /** @internal unacked QoS 1 messages held by this consumer */
  inFlight: number;
  /** Messages delivered to this subscription. */
  delivered: number;

  /** @internal subscriptions are made by `bus.subscribe()` */
  constructor(
    host: SubscriptionHost,
    id: number,
    queue: Queue,
    handler: Handler | undefined,
    maxInFlight: number,
    autoAck: boolean
  ) {
    this.id = id;
    this.pattern = queue.pattern;
    this.channel = queue.channel;
    this.qos = queue.qos;
    this.isPush = handler !== undefined;
    this.queue = queue;
    this.maxInFlight = maxInFlight;
    this.autoAck = autoAck;
    this.acksOnReturn = handler !== undefined && autoAck && queue.qos === 1;
    this.handler = handler;
    this.host = host;
    this.waiters = [];
    this.link = undefined;
    this.paused = false;
    this.closed = false;
    this.inFlight = 0;
    this.delivered = 0;
  }

  /** Messages queued for it (for a channel consumer: queued in the shared channel). */
  get pending(): number {
    return this.queue.depth;
  }

  /** Messages its queue dropped (overflow, TTL, emptied). */
  get dropped(): number {
    return this.queue.dropped;
  }

  /** Unacked QoS 1 messages this consumer holds. */
  get unacked(): number {
    return this.inFlight;
  }

  /** @internal true while a `pull()` waits */
  get hasWaiter(): boolean {
    return this.waiters.length > 0;
  }

  /** Stops delivery to this subscription; its queue keeps filling (bounded). */
  pause(): void {
    this.paused = true;
  }

  /** @internal A proxy's new credit (its peer's CREDIT frame); more lets waiting messages go. */
  setMaxInFlight(maxInFlight: number): void {
    const more = maxInFlight > this.maxInFlight;
    this.maxInFlight = maxInFlight;
    if (more && !this.closed) this.queue.wake();
  }

  /** Resumes delivery after {@link Subscription.pause}. */
  resume(): void {
    if (this.closed) return;
    this.paused = false;
    this.queue.wake();
  }

  /**
   * Ends the subscription. A private queue is discarded; a channel keeps its queue, and this
   * consumer's unacked QoS 1 messages go back to it (`attempt + 1`). Pending `pull()` calls
   * resolve with what they hold; async iterators finish. Idempotent.
   */
  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unsubscribe(this);
    this.finishWaiters();
  }

  /**
   * Takes up to `max` messages: at once if any are queued, otherwise the first to arrive within
   * `timeoutMs` (and any that arrive with it); `[]` when the time is up or the subscription ends.
   * QoS 1 messages must be acked unless `autoAck` was set.
   *
   * @param max - most messages to return @defaultValue 1024
   * @param options - `timeoutMs`: how long to wait for the first message (default 0, no wait)
   * @returns the batch. The promise rejects (`pull` never throws) with {@link RingbusError}
   * `ERR_INVALID_OPTIONS` on a push subscription or bad arguments.
   */
  pull(max = 1024, options?: PullOptions): Promise<Message<P>[]> {
    const timeoutMs = options?.timeoutMs ?? 0;
    let problem: string | undefined;
    if (this.isPush) {
      problem = `pull() needs a pull subscription; '${this.pattern}' has a handler (subscribe without one to pull)`;
    } else if (!Number.isInteger(max) || max < 1 || max > MAX_QUEUE_SIZE) {
      problem = `max must be an integer in [1, ${MAX_QUEUE_SIZE}] (got ${String(max)})`;
    } else if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_DURATION_MS) {
      problem = `timeoutMs must be an integer in [0, ${MAX_DURATION_MS}] (got ${String(timeoutMs)})`;
    }
    if (problem !== undefined) {
      return Promise.reject(new RingbusError(ErrorCode.INVALID_OPTIONS, problem));
    }
    return this.wait(max, timeoutMs);
  }

  /** @internal pull without argument checks; `Infinity` waits until a message or the end */
  wait(max: number, timeoutMs: number): Promise<Message<P>[]> {
    if (this.closed) return Promise.resolve([]);
    return new Promise<Message[]>((resolve) => {
      const waiter = new PullWaiter(max, resolve);
      this.waiters.push(waiter);
      if (this.waiters.length === 1) this.queue.serve(this);
      if (!this.waiters.includes(waiter)) return; // serve() filled it to max
      if (waiter.batch.length > 0 || timeoutMs === 0) this.complete(waiter);
      else if (timeoutMs !== Infinity)
        waiter.timer = setTimeout(() => this.complete(waiter), timeoutMs);
    }) as Promise<Message<P>[]>;
  }

  /** Iterates messages until unsubscribed; leaving the loop early unsubscribes (as in NATS). */
  [Symbol.asyncIterator](): AsyncIterator<Message<P>> {
    if (this.isPush) {
      throw new RingbusError(
        ErrorCode.INVALID_OPTIONS,
        `'${this.pattern}' has a handler and cannot be iterated; subscribe without one to iterate`
      );
    }
    let buffer: Message<P>[] = [];
    let next = 0;
    return {
      next: async (): Promise<IteratorResult<Message<P>>> => {
        if (next === buffer.length) {
          buffer = await this.wait(ITERATOR_BATCH, Infinity);
          next = 0;
          if (buffer.length === 0) return { value: undefined, done: true };
        }
        return { value: buffer[next++], done: false };
      },
      return: (): Promise<IteratorResult<Message<P>>> => {
        this.unsubscribe();
        return Promise.resolve({ value: undefined, done: true });
      }
    };
  }

  /** @internal calls the handler; reports and (QoS 1, autoAck) nacks on failure */
  invoke(msg: Message): void {
    let result: unknown;
    try {
      result = this.handler!(msg);
    } catch (err) {
      this.failed(msg, err);
      return;
    }
    if (result !== undefined && typeof (result as PromiseLike<unknown>).then === 'function') {
      if ((msg as ReliableMessage).state === MessageState.IN_HANDLER)
        this.queue.track(msg as ReliableMessage);
      // Only async handlers pay for these closures.
      (result as PromiseLike<unknown>).then(
        () => {
          if (this.autoAck) msg.ack();
        },
        (err: unknown) => this.failed(msg, err)
      );
    } else if (this.acksOnReturn) msg.ack();
  }

  private failed(msg: Message, err: unknown): void {
    this.host.handlerFailed(this, msg, err);
    if (this.autoAck) msg.nack();
  }

  /** @internal hands a delivered message to the handler or the waiting pull */
  receive(msg: Message): void {
    if (this.handler !== undefined) {
      this.invoke(msg);
      return;
    }
    const waiter = this.waiters[0];
    waiter.batch.push(msg);
    if (this.autoAck) msg.ack();
    if (waiter.batch.length >= waiter.max) this.complete(waiter);
  }

  /** @internal resolves the waiting pull if it holds messages (end of a drain) */
  completePull(): void {
    const waiter = this.waiters[0];
    if (waiter !== undefined && waiter.batch.length > 0) this.complete(waiter);
  }

  private complete(waiter: PullWaiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at < 0) return;
    this.waiters.splice(at, 1);
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.resolve(waiter.batch);
    if (this.waiters.length > 0) this.queue.serve(this);
  }

  /** @internal resolves every pending pull (unsubscribe, bus close) */
  finishWaiters(): void {
    this.closed = true;
    while (this.waiters.length > 0) this.complete(this.waiters[0]);
  }
}
