import { clockNow } from './clock.js';
import { ErrorCode, RingbusError } from './errors.js';
import {
  type Message,
  type MessageOwner,
  MessageState,
  type ReliableMessage,
  type Upstream
} from './message.js';
import type { Overflow, Qos, ResolvedSubscribeOptions } from './options.js';
import { InFlight } from './qos.js';
import { Ring } from './ring.js';
import type { DurableStore } from './store.js';
import type { Subscription } from './subscription.js';
import type { LogReader, TopicLog } from './topic-log.js';

/** Why a message was discarded without delivery. */
export type DropReason = 'overflow' | 'expired' | 'emptied';
/** Why a QoS 1 message went to `$dlq.<topic>`. */
export type DeadLetterReason = 'max-attempts' | 'overflow';

/** What a queue needs from its bus. @internal */
export interface QueueHost {
  now(): number;
  schedule(queue: Queue): void;
  dropped(queue: Queue, msg: Message, reason: DropReason): void;
  deadLettered(queue: Queue, msg: Message, reason: DeadLetterReason): void;
  /**
   * Reads back up to `max` of a durable queue's spilled messages; when none can be read yet (not
   * written), wakes the queue once they are.
   */
  loadSpilled(queue: Queue, max: number): Message[];
}

/**
 * What feeds a channel from outside the bus (the NATS bridge): it is the upstream of what it
 * delivers, and it may take a topic's publishes away from the channel (they come back through it).
 * @internal
 */
export interface Feeder extends Upstream {
  /** True when publishes on `topic` (its tokens) reach `queue` through the feeder, not directly. */
  diverts(topic: readonly string[], queue: Queue): boolean;
}

const DROP_OLDEST = 0;
const DROP_NEWEST = 1;
const BLOCK = 2;
const OVERFLOW_CODE: Record<Overflow, number> = {
  'drop-oldest': DROP_OLDEST,
  'drop-newest': DROP_NEWEST,
  block: BLOCK
};

/**
 * A bounded delivery queue: the private queue of one subscription, or the shared queue of a named
 * channel with its load-balanced consumers. Applies the overflow policy, conflation and TTL, and
 * tracks QoS 1 messages in flight (ack, nack, ack timeout, redelivery, dead-lettering).
 *
 * @internal
 */
export class Queue implements MessageOwner, LogReader {
  readonly pattern: string;
  readonly tokens: readonly string[];
  /** Channel name, or undefined for a private queue. */
  readonly channel: string | undefined;
  readonly qos: Qos;
  readonly overflow: Overflow;
  readonly queueSize: number;
  readonly conflate: boolean;
  readonly ackTimeoutMs: number;
  readonly maxAttempts: number;
  private readonly host: QueueHost;
  private readonly overflowCode: number;
  private readonly ring: Ring<Message>;
  /**
   * QoS 1 requeues (nack, timeout, consumer gone), bounded by what was in flight, and a durable
   * channel's messages recovered at start: never refused.
   */
  private readonly retry: Ring<Message>;
  private readonly conflated: Map<string, number> | undefined;
  private readonly inflight: InFlight;
  private readonly onTimerBound: () => void;
  /** Messages ever shifted from `ring`: turns a conflation sequence number into a ring offset. */
  private shifted: number;
  consumers: Subscription[];
  /** The store of a durable channel: where its QoS 1 messages' acks and requeues are recorded. */
  journal: DurableStore | undefined;
  /** This channel's key in {@link Queue.journal}. */
  durableKey: string;
  /** Messages of this durable channel that wait in the store only (its ring was full). */
  spilled: number;
  /** A read of spilled messages waits for the store to write them. */
  waitingForStore = false;
  /** What feeds this channel from outside the bus (the NATS bridge), if anything. */
  feeder: Feeder | undefined = undefined;
  /** The link this queue serves alone (its interest queue, or a proxy's private queue): messages from there never enter. */
  owner: Upstream | undefined;
  /** A remote-origin message waits for a consumer other than its origin's proxy: no self-wake. */
  private parked: boolean;
  /** The only consumer when it is a private QoS 0 push subscription: the drain fast path. */
  private single: Subscription | undefined;
  /**
   * Set for a direct queue (private, QoS 0, push, drop-oldest, no conflation, exact topic): its
   * messages are read from the topic's shared log at `cursor` instead of being pushed into `ring`
   * (which then only holds the retained message).
   */
  log: TopicLog | undefined;
  /** {@link LogReader.cursor} */
  cursor: number;
  private rr: number;
  paused: boolean;
  scheduled: boolean;
  /**
   * What the current drain may deliver (see {@link Queue.snapshot}): ring messages up to this
   * `shifted` value (absolute, so messages a drop-oldest push evicts are not replaced by new ones)
   * and this many requeued ones.
   */
  private ringEnd: number;
  private retryBudget: number;
  /** QoS 1 messages in a push handler that acks by returning (in flight, not listed). */
  private handling = 0;
  /** True during this queue's drain: a pull served meanwhile stays within the snapshot. */
  private draining = false;
  closed: boolean;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Nacked messages waiting out their delay, by timer. */
  private readonly delayed: Map<ReturnType<typeof setTimeout>, Message>;
  private roomWaiters: (() => void)[];
  delivered: number;
  acked: number;
  redelivered: number;
  deadLetters: number;
  conflatedCount: number;
  droppedOverflow: number;
  droppedExpired: number;
  droppedEmptied: number;

  constructor(
    host: QueueHost,
    pattern: string,
    tokens: readonly string[],
    opts: ResolvedSubscribeOptions
  ) {
    this.pattern = pattern;
    this.tokens = tokens;
    this.channel = opts.channel;
    this.qos = opts.qos;
    this.overflow = opts.overflow;
    this.queueSize = opts.queueSize;
    this.conflate = opts.conflate;
    this.ackTimeoutMs = opts.ackTimeoutMs;
    this.maxAttempts = opts.maxAttempts;
    this.host = host;
    this.overflowCode = OVERFLOW_CODE[opts.overflow];
    this.ring = new Ring<Message>(opts.queueSize);
    this.retry = new Ring<Message>(16);
    this.conflated = opts.conflate ? new Map() : undefined;
    this.inflight = new InFlight();
    this.onTimerBound = () => this.onAckTimeout();
    this.shifted = 0;
    this.consumers = [];
    this.journal = undefined;
    this.durableKey = '';
    this.spilled = 0;
    this.owner = undefined;
    this.parked = false;
    this.single = undefined;
    this.log = undefined;
    this.cursor = 0;
    this.rr = 0;
    this.paused = false;
    this.scheduled = false;
    this.ringEnd = 0;
    this.retryBudget = 0;
    this.closed = false;
    this.timer = undefined;
    this.delayed = new Map();
    this.roomWaiters = [];
    this.delivered = 0;
    this.acked = 0;
    this.redelivered = 0;
    this.deadLetters = 0;
    this.conflatedCount = 0;
    this.droppedOverflow = 0;
    this.droppedExpired = 0;
    this.droppedEmptied = 0;
  }

  /** Messages waiting for a consumer (not in flight). */
  get depth(): number {
    return (
      this.ring.size +
      this.retry.size +
      this.delayed.size +
      this.spilled +
      Math.min(this.unread, this.ring.capacity)
    );
  }

  /** Messages of the shared log this direct queue has not read yet (0 for other queues). */
  private get unread(): number {
    return this.log === undefined ? 0 : this.log.head - this.cursor;
  }

  /** True while the ring holds `capacity` messages. */
  get isFull(): boolean {
    return this.ring.isFull;
  }

  /** Real capacity (queueSize rounded up to a power of two). */
  get capacity(): number {
    return this.ring.capacity;
  }

  /** Unacked QoS 1 messages. */
  get inFlight(): number {
    return this.inflight.count + this.handling;
  }

  /** Dropped messages, all reasons (for a direct queue, including unread ones past its bound). */
  get dropped(): number {
    return this.overflowDrops + this.droppedExpired + this.droppedEmptied;
  }

  /** Overflow drops, counting a direct queue's unread messages beyond its bound (dropped at its next drain). */
  get overflowDrops(): number {
    return this.droppedOverflow + Math.max(0, this.unread - this.ring.capacity);
  }

  /**
   * True when a 'block' queue has no room for a message on `topic`: publish must not enter it. A
   * conflating queue always has room for a topic it holds (the new message replaces the old).
   */
  isBlockedFor(topic: string): boolean {
    if (this.overflowCode !== BLOCK || !this.ring.isFull || this.journal !== undefined)
      return false;
    const seq = this.conflated?.get(topic);
    return seq === undefined || seq < this.shifted;
  }

  addConsumer(sub: Subscription): void {
    this.consumers = [...this.consumers, sub];
    this.single = this.channel === undefined && this.qos === 0 && sub.isPush ? sub : undefined;
    this.wake();
  }

  /** Removes a channel consumer; its in-flight messages go back to the queue (attempt + 1). */
  removeConsumer(sub: Subscription): void {
    this.consumers = this.consumers.filter((c) => c !== sub);
    this.single = undefined;
    for (const msg of this.inflight.heldBy(sub)) this.settle(msg, 0);
    this.wake();
  }

  /**
   * Enqueues `msg` under the overflow policy. O(1), no allocation (a conflating queue does one
   * Map write).
   *
   * @returns false when the message did not enter (drop-newest on a full queue)
   */
  push(msg: Message): boolean {
    if (this.spilled !== 0 && this.spill(msg)) return true;
    const conflated = this.conflated;
    if (conflated !== undefined) {
      const seq = conflated.get(msg.topic);
      if (seq !== undefined && seq >= this.shifted) {
        this.ring.set(seq - this.shifted, msg);
        this.conflatedCount++;
        return true;
      }
    }
    if (!this.ring.push(msg)) {
      if (this.journal !== undefined) {
        // A durable channel never blocks: what it recorded waits on disk, the rest is refused.
        if (this.spill(msg)) return true;
        this.overflowed(msg);
        return false;
      }
      if (this.overflowCode === DROP_OLDEST) {
        this.overflowed(this.take()!);
        this.ring.push(msg);
      } else if (this.overflowCode === DROP_NEWEST) {
        this.overflowed(msg);
        return false;
      } else {
        // publish() checks 'block' queues before entering any; this guards the invariant.
        throw new RingbusError(ErrorCode.QUEUE_FULL, `queue '${this.describe()}' is full`);
      }
    }
    if (conflated !== undefined) conflated.set(msg.topic, this.shifted + this.ring.size - 1);
    if (!this.scheduled) this.host.schedule(this);
    return true;
  }

  /** Leaves a message this durable queue's store recorded on disk only; false if it did not. */
  private spill(msg: Message): boolean {
    if (msg.qos !== 1 || msg.meta.tag !== 0 || !this.journal!.spilled(this.durableKey, msg.id))
      return false;
    this.spilled++;
    return true;
  }

  /** Reads spilled messages back into the ring once it is half empty. */
  private refill(): void {
    if (this.spilled === 0 || this.closed || this.ring.size > this.ring.capacity >> 1) return;
    const loaded = this.host.loadSpilled(this, this.ring.capacity - this.ring.size);
    for (const msg of loaded) this.ring.push(msg);
    this.spilled = this.journal!.spilledCount(this.durableKey);
    if (loaded.length > 0) this.wake();
  }

  /**
   * Fixes what the coming drain may deliver, at the start of a flush: messages that handlers
   * publish during the flush wait for the next one, even into a queue that drains later.
   */
  snapshot(): void {
    this.ringEnd = this.shifted + this.ring.size;
    this.retryBudget = this.retry.size;
  }

  /** Delivers what was queued at the snapshot to ready consumers. Called by the dispatcher. */
  drain(): void {
    this.scheduled = false;
    if (this.paused || this.closed) return;
    this.draining = true;
    this.parked = false;
    const single = this.single;
    if (single !== undefined) {
      if (!single.paused) this.drainSingle(single);
      if (this.log !== undefined && !single.paused && !this.closed) this.readLog(single, this.log);
    } else if (this.consumers.length > 0) {
      this.drainShared();
    }
    // Stopped by the snapshot with messages left (published during this flush): next drain.
    const stopped =
      (this.shifted >= this.ringEnd && this.ring.size > 0) ||
      (this.retryBudget === 0 && this.retry.size > 0);
    this.ringEnd = this.shifted;
    this.retryBudget = 0;
    this.draining = false;
    if (stopped && !this.paused && !this.parked) this.wake();
    this.refill();
    if (this.roomWaiters.length > 0 && !this.ring.isFull) this.releaseRoomWaiters();
  }

  /** Private QoS 0 push subscription: one tight loop, no consumer selection. */
  private drainSingle(sub: Subscription): void {
    while (this.shifted < this.ringEnd) {
      const msg = this.take();
      if (msg === undefined) return; // the handler unsubscribed
      this.handOver(sub, msg);
      if (sub.paused) return;
    }
  }

  /** Delivers to a private push subscriber, or drops the message if its TTL ran out. */
  private handOver(sub: Subscription, msg: Message): void {
    if (msg.expiresAt !== 0 && msg.expiresAt <= this.host.now()) {
      this.drop(msg, 'expired');
      return;
    }
    // Counted before the handler runs: it may read stats, or unsubscribe (retiring the counters).
    this.delivered++;
    sub.delivered++;
    sub.invoke(msg);
  }

  /** Direct queue: delivers the log from `cursor` to the head as it is now, oldest first. */
  private readLog(sub: Subscription, log: TopicLog): void {
    const from = this.cursor;
    const cap = this.ring.capacity;
    // log.end and cursor are both shifted by a rebase: read them afresh every time.
    while (this.cursor < log.end) {
      // Drop-oldest against what was written so far, as a private queue does at push time.
      if (log.head - this.cursor > cap) {
        this.skipTo(log.head - cap);
        continue;
      }
      this.handOver(sub, log.at(this.cursor++));
      if (sub.paused || this.closed) break;
    }
    if (!this.closed && from === log.oldest) log.release();
  }

  /** {@link LogReader.skipTo} */
  skipTo(seq: number): void {
    const log = this.log!;
    while (this.cursor < seq) this.drop(log.at(this.cursor++), 'overflow');
  }

  private drainShared(): void {
    // Check for a message before choosing a consumer: choosing advances the round-robin.
    while (!this.paused && !this.closed && this.hasSnapshotLeft()) {
      const consumer = this.nextReady();
      if (consumer === undefined) break;
      const msg = this.takeLive(true);
      if (msg === undefined) break;
      // Never back to the link it came from: another consumer, or it waits for one.
      const origin = consumer.link === undefined ? undefined : msg.meta.origin;
      if (origin !== undefined && origin === consumer.link) {
        const other = this.nextReady(origin);
        if (other === undefined) {
          if (this.retry.isFull) this.retry.grow();
          this.retry.push(msg);
          this.parked = true;
          break;
        }
        this.deliver(other, msg);
      } else this.deliver(consumer, msg);
    }
    for (const c of this.consumers) if (!c.isPush) c.completePull();
  }

  /** Fills a pull consumer's waiting batch from what is queued now. */
  serve(consumer: Subscription): void {
    while (!this.paused && !this.closed && this.isReady(consumer)) {
      const msg = this.takeLive(this.draining);
      if (msg === undefined) break;
      this.deliver(consumer, msg);
    }
    if (!this.draining) this.refill();
    if (this.roomWaiters.length > 0 && !this.ring.isFull) this.releaseRoomWaiters();
  }

  private deliver(consumer: Subscription, msg: Message): void {
    this.delivered++;
    consumer.delivered++;
    if (msg.qos === 1) {
      const reliable = msg as ReliableMessage; // every QoS 1 message is one
      reliable.consumer = consumer;
      consumer.inFlight++;
      if (consumer.acksOnReturn) {
        // The handler acks by returning: list it (ack timer and all) only if it returns a promise.
        reliable.state = MessageState.IN_HANDLER;
        this.handling++;
        consumer.invoke(msg);
        return;
      }
      this.track(reliable);
    }
    consumer.receive(msg);
  }

  /** Puts a delivered QoS 1 message in the in-flight list: its ack timeout starts now. */
  track(msg: ReliableMessage): void {
    if (this.closed) return;
    if (msg.state === MessageState.IN_HANDLER) this.handling--;
    this.inflight.add(msg, clockNow() + this.ackTimeoutMs);
    if (this.timer === undefined) this.armTimer();
  }

  /** Takes a QoS 1 message out of flight (listed or still in its handler) and frees its credit. */
  private release(msg: ReliableMessage): void {
    if (msg.state === MessageState.IN_FLIGHT) this.inflight.remove(msg);
    else {
      msg.state = MessageState.SETTLED;
      this.handling--;
    }
    msg.consumer!.inFlight--;
    // The consumer has credit again: waiting messages may go now.
    if (this.ring.size + this.retry.size > 0) this.wake();
  }

  private isReady(c: Subscription): boolean {
    return (
      !c.paused &&
      !c.closed &&
      (c.isPush || c.hasWaiter) &&
      (this.qos === 0 || c.inFlight < c.maxInFlight)
    );
  }

  /** Round-robin among ready consumers (other than the proxies of link `except`). */
  private nextReady(except?: Upstream): Subscription | undefined {
    const cs = this.consumers;
    const n = cs.length;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const c = cs[i];
      if (this.isReady(c) && (except === undefined || c.link !== except)) {
        this.rr = i + 1;
        return c;
      }
    }
    return undefined;
  }

  /** Next deliverable message, requeues first; expired ones are dropped on the way. */
  private hasSnapshotLeft(): boolean {
    return (this.retryBudget > 0 && this.retry.size > 0) || this.shifted < this.ringEnd;
  }

  private takeLive(withinSnapshot: boolean): Message | undefined {
    for (;;) {
      let msg: Message | undefined;
      if (this.retry.size > 0 && (!withinSnapshot || this.retryBudget > 0)) {
        if (withinSnapshot) this.retryBudget--;
        msg = this.retry.shift();
      } else if (!withinSnapshot || this.shifted < this.ringEnd) msg = this.take();
      if (msg === undefined) return undefined;
      if (msg.expiresAt === 0 || msg.expiresAt > this.host.now()) return msg;
      this.drop(msg, 'expired');
    }
  }

  private take(): Message | undefined {
    const msg = this.ring.shift();
    if (msg === undefined) return undefined;
    if (this.conflated !== undefined && this.conflated.get(msg.topic) === this.shifted)
      this.conflated.delete(msg.topic);
    this.shifted++;
    return msg;
  }

  /** {@link MessageOwner.ack} */
  ack(msg: ReliableMessage): boolean {
    if (this.closed) return this.gone(msg);
    this.release(msg);
    this.acked++;
    settleUpstream(msg);
    this.forget(msg);
    return true;
  }

  /** A message of this bus left a durable channel for good (not one a link delivered here). */
  private forget(msg: Message): void {
    if (this.journal !== undefined && msg.qos === 1 && msg.meta.tag === 0)
      this.journal.removed(this.durableKey, msg.id);
  }

  /** A message of a queue that is gone: settled, nothing else. */
  private gone(msg: ReliableMessage): boolean {
    msg.state = MessageState.SETTLED;
    return false;
  }

  /** {@link MessageOwner.nack} */
  nack(msg: ReliableMessage, delayMs: number): boolean {
    if (this.closed) return this.gone(msg);
    this.settle(msg, delayMs);
    return true;
  }

  /** Takes `msg` out of flight and requeues it (attempt + 1) or dead-letters it. */
  private settle(msg: ReliableMessage, delayMs: number): void {
    this.release(msg);
    this.retryOrDeadLetter(msg, delayMs);
  }

  private retryOrDeadLetter(msg: Message, delayMs: number): void {
    if (msg.attempt >= this.maxAttempts) {
      this.deadLetters++;
      settleUpstream(msg);
      // Dead letter first: a crash between the two records must not lose it from both channels.
      this.host.deadLettered(this, msg, 'max-attempts');
      this.forget(msg);
      return;
    }
    this.redelivered++;
    if (this.journal !== undefined && msg.meta.tag === 0)
      this.journal.requeued(this.durableKey, msg.id);
    const again = msg.copy(msg.attempt + 1, msg.qos);
    if (delayMs > 0 && !this.closed) {
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        this.requeue(again);
      }, delayMs);
      this.delayed.set(timer, again);
    } else this.requeue(again);
  }

  /** Queues `msg` ahead of new messages: a redelivery, or a message recovered from the store. */
  requeue(msg: Message): void {
    if (this.closed) return;
    if (this.retry.isFull) this.retry.grow();
    this.retry.push(msg);
    this.wake();
  }

  private armTimer(): void {
    const first = this.inflight.first();
    if (first === undefined || this.closed) return;
    this.timer = setTimeout(this.onTimerBound, Math.max(0, first.deadline - clockNow()));
    unrefTimer(this.timer);
  }

  private onAckTimeout(): void {
    this.timer = undefined;
    const now = clockNow(); // a timer fires outside any burst: read the precise clock
    for (
      let msg = this.inflight.first();
      msg !== undefined && msg.deadline <= now;
      msg = this.inflight.first()
    ) {
      this.settle(msg, 0);
    }
    this.armTimer();
  }

  private overflowed(msg: Message): void {
    if (msg.qos === 1) {
      this.deadLetters++;
      settleUpstream(msg);
      this.host.deadLettered(this, msg, 'overflow');
      this.forget(msg);
    } else this.drop(msg, 'overflow');
  }

  private drop(msg: Message, reason: DropReason): void {
    if (reason === 'overflow') this.droppedOverflow++;
    else if (reason === 'expired') this.droppedExpired++;
    else this.droppedEmptied++;
    const meta = msg.meta;
    // Expired: dead everywhere, the sender may forget it. Emptied: it may go elsewhere.
    if (meta.tag !== 0) {
      if (reason === 'expired') meta.origin!.settled(meta.tag);
      else meta.origin!.released?.(meta.tag);
    }
    this.forget(msg);
    this.host.dropped(this, msg, reason);
  }

  /** Resolves when a 'block' queue has room again (or is gone). */
  waitForRoom(): Promise<void> {
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private releaseRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Pauses delivery; messages keep queueing (bounded). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake();
  }

  /** Schedules a drain (a consumer became ready). */
  wake(): void {
    if (!this.scheduled && !this.closed) this.host.schedule(this);
  }

  /** Drops every queued message (not those in flight), counted as 'emptied'. */
  empty(): number {
    let n = 0;
    for (let msg = this.retry.shift(); msg !== undefined; msg = this.retry.shift(), n++)
      this.drop(msg, 'emptied');
    for (let msg = this.take(); msg !== undefined; msg = this.take(), n++)
      this.drop(msg, 'emptied');
    for (const [timer, msg] of this.delayed) {
      clearTimeout(timer);
      this.drop(msg, 'emptied');
      n++;
    }
    this.delayed.clear();
    if (this.spilled !== 0) {
      // On disk only: counted, without a 'drop' event each (they are not read back for it).
      const spilled = this.journal!.dropSpilled(this.durableKey);
      this.spilled = 0;
      this.droppedEmptied += spilled;
      n += spilled;
    }
    this.releaseRoomWaiters();
    return n;
  }

  /** Discards everything and stops timers: the queue is gone (unsubscribe, channel delete, close). */
  destroy(): void {
    this.closed = true;
    this.ring.clear();
    this.retry.clear();
    this.conflated?.clear();
    for (let msg = this.inflight.first(); msg !== undefined; msg = this.inflight.first())
      this.inflight.remove(msg);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.handling = 0;
    for (const timer of this.delayed.keys()) clearTimeout(timer);
    this.delayed.clear();
    this.releaseRoomWaiters();
  }

  /** `pattern` or `pattern#channel`, for messages and stats. */
  describe(): string {
    return this.channel === undefined ? this.pattern : `${this.pattern}#${this.channel}`;
  }
}

/** A message from a link is consumed here (acked or dead-lettered): the sender may forget it. */
function settleUpstream(msg: Message): void {
  const meta = msg.meta;
  if (meta.tag !== 0) meta.origin!.settled(meta.tag);
}

/** Lets Node exit while only ack timers are pending; browsers have no unref. */
function unrefTimer(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}

/**
 * A private QoS 0 queue that keeps every message: links carry its pattern as interest (one send
 * queue per link). Any other queue is advertised by id, with its options: a conflated one is
 * conflated on the sending bus too, so a slow link keeps each topic's latest message.
 * @internal
 */
export function isInterestQueue(queue: Queue): boolean {
  return queue.channel === undefined && queue.qos === 0 && !queue.conflate;
}
