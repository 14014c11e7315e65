import { EventEmitter } from 'eventemitter3';
import { ChannelControl } from './channel.js';
import { CLOCK_EPOCH, CoarseClock, clockNow } from './clock.js';
import { Dispatcher } from './dispatcher.js';
import { ErrorCode, RingbusError } from './errors.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_DURATION_MS } from './limits.js';
import type { Logger } from './logger.js';
import {
  Message,
  NO_HEADERS,
  PLAIN,
  PublishMeta,
  type ReplyTarget,
  type Responder,
  ReliableMessage,
  type Upstream
} from './message.js';
import { type BusStats, type QueueStats, renderMetrics } from './metrics.js';
import {
  type BusOptions,
  type Overflow,
  type PublishOptions,
  type Qos,
  type RequestOptions,
  type ResolvedBusOptions,
  type ResolvedSubscribeOptions,
  type SubscribeOptions,
  parseBusOptions,
  parseWith,
  resolveSubscribeOptions,
  subscribeOptionsSchema
} from './options.js';
import {
  type DeadLetterReason,
  type DropReason,
  type Feeder,
  Queue,
  isInterestQueue
} from './queue.js';
import type { DurableStore, RecoveredChannel, RecoveredMessage } from './store.js';
import { environment } from './link/transport.js';
import { matches, parsePattern, parseSubject } from './subject.js';
import { SubjectIndex } from './subject-index.js';
import { TopicLog } from './topic-log.js';
import {
  DEFAULT_PUBLISH,
  PublishFields,
  invalidOption,
  readPublishOptions
} from './publish-options.js';
import { type Handler, Subscription } from './subscription.js';
import type { InboundFrame } from './frames/envelope.js';
import { FrameCache } from './link/frame-cache.js';
import type { InterestWatcher } from './link/session.js';
import type { NatsBridgeOptions } from './link/bridge.js';
import type { ConnectOptions, ListenOptions, WorkerLinkOptions } from './link/options.js';
import type { Link } from './link/link.js';
import type { Listener } from './link/listener.js';
import { connectLink, connectThreadLink, listenOn } from './link/open.js';
import { Topic, TopicState } from './topic.js';
import type { PatternFor, PayloadOf, TopicMap, TopicName } from './topic-types.js';

/** Payload of the 'drop' event. */
export interface DropEvent {
  /** Why it was dropped. */
  reason: DropReason;
  /** The dropped message. */
  message: Message;
  /** Pattern of the queue that dropped it. */
  pattern: string;
  /** Channel of that queue, if it is a named channel. */
  channel: string | undefined;
}

/** Payload of the 'dead-letter' event. */
export interface DeadLetterEvent {
  /** Why it was dead-lettered. */
  reason: DeadLetterReason;
  /** The last delivery of the message. */
  message: Message;
  /** Pattern of the queue it failed in. */
  pattern: string;
  /** Channel of that queue, if it is a named channel. */
  channel: string | undefined;
  /** Where it was republished: `$dlq.<topic>` (not for a message that was already dead-lettered). */
  deadLetterTopic: string;
}

/** Payload of the 'link-down' event. */
export interface LinkDownEvent {
  /** The link; its `state` says whether it will reconnect ('down') or not ('closed'). */
  link: Link;
  /** Why, when it was not a clean goodbye or a local close. */
  error: RingbusError | undefined;
}

/** Lifecycle events of a bus (eventemitter3). */
export interface BusEvents {
  /** A message was discarded without delivery (overflow, TTL, emptied). Counted even without listeners. */
  drop: (event: DropEvent) => void;
  /** A QoS 1 message exhausted `maxAttempts` or overflowed a drop-policy queue. */
  'dead-letter': (event: DeadLetterEvent) => void;
  /**
   * Something failed that no caller could be told about directly: a handler threw
   * (`ERR_HANDLER_FAILED`). Unlike Node's EventEmitter, nothing is thrown without a listener:
   * listen to it, or the failure is only counted (and logged at `warn`).
   */
  error: (error: RingbusError) => void;
  /** A link finished its handshake (again, after a reconnect). */
  'link-up': (link: Link) => void;
  /** A link lost its connection (or was closed). */
  'link-down': (event: LinkDownEvent) => void;
}

interface PendingRequest {
  resolve: (msg: Message) => void;
  reject: (err: RingbusError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The message bus: topics with wildcard subscriptions, bounded queues, shared named channels,
 * QoS 0 and 1, retained messages, request/reply, push and pull consumers.
 *
 * @typeParam T - optional map of topic → payload type
 * @example
 * ```ts
 * const bus = new Bus<{ 'player.move': { x: number; y: number } }>();
 * bus.subscribe('player.*', (msg) => console.log(msg.topic, msg.payload.x));
 * bus.publish('player.move', { x: 1, y: 2 });
 * ```
 */
export class Bus<T extends TopicMap = Record<string, unknown>> extends EventEmitter<BusEvents> {
  /** This bus's id. */
  readonly id: string;
  /** @internal */
  readonly logger: Logger;
  private readonly options: ResolvedBusOptions;
  private readonly dispatcher: Dispatcher;
  private readonly index = new SubjectIndex<Queue>();
  private readonly topics = new Map<string, TopicState>();
  /** The topic looked up last: a link or bridge asks for one message's topic more than once. */
  private lastTopic: TopicState | undefined = undefined;
  private readonly channels = new Map<string, Queue>();
  private readonly subscriptions = new Map<number, Subscription>();
  private readonly retained = new Map<string, Message>();
  /** Shared logs of topics that have direct queues. */
  private readonly logs = new Map<string, TopicLog>();
  private readonly requests = new Map<string, PendingRequest>();
  private readonly createdAt = Date.now();
  private readonly clock = new CoarseClock();
  /** Bumped on every (un)subscribe: a topic whose `gen` differs re-resolves its queues. */
  private gen = 0;
  private seq = 0;
  private subscriptionSeq = 0;
  private requestSeq = 0;
  private linkSeq = 0;
  private inbox: Subscription | undefined = undefined;
  private readonly inboxPrefix: string;
  private closed = false;
  /** Counters of queues that are gone, so totals never go backwards. */
  private readonly retiredTotals = {
    delivered: 0,
    acked: 0,
    redelivered: 0,
    deadLettered: 0,
    conflated: 0,
    overflow: 0,
    expired: 0,
    emptied: 0
  };
  private published = 0;
  private readonly scratch = new PublishFields();
  /** Sessions told about interest changes, to advertise them to their peers. */
  private readonly watchers = new Set<InterestWatcher>();
  /** Interest queues of links: each is indexed under every pattern its peer wants. */
  private readonly interestQueues = new Map<Queue, Set<string>>();
  private frameCache: FrameCache | undefined = undefined;
  /** @internal open links and listeners, for stats and close() */
  readonly links = new Set<Link>();
  /** @internal */
  readonly openListeners = new Set<Listener>();
  private handlerErrors = 0;
  /** The write-ahead log of durable channels, when `options.store` is set. */
  private readonly store: DurableStore | undefined;
  /** Set while a caller that waits for the store (publishAsync, dead letters) publishes. */
  private durableWrite = false;

  /**
   * With `options.store`, the store's directory is replayed here, synchronously: the bus starts
   * with every durable channel and its unacked messages back.
   *
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` naming the bad field; `ERR_STORE` when the
   *   store directory cannot be created, read or locked
   */
  constructor(options?: BusOptions) {
    super();
    this.options = parseBusOptions(options, randomId);
    this.id = this.options.id;
    this.inboxPrefix = `$inbox.${this.id}.`;
    this.logger = this.options.logger;
    this.dispatcher = new Dispatcher(this.options.dispatch === 'microtask', this.clock);
    const storeOptions = this.options.store;
    if (storeOptions !== undefined) {
      const open = environment.store();
      if (open === undefined) {
        throw new RingbusError(
          ErrorCode.INVALID_OPTIONS,
          "store needs the file system: use it from the Node entry of 'ringbus'"
        );
      }
      this.store = open(storeOptions, this.logger);
      this.seq = this.store.lastId;
      for (const channel of this.store.recovered) this.restoreChannel(channel);
    }
  }

  /** True once {@link Bus.close} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Publishes synchronously: the message enters every matching queue now and is delivered later
   * (next microtask, or the next `flush()` with `dispatch: 'manual'`).
   *
   * @param topic - a concrete topic (no wildcards)
   * @param payload - passed by reference to every subscriber
   * @param options - `qos`, `ttlMs`, `headers`, `retain`
   * @returns the number of queues it entered (0 when nothing matches)
   * @throws {@link RingbusError} `ERR_INVALID_TOPIC`, `ERR_INVALID_OPTIONS`, `ERR_QUEUE_FULL` (a
   * matching 'block' queue is full; nothing was enqueued), `ERR_CLOSED`
   */
  publish<K extends TopicName<T>>(topic: K, payload: T[K], options?: PublishOptions): number {
    let state = this.topics.get(topic);
    if (state === undefined) state = this.addTopic(topic);
    return this.publishTo(state, payload, options, undefined);
  }

  /**
   * Publishes, first waiting for room in every matching 'block' queue that is full.
   *
   * @param topic - a concrete topic
   * @param payload - passed by reference
   * @param options - as for {@link Bus.publish}
   * @returns the number of queues it entered
   * @throws {@link RingbusError} as {@link Bus.publish}, and `ERR_CLOSED` when the bus closes while waiting
   */
  async publishAsync<K extends TopicName<T>>(
    topic: K,
    payload: T[K],
    options?: PublishOptions
  ): Promise<number> {
    const state = this.topicState(topic);
    for (;;) {
      if (this.closed) throw closedError('publishAsync');
      if (state.gen !== this.gen) this.route(state);
      const full = state.blocking
        ? state.targets.find((q) => q.isBlockedFor(state.name))
        : undefined;
      if (full === undefined) break;
      await full.waitForRoom();
    }
    if (this.store === undefined) return this.publishTo(state, payload, options, undefined);
    const mark = this.durableMark();
    this.durableWrite = true;
    let entered: number;
    try {
      entered = this.publishTo(state, payload, options, undefined);
    } finally {
      this.durableWrite = false;
    }
    await this.durableCommit(mark);
    return entered;
  }

  /**
   * A pre-resolved topic handle: `bus.topic('a.b').publish(payload)` skips the topic lookup.
   *
   * @param name - a concrete topic
   * @throws {@link RingbusError} `ERR_INVALID_TOPIC`
   */
  topic<K extends TopicName<T>>(name: K): Topic<T[K]> {
    return new Topic<T[K]>(this, this.topicState(name));
  }

  /** @internal the publish path shared by `publish`, topic handles, requests and replies */
  publishTo(
    state: TopicState,
    payload: unknown,
    options: PublishOptions | undefined,
    reply: ReplyTarget | undefined
  ): number {
    if (this.closed) throw closedError('publish');
    // This call's own: a listener that publishes from inside it does not wait for the store.
    const waits = this.durableWrite;
    if (waits) this.durableWrite = false;
    if (state.gen !== this.gen) this.route(state);
    // `o` may be the reused scratch: read it before any user code (drop listeners) can publish.
    const o = options === undefined ? DEFAULT_PUBLISH : readPublishOptions(options, this.scratch);
    if (state.blocking) checkRoom(state);
    const durable = o.qos === 1 ? state.durable : undefined;
    if (durable !== undefined) this.checkDurable(state, waits);
    state.published++;
    this.published++;
    const targets = state.targets;
    const n = targets.length;
    const log = state.log;
    if (n === 0 && log === undefined && !o.retain) return 0;
    // A TTL is a deadline: read the precise clock (the envelope meta is allocated anyway).
    const now = o.ttlMs === 0 ? this.clock.now() : clockNow();
    const meta =
      o.headers === NO_HEADERS && o.ttlMs === 0 && reply === undefined
        ? PLAIN
        : new PublishMeta(o.headers, o.ttlMs === 0 ? 0 : now + o.ttlMs, reply, undefined, 0, 0);
    if (o.qos === 1) {
      const msg = new ReliableMessage(state.name, payload, ++this.seq, 1, now, meta);
      // Recorded before it enters any queue: what a queue does with it next is recorded after.
      if (durable !== undefined) this.store!.message(durable, msg);
      if (o.retain) this.keepRetained(msg);
      return publishReliable(targets, log, msg);
    }
    const msg = new Message(state.name, payload, ++this.seq, 1, now, meta);
    if (o.retain) this.keepRetained(msg);
    let entered = 0;
    if (log !== undefined) {
      log.append(msg);
      entered = log.readers.length;
    }
    for (let i = 0; i < n; i++) if (targets[i].push(msg)) entered++;
    return entered;
  }

  /**
   * Subscribes with a push handler. Returning (or resolving) acks a QoS 1 message, throwing
   * (rejecting) nacks it; a QoS 0 handler that throws is reported through 'error' and the other
   * subscribers still get the message.
   *
   * @param pattern - a subject with optional `*` / `>` wildcards
   * @param handler - called once per delivered message
   * @param options - queue, QoS and consumer options, validated once
   * @throws {@link RingbusError} `ERR_INVALID_TOPIC`, `ERR_INVALID_OPTIONS` (naming the field), `ERR_CLOSED`
   */
  subscribe<P extends string>(
    pattern: P & PatternFor<T, P>,
    handler: Handler<PayloadOf<T, P>>,
    options?: SubscribeOptions
  ): Subscription<PayloadOf<T, P>>;
  /**
   * Subscribes in pull mode: the subscription is an async iterable and has `pull()`.
   *
   * @param pattern - a subject with optional `*` / `>` wildcards
   * @param options - queue, QoS and consumer options, validated once
   * @throws {@link RingbusError} `ERR_INVALID_TOPIC`, `ERR_INVALID_OPTIONS`, `ERR_CLOSED`
   */
  subscribe<P extends string>(
    pattern: P & PatternFor<T, P>,
    options?: SubscribeOptions
  ): Subscription<PayloadOf<T, P>>;
  subscribe(
    pattern: string,
    handlerOrOptions?: Handler<never> | SubscribeOptions,
    maybeOptions?: SubscribeOptions
  ): Subscription {
    const handler =
      typeof handlerOrOptions === 'function' ? (handlerOrOptions as Handler) : undefined;
    if (
      handler === undefined &&
      handlerOrOptions !== undefined &&
      (typeof handlerOrOptions !== 'object' || handlerOrOptions === null)
    ) {
      throw new RingbusError(
        ErrorCode.INVALID_OPTIONS,
        `the second argument must be a handler function or an options object (got ${typeof handlerOrOptions})`
      );
    }
    return this.addSubscription(
      pattern,
      handler,
      handler === undefined ? handlerOrOptions : maybeOptions
    );
  }

  private addSubscription(
    pattern: string,
    handler: Handler | undefined,
    options: unknown,
    link?: Upstream
  ): Subscription {
    if (this.closed) throw closedError('subscribe');
    const tokens = parsePattern(pattern);
    const given = parseWith(subscribeOptionsSchema, options, 'subscribe options');
    const opts = resolveSubscribeOptions(given, handler === undefined);
    let queue: Queue;
    if (opts.channel === undefined) {
      queue = this.addQueue(pattern, tokens, opts, link);
      if (handler !== undefined && link === undefined && isDirect(opts, tokens))
        this.attachLog(queue);
    } else {
      const key = channelKey(pattern, opts.channel);
      const existing = this.channels.get(key);
      if (existing === undefined) {
        queue = this.addQueue(pattern, tokens, opts, undefined);
        this.channels.set(key, queue);
        if (this.store !== undefined && opts.qos === 1) {
          this.makeDurable(queue, key);
          this.store.channelCreated(key, {
            pattern,
            name: opts.channel,
            queueSize: opts.queueSize,
            overflow: opts.overflow,
            ackTimeoutMs: opts.ackTimeoutMs,
            maxAttempts: opts.maxAttempts
          });
        }
      } else {
        checkChannelOptions(existing, given);
        queue = existing;
      }
    }
    const sub = new Subscription(
      this,
      ++this.subscriptionSeq,
      queue,
      handler,
      opts.maxInFlight,
      opts.autoAck
    );
    sub.link = link;
    this.subscriptions.set(sub.id, sub);
    queue.addConsumer(sub);
    this.announce(queue);
    return sub;
  }

  /**
   * Sends a request and resolves to the first reply. The responder answers with `msg.respond(x)`.
   *
   * @param topic - a concrete topic a responder subscribes to
   * @param payload - the request payload
   * @param options - `timeoutMs`, `headers`
   * @returns the reply. The promise rejects (`request` never throws) with {@link RingbusError}
   * `ERR_NO_RESPONDERS` at once when nothing subscribes to the topic, `ERR_TIMEOUT` when no reply
   * came in time, `ERR_CLOSED`, `ERR_INVALID_TOPIC` or `ERR_INVALID_OPTIONS`
   */
  request<K extends TopicName<T>>(
    topic: K,
    payload: T[K],
    options?: RequestOptions
  ): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const timeoutMs = options?.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_DURATION_MS) {
        invalidOption(`timeoutMs must be an integer in [1, ${MAX_DURATION_MS}]`, timeoutMs);
      }
      const state = this.topicState(topic);
      this.inbox ??= this.addSubscription(
        `${this.inboxPrefix}*`,
        (msg) => this.settleRequest(msg),
        undefined
      );
      const replyTo = `${this.inboxPrefix}${++this.requestSeq}`;
      const reply: ReplyTarget = { topic: replyTo, responder: this };
      const entered = this.publishTo(
        state,
        payload,
        options?.headers === undefined ? undefined : { headers: options.headers },
        reply
      );
      if (entered === 0) {
        reject(
          new RingbusError(
            ErrorCode.NO_RESPONDERS,
            `no subscription matches '${topic}'; subscribe a responder first`
          )
        );
        return;
      }
      const timer = setTimeout(() => {
        this.requests.delete(replyTo);
        reject(
          new RingbusError(ErrorCode.TIMEOUT, `no reply to '${topic}' within ${timeoutMs} ms`)
        );
      }, timeoutMs);
      this.requests.set(replyTo, { resolve, reject, timer });
    });
  }

  /** @internal {@link Responder} */
  respondTo(replyTo: string, payload: unknown): boolean {
    if (this.closed) return false;
    // A reply to this bus's own inbox is only useful while the request waits.
    if (replyTo.startsWith(this.inboxPrefix) && !this.requests.has(replyTo)) return false;
    return this.publishTo(this.topicState(replyTo), payload, undefined, undefined) > 0;
  }

  private settleRequest(msg: Message): void {
    const pending = this.requests.get(msg.topic);
    if (pending === undefined) return;
    this.requests.delete(msg.topic);
    clearTimeout(pending.timer);
    pending.resolve(msg);
  }

  /**
   * Delivers everything queued now, synchronously. With `dispatch: 'manual'` this is the only way
   * messages are delivered (one call per game tick); messages published by handlers during a
   * flush wait for the next one. A no-op when called from inside a handler.
   */
  flush(): void {
    this.dispatcher.flush();
  }

  /**
   * Controls of the named channel `name` on `pattern`: pause, resume, empty, delete, depth,
   * inFlight. The handle does not create the channel; on a channel that does not exist (yet)
   * its operations do nothing.
   *
   * @param pattern - the pattern the channel's subscriptions use
   * @param name - the channel name
   * @throws {@link RingbusError} `ERR_INVALID_TOPIC`, `ERR_INVALID_OPTIONS` (bad name)
   */
  channel(pattern: string, name: string): ChannelControl {
    parsePattern(pattern);
    parseWith(subscribeOptionsSchema, { channel: name }, 'channel');
    return new ChannelControl(
      pattern,
      name,
      () => this.channels.get(channelKey(pattern, name)),
      (q) => this.deleteChannel(q)
    );
  }

  /** A JSON-serialisable snapshot of counters, queues, subscriptions and topics. */
  stats(): BusStats {
    const channels = [...this.channels.values()].map((q) => queueStats(q, undefined));
    const queues: QueueStats[] = [];
    for (const sub of this.subscriptions.values())
      if (sub.channel === undefined) queues.push(queueStats(sub.queue, sub.id));
    const all = [...channels, ...queues];
    const r = this.retiredTotals;
    const sum = (f: (q: QueueStats) => number): number => all.reduce((acc, q) => acc + f(q), 0);
    return {
      id: this.id,
      uptimeMs: Date.now() - this.createdAt,
      totals: {
        published: this.published,
        delivered: r.delivered + sum((q) => q.delivered),
        acked: r.acked + sum((q) => q.acked),
        redelivered: r.redelivered + sum((q) => q.redelivered),
        deadLettered: r.deadLettered + sum((q) => q.deadLettered),
        conflated: r.conflated + sum((q) => q.conflated),
        handlerErrors: this.handlerErrors,
        dropped: {
          overflow: r.overflow + sum((q) => q.dropped.overflow),
          expired: r.expired + sum((q) => q.dropped.expired),
          emptied: r.emptied + sum((q) => q.dropped.emptied)
        }
      },
      topics: [...this.topics.values()].map((s) => {
        if (s.gen !== this.gen) this.route(s);
        return {
          topic: s.name,
          published: s.published,
          queues: s.targets.length + (s.log?.readers.length ?? 0)
        };
      }),
      channels,
      queues,
      subscriptions: [...this.subscriptions.values()].map((s) => ({
        id: s.id,
        pattern: s.pattern,
        channel: s.channel,
        mode: s.isPush ? 'push' : 'pull',
        qos: s.qos,
        paused: s.paused,
        delivered: s.delivered,
        inFlight: s.inFlight,
        pending: s.pending
      })),
      retained: this.retained.size,
      links: [...this.links].map((l) => l.stats()),
      ...(this.store === undefined ? {} : { store: this.store.stats() })
    };
  }

  /** The {@link Bus.stats} snapshot in the Prometheus text exposition format. */
  metrics(): string {
    return renderMetrics(this.stats());
  }

  /**
   * Closes the bus: publishing stops, what can be delivered now is delivered, waiting
   * `publishAsync` and `request` calls reject with `ERR_CLOSED`, pulls resolve with what they
   * hold, timers stop. Never waits for acks. Idempotent.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.dispatcher.flush();
    // Links first: their goodbyes go out before the queues they read from are gone.
    const closing = [...this.openListeners, ...this.links].map((l) => l.close());
    for (const [replyTo, pending] of this.requests) {
      clearTimeout(pending.timer);
      this.requests.delete(replyTo);
      pending.reject(closedError('request'));
    }
    for (const sub of this.subscriptions.values()) sub.finishWaiters();
    for (const sub of this.subscriptions.values())
      if (sub.channel === undefined) this.retire(sub.queue);
    for (const q of this.channels.values()) this.retire(q);
    this.subscriptions.clear();
    this.channels.clear();
    if (this.store !== undefined) closing.push(this.store.close());
    return Promise.all(closing).then(() => undefined);
  }

  /** @internal {@link QueueHost} */
  now(): number {
    return this.clock.now();
  }

  /** @internal {@link SessionHost.frames}, made with the second link. */
  get frames(): FrameCache | undefined {
    if (!this.sharesFrames) return undefined;
    return (this.frameCache ??= new FrameCache());
  }

  /** A frame is reused only by another link: with one, remembering it is wasted work. */
  private get sharesFrames(): boolean {
    return this.interestQueues.size >= 2;
  }

  /** @internal {@link QueueHost} */
  schedule(queue: Queue): void {
    this.dispatcher.schedule(queue);
  }

  /** @internal {@link LogHost} */
  scheduleLog(log: TopicLog): void {
    this.dispatcher.scheduleLog(log);
  }

  /** @internal {@link QueueHost} */
  dropped(queue: Queue, message: Message, reason: DropReason): void {
    if (this.listenerCount('drop') > 0)
      this.emitSafe('drop', { reason, message, pattern: queue.pattern, channel: queue.channel });
  }

  /** @internal {@link QueueHost} */
  deadLettered(queue: Queue, message: Message, reason: DeadLetterReason): void {
    const alreadyDead = message.topic.startsWith('$dlq.');
    const deadLetterTopic = alreadyDead ? message.topic : `$dlq.${message.topic}`;
    if (this.listenerCount('dead-letter') > 0) {
      this.emitSafe('dead-letter', {
        reason,
        message,
        pattern: queue.pattern,
        channel: queue.channel,
        deadLetterTopic
      });
    }
    if (alreadyDead || this.closed) return;
    // A durable dead-letter channel records it without anyone waiting for the commit.
    const wasDurable = this.durableWrite;
    this.durableWrite = true;
    try {
      this.publishTo(
        this.topicState(deadLetterTopic),
        message.payload,
        { qos: message.qos, headers: message.headers },
        undefined
      );
    } catch (err) {
      this.logger.error(
        { err, topic: deadLetterTopic },
        'ringbus: could not publish a dead letter'
      );
    } finally {
      this.durableWrite = wasDurable;
    }
  }

  /** @internal {@link SubscriptionHost} */
  handlerFailed(sub: Subscription, message: Message, err: unknown): void {
    this.handlerErrors++;
    const error = new RingbusError(
      ErrorCode.HANDLER_FAILED,
      `the handler of '${sub.pattern}' failed on a message of '${message.topic}'${message.qos === 1 && sub.autoAck ? ' (nacked)' : ''}`,
      { cause: err }
    );
    this.logger.warn(
      { err, topic: message.topic, pattern: sub.pattern },
      'ringbus: subscription handler failed'
    );
    this.emitSafe('error', error);
  }

  /** @internal {@link SubscriptionHost} */
  unsubscribe(sub: Subscription): void {
    if (!this.subscriptions.delete(sub.id)) return;
    if (sub.channel === undefined) this.retire(sub.queue);
    else {
      sub.queue.removeConsumer(sub);
      this.announce(sub.queue);
    }
  }

  /**
   * Listens for links on `url`: `tcp://host:port` (`tcp4://`, `tcp6://`), `unix:///path`, or any
   * scheme registered with the container. Port 0 picks a free port; the listener's `url` has it.
   *
   * @param url - where to listen
   * @param options - auth, limits, raw mode, timeouts (docs/network.md)
   * @throws {@link RingbusError} `ERR_UNSUPPORTED_SCHEME`, `ERR_INVALID_OPTIONS`, `ERR_CLOSED`, or
   *   the transport's error (address in use, permission)
   */
  listen(url: string, options?: ListenOptions): Promise<Listener> {
    if (this.closed) return Promise.reject(closedError('listen'));
    return listenOn(this as Bus, url, options);
  }

  /**
   * Connects to a bus that listens on `url`. Resolves once the handshake is done and both buses
   * have registered each other's subscriptions; the link then reconnects by itself until closed.
   *
   * On Node, `nats://host:port` (and `tls://`) bridges this bus to a NATS system instead, with
   * {@link NatsBridgeOptions} (`export`, `import`, `servers`, `streams`; docs/scale-out.md).
   *
   * @param url - the listener's URL, or a NATS server's
   * @param options - token, reconnect, timeouts, raw mode (docs/network.md); for NATS,
   *   {@link NatsBridgeOptions}
   * @throws {@link RingbusError} `ERR_UNSUPPORTED_SCHEME`, `ERR_INVALID_OPTIONS`, `ERR_AUTH` (token
   *   refused; no retry), `ERR_CONNECT` (unreachable or no handshake in time), `ERR_BRIDGE` (NATS
   *   refused a stream or JetStream is unavailable), `ERR_CLOSED`
   */
  connect(url: string, options?: ConnectOptions | NatsBridgeOptions): Promise<Link> {
    if (this.closed) return Promise.reject(closedError('connect'));
    return connectLink(this as Bus, url, options);
  }

  /**
   * Links this bus to a bus in `worker` (a Node `Worker`), over two shared-memory rings instead of
   * `postMessage`. The worker calls `bus.connectParent()`; this resolves once both buses have
   * registered each other's subscriptions. The link never reconnects: when the worker exits it
   * goes down (its in-flight QoS 1 messages go back to their channels) and stays down.
   *
   * @param worker - the worker thread, started by the caller
   * @param options - ring size, timeouts and link options (docs/workers.md)
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` (not a Worker, bad options), `ERR_CONNECT`
   *   (the worker did not take the link in time), `ERR_UNSUPPORTED_SCHEME` (no threads here),
   *   `ERR_CLOSED`
   */
  connectWorker(worker: object, options?: WorkerLinkOptions): Promise<Link> {
    if (this.closed) return Promise.reject(closedError('connectWorker'));
    return connectThreadLink(this as Bus, worker, options);
  }

  /**
   * Inside a worker thread: takes the link its parent offers with `bus.connectWorker(worker)`.
   *
   * @param options - timeouts and link options; the parent's ring size applies
   * @throws {@link RingbusError} `ERR_INVALID_OPTIONS` (not in a worker, bad options),
   *   `ERR_CONNECT` (no offer from the parent in time), `ERR_CLOSED`
   */
  connectParent(options?: WorkerLinkOptions): Promise<Link> {
    if (this.closed) return Promise.reject(closedError('connectParent'));
    return connectThreadLink(this as Bus, undefined, options);
  }

  /** @internal {@link SessionHost.watch} */
  watch(watcher: InterestWatcher): void {
    this.watchers.add(watcher);
  }

  /** @internal {@link SessionHost.unwatch} */
  unwatch(watcher: InterestWatcher): void {
    this.watchers.delete(watcher);
  }

  /** @internal {@link SessionHost.interest} */
  interest(): { patterns: [string, Queue][]; queues: Queue[] } {
    const patterns: [string, Queue][] = [];
    const queues: Queue[] = [...this.channels.values()];
    for (const sub of this.subscriptions.values()) {
      const q = sub.queue;
      if (sub.channel !== undefined || this.interestQueues.has(q)) continue;
      if (isInterestQueue(q)) patterns.push([q.pattern, q]);
      else queues.push(q);
    }
    for (const [q, set] of this.interestQueues) for (const p of set) patterns.push([p, q]);
    return { patterns, queues };
  }

  /** @internal {@link SessionHost.consumersChanged} */
  consumersChanged(queue: Queue): void {
    this.announce(queue);
  }

  /** @internal {@link SessionHost.subscribeProxy} */
  subscribeProxy(
    pattern: string,
    handler: Handler,
    options: SubscribeOptions,
    link: Upstream
  ): Subscription {
    if (this.closed) throw closedError('subscribe');
    // A remote consumer joins an existing channel on its terms (its options only create one).
    const name = options.channel;
    const joins = name !== undefined && this.channels.has(channelKey(pattern, name));
    const own = joins
      ? { channel: name, maxInFlight: options.maxInFlight, autoAck: false }
      : options;
    return this.addSubscription(pattern, handler, own, link);
  }

  /** @internal {@link SessionHost.openInterestQueue} */
  openInterestQueue(
    link: Upstream,
    size: number,
    overflow: Overflow,
    handler: Handler
  ): Subscription {
    const opts = resolveSubscribeOptions({ queueSize: size, overflow }, false);
    const queue = new Queue(this, '(link)', [], opts);
    queue.owner = link;
    this.interestQueues.set(queue, new Set());
    const sub = new Subscription(this, ++this.subscriptionSeq, queue, handler, 1, true);
    sub.link = link;
    this.subscriptions.set(sub.id, sub);
    queue.addConsumer(sub);
    return sub;
  }

  /** @internal {@link SessionHost.addInterest} */
  addInterest(queue: Queue, pattern: string): void {
    const set = this.interestQueues.get(queue);
    if (set === undefined || set.has(pattern)) return;
    set.add(pattern);
    this.index.add(parsePattern(pattern), queue);
    this.gen++;
    for (const w of this.watchers) w.patternAdded(pattern, queue);
  }

  /** @internal {@link SessionHost.removeInterest} */
  removeInterest(queue: Queue, pattern: string): void {
    const set = this.interestQueues.get(queue);
    if (set === undefined || !set.delete(pattern)) return;
    this.index.remove(parsePattern(pattern), queue);
    this.gen++;
    for (const w of this.watchers) w.patternRemoved(pattern, queue);
  }

  /** @internal {@link SessionHost.publishRemote} */
  publishRemote(frame: InboundFrame, origin: Upstream, toAll: boolean, retain: boolean): number {
    if (this.closed) throw closedError('publish');
    const state = this.topicState(frame.topic);
    if (state.gen !== this.gen) this.route(state);
    if (toAll && state.blocking) checkRoom(state, origin);
    const durable = toAll && frame.qos === 1 ? state.durable : undefined;
    // The session sends the PUBACK once the store committed (durableCommit).
    if (durable !== undefined) this.checkDurable(state, true);
    state.published++;
    this.published++;
    const now = this.clock.now();
    const meta = remoteMeta(frame, origin, now, this, 0);
    const id = toAll ? ++this.seq : frame.id;
    const qos = toAll ? frame.qos : 0;
    const msg =
      qos === 1
        ? new ReliableMessage(state.name, frame.payload, id, frame.attempt, now, meta)
        : new Message(state.name, frame.payload, id, frame.attempt, now, meta);
    if (durable !== undefined) this.store!.message(durable, msg);
    if (retain) this.keepRetained(msg);
    let entered = 0;
    let claimed = false;
    let shared: Message | undefined;
    for (const q of state.targets) {
      if (q.owner === origin || q.feeder === origin) continue;
      // An interest delivery is for interest queues; the others have theirs by id (sid).
      if (!toAll && !isInterestQueue(q)) continue;
      let m: Message = msg;
      if (qos === 1) {
        if (q.qos === 1) m = claimed ? msg.copy(msg.attempt, 1) : msg;
        else m = shared ??= msg.copy(msg.attempt, 0);
        if (q.qos === 1) claimed = true;
      }
      if (q.push(m)) entered++;
    }
    const log = state.log;
    if (log !== undefined) {
      log.append(qos === 1 ? (shared ?? msg.copy(msg.attempt, 0)) : msg);
      entered += log.readers.length;
    }
    return entered;
  }

  /** @internal {@link SessionHost.durableMark}: the store's append count, to compare later */
  durableMark(): number {
    return this.store?.appends ?? 0;
  }

  /** @internal {@link SessionHost.durableCommit}: the commit to wait for, if records were appended since `mark` */
  durableCommit(mark: number): Promise<void> | undefined {
    const store = this.store;
    return store === undefined || store.appends === mark ? undefined : store.commit();
  }

  /** @internal {@link SessionHost.deliverRemote} */
  deliverRemote(queue: Queue, frame: InboundFrame, origin: Upstream): boolean {
    const state = this.topicState(frame.topic); // parses (ERR_INVALID_TOPIC) once per topic
    if (!matches(queue.tokens, state.tokens)) {
      throw new RingbusError(
        ErrorCode.PROTOCOL,
        `MSG on '${frame.topic}' for a subscription to '${queue.pattern}', which it does not match`
      );
    }
    // A full durable channel refuses what it did not record (the sender retries or dead-letters).
    if (
      queue.closed ||
      queue.isBlockedFor(frame.topic) ||
      (queue.journal !== undefined && queue.isFull)
    )
      return false;
    const now = this.clock.now();
    const meta = remoteMeta(frame, origin, now, this, frame.tag);
    const msg =
      frame.tag !== 0
        ? new ReliableMessage(state.name, frame.payload, frame.id, frame.attempt, now, meta)
        : new Message(state.name, frame.payload, frame.id, frame.attempt, now, meta);
    queue.push(msg);
    return true;
  }

  /** @internal {@link BridgeHost.wants} */
  wants(topic: string, origin: Upstream): boolean {
    const state = this.topicState(topic);
    if (state.gen !== this.gen) this.route(state);
    if (state.log !== undefined) return true;
    for (const q of state.targets) if (q.owner !== origin && q.feeder !== origin) return true;
    return false;
  }

  /** @internal {@link BridgeHost.feed} */
  feed(queue: Queue, feeder: Feeder | undefined): void {
    queue.feeder = feeder;
    this.gen++; // topics re-route: publishes the feeder exports skip the queue
    this.announce(queue);
  }

  /** @internal {@link LinkHost.nextLinkId} */
  nextLinkId(): number {
    return ++this.linkSeq;
  }

  /** @internal {@link SessionHost.peerConnected} */
  peerConnected(id: string): boolean {
    for (const link of this.links) if (link.state === 'up' && link.peer === id) return true;
    return false;
  }

  /** @internal {@link SessionHost.reportError} */
  reportError(error: RingbusError): void {
    this.logger.warn({ err: error }, 'ringbus: link error');
    this.emitSafe('error', error);
  }

  /** @internal a link changed state */
  linkEvent(event: 'link-up', link: Link): void;
  linkEvent(event: 'link-down', link: Link, error: RingbusError | undefined): void;
  linkEvent(event: 'link-up' | 'link-down', link: Link, error?: RingbusError): void {
    if (event === 'link-up') this.emitSafe('link-up', link);
    else this.emitSafe('link-down', { link, error });
  }

  /** Tells the links about a queue that appeared, changed consumers or went away. */
  private announce(queue: Queue): void {
    if (this.watchers.size === 0 || this.interestQueues.has(queue)) return;
    const interestOnly = isInterestQueue(queue);
    for (const w of this.watchers) {
      if (!interestOnly) w.queueChanged(queue);
      else if (queue.closed) w.patternRemoved(queue.pattern, queue);
      else if (queue.consumers.length === 1) w.patternAdded(queue.pattern, queue);
    }
  }

  private topicState(name: string): TopicState {
    const last = this.lastTopic;
    if (last !== undefined && last.name === name) return last;
    return (this.lastTopic = this.topics.get(name) ?? this.addTopic(name));
  }

  private addTopic(name: string): TopicState {
    const state = new TopicState(name, parseSubject(name));
    if (this.topics.size >= this.options.maxTopics) this.trimTopics();
    this.topics.set(name, state);
    return state;
  }

  /** Forgets the older half of the topic cache; handles keep working, per-topic counters restart. */
  private trimTopics(): void {
    let excess = this.topics.size - (this.options.maxTopics >> 1);
    this.lastTopic = undefined;
    for (const name of this.topics.keys()) {
      if (excess-- <= 0) break;
      this.topics.delete(name);
    }
  }

  private route(state: TopicState): void {
    // A link's interest queue is indexed under several patterns: enter it once.
    // A fed channel may get a topic back through its feeder instead (JetStream), not from here.
    const targets = [...new Set(this.index.match(state.tokens, []))].filter(
      (q) => q.log === undefined && (q.feeder === undefined || !q.feeder.diverts(state.tokens, q))
    );
    state.targets = targets;
    state.log = this.logs.get(state.name);
    state.blocking = targets.some((q) => q.overflow === 'block');
    const durable = targets.filter((q) => q.journal !== undefined).map((q) => q.durableKey);
    state.durable = durable.length === 0 ? undefined : durable;
    state.gen = this.gen;
  }

  private addQueue(
    pattern: string,
    tokens: string[],
    opts: ResolvedSubscribeOptions,
    owner: Upstream | undefined
  ): Queue {
    const queue = new Queue(this, pattern, tokens, opts);
    queue.owner = owner;
    const now = clockNow();
    if (owner?.skipsRetained !== true)
      for (const [topic, msg] of this.retained) {
        if (msg.expiresAt !== 0 && msg.expiresAt <= now) this.retained.delete(topic);
        // A 'block' queue smaller than the matching retained set keeps the first ones that fit.
        else if (matches(tokens, topic.split('.')) && !queue.isBlockedFor(topic))
          queue.push(msg.copy(1, Math.min(msg.qos, queue.qos) as Qos));
      }
    this.index.add(tokens, queue);
    this.gen++;
    return queue;
  }

  /** A direct queue reads its topic's shared log instead of having messages pushed to it. */
  private attachLog(queue: Queue): void {
    let log = this.logs.get(queue.pattern);
    if (log === undefined) {
      log = new TopicLog(this, queue.pattern, queue.capacity * 2);
      this.logs.set(queue.pattern, log);
    }
    log.addReader(queue);
    queue.log = log;
    this.gen++;
  }

  private keepRetained(msg: Message): void {
    if (msg.payload === undefined) this.retained.delete(msg.topic);
    // A QoS 1 envelope gets ack state and list links once delivered: keep a clean copy.
    else this.retained.set(msg.topic, msg.qos === 0 ? msg : msg.copy(1, 1));
  }

  /** Removes a queue from routing, folds its counters into the totals and destroys it. */
  private retire(queue: Queue): void {
    if (queue.closed) return;
    const patterns = this.interestQueues.get(queue);
    if (patterns === undefined) this.index.remove(queue.tokens, queue);
    else for (const pattern of patterns) this.removeInterest(queue, pattern);
    this.interestQueues.delete(queue);
    // Back to one link: the remembered frames would hold their messages for nothing.
    if (!this.sharesFrames) this.frameCache = undefined;
    this.gen++;
    const r = this.retiredTotals;
    r.delivered += queue.delivered;
    r.acked += queue.acked;
    r.redelivered += queue.redelivered;
    r.deadLettered += queue.deadLetters;
    r.conflated += queue.conflatedCount;
    r.overflow += queue.overflowDrops;
    r.expired += queue.droppedExpired;
    r.emptied += queue.droppedEmptied;
    const log = queue.log;
    if (log !== undefined) {
      queue.droppedOverflow = queue.overflowDrops; // unread past its bound: counted, now fixed
      queue.log = undefined;
      log.removeReader(queue);
      if (log.readers.length === 0) this.logs.delete(log.topic);
    }
    queue.destroy();
    if (patterns === undefined) this.announce(queue);
  }

  private deleteChannel(queue: Queue): void {
    this.channels.delete(channelKey(queue.pattern, queue.channel!));
    if (queue.journal !== undefined) {
      queue.journal.channelDeleted(queue.durableKey);
      queue.journal = undefined; // its messages go with the channel record, not one by one
    }
    for (const sub of queue.consumers) {
      this.subscriptions.delete(sub.id);
      sub.finishWaiters();
    }
    queue.empty();
    this.retire(queue);
  }

  /**
   * A QoS 1 publish into durable channels: only from a caller that waits for the store
   * (`waits`), and only while the store can write.
   */
  private checkDurable(state: TopicState, waits: boolean): void {
    if (!waits) {
      throw new RingbusError(
        ErrorCode.DURABLE_ASYNC,
        `'${state.name}' enters a durable channel: a QoS 1 publish there is only accepted once it is on disk; use await bus.publishAsync()`
      );
    }
    const failure = this.store!.failure;
    if (failure !== undefined) throw failure;
  }

  private makeDurable(queue: Queue, key: string): void {
    queue.journal = this.store;
    queue.durableKey = key;
  }

  /** Creates a channel the store recovered and puts its unacked messages back, in order. */
  private restoreChannel(channel: RecoveredChannel): void {
    const s = channel.settings;
    const tokens = parsePattern(s.pattern);
    const given = parseWith(
      subscribeOptionsSchema,
      {
        channel: s.name,
        qos: 1,
        queueSize: s.queueSize,
        overflow: s.overflow,
        ackTimeoutMs: s.ackTimeoutMs,
        maxAttempts: s.maxAttempts
      },
      'recovered channel'
    );
    const queue = this.addQueue(
      s.pattern,
      tokens,
      resolveSubscribeOptions(given, false),
      undefined
    );
    this.channels.set(channel.key, queue);
    this.makeDurable(queue, channel.key);
    queue.spilled = channel.spilled;
    for (const m of channel.messages) queue.requeue(revive(m));
  }

  /** @internal {@link QueueHost} */
  loadSpilled(queue: Queue, max: number): Message[] {
    const store = this.store!;
    const loaded = store.load(queue.durableKey, max);
    if (loaded.length === 0 && store.writing && !queue.waitingForStore) {
      // Spilled records still in the write batch: read them once they are written.
      queue.waitingForStore = true;
      const wake = (): void => {
        queue.waitingForStore = false;
        queue.wake();
      };
      store.commit().then(wake, wake);
    }
    return loaded.map(revive);
  }

  private emitSafe<E extends keyof BusEvents>(event: E, ...args: Parameters<BusEvents[E]>): void {
    try {
      (this.emit as (e: E, ...a: Parameters<BusEvents[E]>) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error({ err, event }, 'ringbus: an event listener threw');
    }
  }
}

/** The meta of a message from a link; plain ones share one per (origin, hops): no allocation. */
function remoteMeta(
  frame: InboundFrame,
  origin: Upstream,
  now: number,
  responder: Responder,
  tag: number
): PublishMeta {
  const hops = frame.hops + 1;
  if (
    frame.headers === NO_HEADERS &&
    frame.ttlMs === 0 &&
    frame.replyTo === undefined &&
    tag === 0
  ) {
    return (origin.plainMetas[hops] ??= new PublishMeta(NO_HEADERS, 0, undefined, origin, hops, 0));
  }
  const reply: ReplyTarget | undefined =
    frame.replyTo === undefined ? undefined : { topic: frame.replyTo, responder };
  return new PublishMeta(
    frame.headers,
    frame.ttlMs === 0 ? 0 : now + frame.ttlMs,
    reply,
    origin,
    hops,
    tag
  );
}

/** A message read back from the store, as its channel delivers it. */
function revive(m: RecoveredMessage): ReliableMessage {
  const headers = Object.keys(m.headers).length === 0 ? NO_HEADERS : m.headers;
  const expiresAt = m.expiresAt === 0 ? 0 : m.expiresAt - CLOCK_EPOCH;
  const meta =
    headers === NO_HEADERS && expiresAt === 0
      ? PLAIN
      : new PublishMeta(headers, expiresAt, undefined);
  return new ReliableMessage(
    m.topic,
    m.payload,
    m.id,
    m.attempt,
    m.publishedAt - CLOCK_EPOCH,
    meta
  );
}

function queueStats(q: Queue, subscription: number | undefined): QueueStats {
  return {
    pattern: q.pattern,
    channel: q.channel,
    subscription,
    qos: q.qos,
    consumers: q.consumers.length,
    depth: q.depth,
    capacity: q.capacity,
    inFlight: q.inFlight,
    paused: q.paused,
    delivered: q.delivered,
    acked: q.acked,
    redelivered: q.redelivered,
    deadLettered: q.deadLetters,
    conflated: q.conflatedCount,
    dropped: { overflow: q.overflowDrops, expired: q.droppedExpired, emptied: q.droppedEmptied }
  };
}

/**
 * Enqueues a QoS 1 publish: each QoS 1 queue needs its own envelope (ack state is per queue);
 * QoS 0 queues and the direct log share one QoS 0 copy.
 */
function publishReliable(
  targets: Queue[],
  log: TopicLog | undefined,
  msg: ReliableMessage
): number {
  let entered = 0;
  let claimed = false;
  let shared: Message | undefined;
  for (const q of targets) {
    let m: Message;
    if (q.qos === 1) {
      m = claimed ? msg.copy(1, 1) : msg;
      claimed = true;
    } else m = shared ??= msg.copy(1, 0);
    if (q.push(m)) entered++;
  }
  if (log !== undefined) {
    log.append(shared ?? msg.copy(1, 0));
    entered += log.readers.length;
  }
  return entered;
}

/** Private QoS 0 push queues on an exact topic that drop their oldest read the topic's shared log. */
function isDirect(opts: ResolvedSubscribeOptions, tokens: readonly string[]): boolean {
  return (
    opts.qos === 0 &&
    opts.overflow === 'drop-oldest' &&
    !opts.conflate &&
    !tokens.some((t) => t === '*' || t === '>')
  );
}

/** Throws when a 'block' queue the message would enter is full (`origin`'s own it skips). */
function checkRoom(state: TopicState, origin?: Upstream): void {
  for (const q of state.targets) {
    if (origin !== undefined && (q.owner === origin || q.feeder === origin)) continue;
    if (q.isBlockedFor(state.name)) {
      throw new RingbusError(
        ErrorCode.QUEUE_FULL,
        `queue '${q.describe()}' is full (${q.capacity} messages, overflow 'block'); nothing was published — use publishAsync() to wait for room`
      );
    }
  }
}

/** Explicit options of a later channel member must agree with the channel's. */
function checkChannelOptions(q: Queue, given: SubscribeOptions): void {
  const fixed: [keyof SubscribeOptions, unknown][] = [
    ['qos', q.qos],
    ['queueSize', q.queueSize],
    ['overflow', q.overflow],
    ['conflate', q.conflate],
    ['ackTimeoutMs', q.ackTimeoutMs],
    ['maxAttempts', q.maxAttempts]
  ];
  for (const [field, value] of fixed) {
    if (given[field] !== undefined && given[field] !== value) {
      throw new RingbusError(
        ErrorCode.INVALID_OPTIONS,
        `${field} must match channel '${q.describe()}', which has ${field} ${JSON.stringify(value)} (got ${JSON.stringify(given[field])}); leave it out to join`
      );
    }
  }
}

function channelKey(pattern: string, name: string): string {
  return `${name} ${pattern}`; // neither may hold whitespace
}

function closedError(what: string): RingbusError {
  return new RingbusError(ErrorCode.CLOSED, `${what}() on a closed bus; create a new Bus`);
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  let id = '';
  for (const b of bytes) id += (b % 36).toString(36);
  return id + Date.now().toString(36).slice(-3);
}
