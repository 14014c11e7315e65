import { ErrorCode, RingbusError } from '../errors.js';
import { BodyReader } from '../frames/body-reader.js';
import {
  type CreditFrame,
  type ErrorFrame,
  type Hello,
  PROTOCOL_VERSION,
  type SubFrame,
  creditSchema,
  errorSchema,
  helloSchema,
  interestSchema,
  readControl,
  subSchema,
  unsubSchema,
  writeControl
} from '../frames/control.js';
import {
  InboundFrame,
  type PayloadCodec,
  readMsg,
  readPub,
  writeMsg,
  writePub
} from '../frames/envelope.js';
import { RangeFrameDecoder } from '../frames/frame-decoder.js';
import { FrameType, MsgFlag } from '../frames/frame-type.js';
import { MAX_ACK_TIMEOUT_MS, MAX_DURATION_MS, MAX_IN_FLIGHT, MIN_FRAME_BYTES } from '../limits.js';
import type { Message, PublishMeta, Upstream } from '../message.js';
import type { Overflow, SubscribeOptions } from '../options.js';
import { type Queue, isInterestQueue } from '../queue.js';
import type { Handler, Subscription } from '../subscription.js';
import { type Permissions, forbidden, sameToken } from './permissions.js';
import type { FrameCache } from './frame-cache.js';
import { FrameWriter } from './frame-writer.js';
import { TagTable } from './tag-table.js';
import type { Connection } from './transport.js';
import { parsePattern } from '../subject.js';

/** Link options after validation, shared by both ends of a session. @internal */
export interface SessionSettings {
  readonly maxFrameBytes: number;
  readonly keepaliveMs: number;
  readonly handshakeTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly maxPendingBytes: number;
  readonly flushIntervalMs: number;
  readonly sendQueueSize: number;
  readonly overflow: Overflow;
  readonly hopLimit: number;
  readonly maxSubscriptionsPerLink: number;
  readonly codec: PayloadCodec | undefined;
  /** Client: the token sent in HELLO. */
  readonly token: string | undefined;
  /** Listener: token → permissions; undefined accepts every peer with full rights. */
  readonly auth: ReadonlyMap<string, Permissions> | undefined;
}

/** What a session needs from its bus. @internal */
export interface SessionHost {
  readonly id: string;
  watch(watcher: InterestWatcher): void;
  unwatch(watcher: InterestWatcher): void;
  /** Patterns of the private QoS 0 queues (including other links' interest) and the queues advertised by id. */
  interest(): { patterns: [string, Queue][]; queues: Queue[] };
  /** A consumer of `queue` changed what it may hold (a proxy's credit): tell the other links. */
  consumersChanged(queue: Queue): void;
  subscribeProxy(
    pattern: string,
    handler: Handler,
    options: SubscribeOptions,
    link: Upstream
  ): Subscription;
  openInterestQueue(
    link: Upstream,
    size: number,
    overflow: Overflow,
    handler: Handler
  ): Subscription;
  addInterest(queue: Queue, pattern: string): void;
  removeInterest(queue: Queue, pattern: string): void;
  /** Publishes a message that came over a link; `toAll` false: only private QoS 0 queues. */
  publishRemote(frame: InboundFrame, origin: Upstream, toAll: boolean, retain: boolean): number;
  /** The store's append count now (0 without a store), for {@link SessionHost.durableCommit}. */
  durableMark(): number;
  /** The store commit to wait for when records were appended since `mark`; else undefined. */
  durableCommit(mark: number): Promise<void> | undefined;
  /** Hands a message addressed to one of this bus's queues to it; false when it has no room. */
  deliverRemote(queue: Queue, frame: InboundFrame, origin: Upstream): boolean;
  now(): number;
  /** Interest deliveries encoded by one link for the others; none while there is one link. */
  readonly frames: FrameCache | undefined;
  reportError(error: RingbusError): void;
  /** Is a link to a bus with this id up? */
  peerConnected(id: string): boolean;
}

/** Told by the bus when what it would advertise changes. @internal */
export interface InterestWatcher {
  patternAdded(pattern: string, queue: Queue): void;
  patternRemoved(pattern: string, queue: Queue): void;
  queueChanged(queue: Queue): void;
}

/** What a session reports to the link that owns it. @internal */
export interface SessionEvents {
  up(session: LinkSession): void;
  closed(session: LinkSession, error: RingbusError | undefined): void;
}

/** What a link uses of its current session, framed or raw. @internal */
export interface LinkSession {
  readonly peer: string | undefined;
  readonly isUp: boolean;
  readonly counters: SessionCounters;
  readonly framesOut: number;
  readonly bytesOut: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly dropped: number;
  /** Resolves once what was sent before took effect on the peer. */
  ping(): Promise<void>;
  publish(
    fields: { topic: string; payload: unknown; headers: Readonly<Record<string, string>> },
    qos: 0 | 1,
    retain: boolean,
    ttlMs: number
  ): Promise<number>;
  close(): void;
}

/** Counters of a session, folded into its link's stats. */
export interface SessionCounters {
  framesIn: number;
  bytesIn: number;
  messagesIn: number;
  messagesOut: number;
  /** Messages not forwarded or not accepted: hop limit, permissions, encoding, expired. */
  refused: number;
}

/** Fresh {@link SessionCounters}, all zero. @internal */
export function zeroCounters(): SessionCounters {
  return { framesIn: 0, bytesIn: 0, messagesIn: 0, messagesOut: 0, refused: 0 };
}

interface PendingPing {
  resolve(): void;
  reject(error: RingbusError): void;
}

interface PendingPublish {
  resolve(entered: number): void;
  reject(error: RingbusError): void;
}

/** A QoS 1 message a full queue refused is offered again after this delay. */
const REFUSED_RETRY_MS = 50;

const State = { HANDSHAKE: 0, UP: 1, CLOSED: 2 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * One connection speaking the framed protocol (docs/protocol.md): handshake, interest in both
 * directions, messages with QoS 1 acks, remote publish, ping/pong, errors. A client link makes a
 * new session for every (re)connection; a listener makes one per accepted connection.
 *
 * @internal
 */
export class Session implements Upstream, InterestWatcher, LinkSession {
  /** The peer's bus id, once its HELLO arrived. */
  peer: string | undefined = undefined;
  readonly counters: SessionCounters = zeroCounters();
  private state: State = State.HANDSHAKE;
  private readonly decoder: RangeFrameDecoder;
  private readonly writer: FrameWriter;
  private readonly reader = new BodyReader();
  private readonly inbound = new InboundFrame();
  private permissions: Permissions | undefined = undefined;
  /** Outbound: the queue holding messages for the peer's private QoS 0 interest. */
  private interestSub: Subscription | undefined = undefined;
  private readonly remotePatterns = new Set<string>();
  /** Outbound: proxies of the peer's subscriptions, by the peer's sid. */
  private readonly proxies = new Map<number, Subscription>();
  /** Outbound QoS 1 deliveries waiting for the peer's ack, by tag. */
  private readonly unacked = new TagTable<Message>();
  private tagSeq = 0;
  /** Inbound: what this bus advertised (its sid and the credit last sent), by queue and by sid. */
  private readonly advertised = new Map<Queue, { readonly sid: number; credit: number }>();
  private readonly bySid = new Map<number, Queue>();
  private sidSeq = 0;
  private readonly patternCounts = new Map<string, number>();
  /** Tags of inbound QoS 1 messages settled here, sent as one ACK frame per flush. */
  private acks: number[] = [];
  private readonly pings = new Map<number, PendingPing>();
  private pingSeq = 0;
  private readonly deferredPings: number[] = [];
  /** {@link Upstream.plainMetas} */
  readonly plainMetas: (PublishMeta | undefined)[] = [];
  private readonly publishes = new Map<number, PendingPublish>();
  private pubSeq = 0;
  /**
   * Keepalive, in `performance.now()` ms (monotonic: a wall-clock step drops no link): the last
   * chunk read, the last PING sent, and the first PING sent since that chunk (older: none yet).
   */
  private lastInbound = 0;
  private lastPing = 0;
  private firstUnanswered = 0;
  /** A timeout looked due: it is confirmed after pending input had its turn. */
  private confirming = false;
  private keepalive: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly keepaliveBound = (): void => this.checkKeepalive();
  /** The protocol version both sides speak: the lower of ours and the peer's HELLO `v`. */
  private version: Hello['v'] = PROTOCOL_VERSION;
  private deadline: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(
    private readonly host: SessionHost,
    private readonly conn: Connection,
    private readonly settings: SessionSettings,
    private readonly isClient: boolean,
    private readonly events: SessionEvents
  ) {
    this.decoder = new RangeFrameDecoder(settings.maxFrameBytes, (bytes, start, end) =>
      this.onFrame(bytes, start, end)
    );
    // Until the peer's HELLO is accepted, only a handshake-sized frame may be buffered.
    this.decoder.maxFrameBytes = Math.min(settings.maxFrameBytes, MIN_FRAME_BYTES);
    this.writer = new FrameWriter(
      conn,
      settings.maxFrameBytes,
      settings.flushIntervalMs,
      settings.writeTimeoutMs,
      settings.maxPendingBytes,
      {
        beforeFlush: () => {
          if (this.acks.length > 0) this.writeAcks();
        },
        pause: () => this.setPaused(true),
        resume: () => this.setPaused(false),
        stalled: (error) => this.fail(error)
      }
    );
    conn.setHandlers({
      data: (chunk) => this.onData(chunk),
      drain: () => this.writer.drained(),
      // A stream that ends inside a frame is a peer fault, not a clean goodbye.
      close: () =>
        this.teardown(
          this.decoder.end() ??
            new RingbusError(ErrorCode.LINK_DOWN, 'connection lost without a goodbye')
        )
    });
    this.deadline = setTimeout(
      () =>
        this.fail(
          new RingbusError(
            ErrorCode.TIMEOUT,
            `no handshake within ${settings.handshakeTimeoutMs} ms`
          )
        ),
      settings.handshakeTimeoutMs
    );
    if (isClient) this.sendHello();
  }

  /** True once the handshake is done and until the connection closes. */
  get isUp(): boolean {
    return this.state === State.UP;
  }

  get framesOut(): number {
    return this.writer.framesOut;
  }

  get bytesOut(): number {
    return this.writer.bytesOut;
  }

  /** Unacked QoS 1 deliveries to the peer. */
  get inFlight(): number {
    return this.unacked.size;
  }

  /** Messages waiting in the peer's interest queue. */
  get queued(): number {
    return this.interestSub?.pending ?? 0;
  }

  /** Messages the interest queue dropped (overflow while the peer was slow). */
  get dropped(): number {
    return this.interestSub?.dropped ?? 0;
  }

  /** Resolves once everything sent before it took effect on the peer, and the reverse. */
  ping(): Promise<void> {
    if (this.state === State.CLOSED) return Promise.reject(linkDown());
    const id = ++this.pingSeq;
    return new Promise((resolve, reject) => {
      this.pings.set(id, { resolve, reject });
      // During the handshake: after our advertisements (sent once the peer's HELLO is in), so
      // the PONG proves the peer registered them. Otherwise after the drain already scheduled,
      // so messages published before the call go first.
      if (this.state === State.HANDSHAKE) this.deferredPings.push(id);
      else queueMicrotask(() => this.sendPing(id));
    });
  }

  /** Publishes on the peer's bus; with `ack`, resolves with the number of queues it entered there. */
  publish(
    fields: { topic: string; payload: unknown; headers: Readonly<Record<string, string>> },
    qos: 0 | 1,
    retain: boolean,
    ttlMs: number
  ): Promise<number> {
    if (this.state !== State.UP) return Promise.reject(linkDown());
    const pubId = qos === 1 ? ++this.pubSeq : 0;
    const envelope = { ...fields, replyTo: undefined };
    try {
      writePub(this.writer.encoder, envelope, pubId, qos, retain, ttlMs, this.settings.codec);
    } catch (err) {
      return Promise.reject(encodeError(err));
    }
    this.counters.messagesOut++;
    this.wrote();
    if (pubId === 0) return Promise.resolve(-1);
    return new Promise((resolve, reject) => this.publishes.set(pubId, { resolve, reject }));
  }

  /** Says goodbye and closes after what is queued has been sent. */
  close(): void {
    if (this.state === State.CLOSED) return;
    this.writeEmpty(FrameType.GOODBYE);
    this.writer.end();
    this.teardown(undefined);
  }

  // --- Upstream: the peer delivered a QoS 1 message that is now consumed here -------------

  /** {@link Upstream.settled} */
  settled(tag: number): void {
    if (this.state !== State.UP) return;
    this.acks.push(tag);
    this.writer.schedule();
  }

  // --- InterestWatcher: what this bus wants from the peer ---------------------------------

  /** {@link InterestWatcher.patternAdded} */
  patternAdded(pattern: string, queue: Queue): void {
    if (queue.owner === this || !this.mayForward(pattern)) return;
    const n = this.patternCounts.get(pattern) ?? 0;
    this.patternCounts.set(pattern, n + 1);
    if (n === 0) this.control(FrameType.INTEREST, { pattern });
  }

  /** {@link InterestWatcher.patternRemoved} */
  patternRemoved(pattern: string, queue: Queue): void {
    if (queue.owner === this || !this.mayForward(pattern)) return;
    const n = this.patternCounts.get(pattern) ?? 0;
    if (n <= 1) {
      this.patternCounts.delete(pattern);
      if (n === 1) this.control(FrameType.UNINTEREST, { pattern });
    } else this.patternCounts.set(pattern, n - 1);
  }

  /** {@link InterestWatcher.queueChanged} */
  queueChanged(queue: Queue): void {
    // Advertise a queue only while someone other than this peer's proxies consumes from it, and
    // not a channel fed from elsewhere (the NATS bridge): peers reach it through the feeder.
    const wanted =
      !queue.closed &&
      queue.owner !== this &&
      queue.feeder === undefined &&
      this.mayForward(queue.pattern) &&
      queue.consumers.some((c) => c.link !== this) &&
      !isInterestQueue(queue);
    const ad = this.advertised.get(queue);
    if (ad === undefined) {
      if (!wanted) return;
      const sid = ++this.sidSeq;
      const credit = this.creditOf(queue);
      this.advertised.set(queue, { sid, credit });
      this.bySid.set(sid, queue);
      this.control(FrameType.SUB, subFrameOf(queue, sid, credit));
    } else if (!wanted) {
      this.advertised.delete(queue);
      this.bySid.delete(ad.sid);
      this.control(FrameType.UNSUB, { sid: ad.sid });
    } else if (this.version >= 2) {
      // Still wanted: its consumers changed, so may what they hold (a version 1 peer keeps the first).
      const credit = this.creditOf(queue);
      if (credit === ad.credit) return;
      ad.credit = credit;
      this.control(FrameType.CREDIT, { sid: ad.sid, credit });
    }
  }

  /**
   * How many unacked deliveries the peer may send for `queue`: what its consumers here (not the
   * peer's own proxies) may hold at once, their `maxInFlight` summed, at most its capacity. As
   * NSQ's RDY: the rest stays at home, where other consumers of a shared channel can take it.
   */
  private creditOf(queue: Queue): number {
    let credit = 0;
    for (const c of queue.consumers) if (c.link !== this) credit += c.maxInFlight;
    return Math.max(1, Math.min(credit, queue.capacity, MAX_IN_FLIGHT));
  }

  // --- inbound ------------------------------------------------------------------------------

  private onData(chunk: Uint8Array): void {
    this.counters.bytesIn += chunk.length;
    this.lastInbound = performance.now();
    const err = this.decoder.push(chunk);
    if (err !== undefined) this.fail(err);
  }

  private onFrame(bytes: Uint8Array, start: number, end: number): void {
    if (this.state === State.CLOSED) return;
    this.counters.framesIn++;
    try {
      if (end === start) throw protocol('empty frame body (every frame starts with its type)');
      const r = this.reader;
      r.reset(bytes, start, end);
      const type = r.u8();
      if (this.state === State.HANDSHAKE && type !== FrameType.HELLO && type !== FrameType.ERROR)
        throw protocol(`frame type 0x${hex(type)} before the handshake`);
      this.dispatch(type, r);
    } catch (err) {
      this.fail(
        err instanceof RingbusError
          ? err
          : new RingbusError(ErrorCode.PROTOCOL, 'a frame could not be handled', { cause: err })
      );
    }
  }

  private dispatch(type: number, r: BodyReader): void {
    switch (type) {
      case FrameType.MSG:
        return this.onMsg(r);
      case FrameType.ACK:
        return this.onAck(r);
      case FrameType.NACK:
        return this.onNack(r);
      case FrameType.PUB:
        return this.onPub(r);
      case FrameType.PUBACK:
        return this.onPubAck(r);
      case FrameType.PING:
        this.writePing(FrameType.PONG, r.uint());
        return r.done('PING');
      case FrameType.PONG:
        return this.onPong(r);
      case FrameType.HELLO:
        return this.onHello(readControl(r, helloSchema, 'HELLO'));
      case FrameType.ERROR:
        return this.onError(readControl(r, errorSchema, 'ERROR'));
      case FrameType.GOODBYE:
        r.done('GOODBYE');
        this.writer.end();
        return this.teardown(undefined);
      case FrameType.SUB:
        return this.onSub(readControl(r, subSchema, 'SUB'));
      case FrameType.UNSUB:
        return this.onUnsub(readControl(r, unsubSchema, 'UNSUB').sid);
      case FrameType.CREDIT:
        return this.onCredit(readControl(r, creditSchema, 'CREDIT'));
      case FrameType.INTEREST:
        return this.onInterest(readControl(r, interestSchema, 'INTEREST').pattern, true);
      case FrameType.UNINTEREST:
        return this.onInterest(readControl(r, interestSchema, 'UNINTEREST').pattern, false);
      default:
        throw protocol(`unknown frame type 0x${hex(type)}`);
    }
  }

  private onHello(hello: Hello): void {
    if (this.state !== State.HANDSHAKE) throw protocol('a second HELLO');
    this.version = hello.v < PROTOCOL_VERSION ? hello.v : PROTOCOL_VERSION;
    if (!this.isClient) {
      const auth = this.settings.auth;
      if (auth !== undefined) {
        this.permissions = findToken(auth, hello.token);
        if (this.permissions === undefined) {
          throw new RingbusError(
            ErrorCode.AUTH,
            hello.token === undefined
              ? 'this listener needs a token; pass { token } to connect()'
              : 'the token is not accepted by this listener'
          );
        }
      }
      // A bus id is how replies find their way ($inbox.<id>.*): one connection per id.
      if (hello.bus === this.host.id || this.host.peerConnected(hello.bus)) {
        throw new RingbusError(
          ErrorCode.FORBIDDEN,
          `a bus with id '${hello.bus}' is already connected here; give each bus its own id`
        );
      }
      this.sendHello();
    }
    this.peer = hello.bus;
    // Never send the peer a frame larger than it accepts.
    this.writer.limit(Math.min(this.settings.maxFrameBytes, hello.maxFrameBytes));
    this.decoder.maxFrameBytes = this.settings.maxFrameBytes;
    clearTimeout(this.deadline);
    this.deadline = undefined;
    this.state = State.UP;
    this.interestSub = this.host.openInterestQueue(
      this,
      this.settings.sendQueueSize,
      this.settings.overflow,
      (msg) => this.forward(msg, 0, 0)
    );
    const { patterns, queues } = this.host.interest();
    for (const [pattern, queue] of patterns) this.patternAdded(pattern, queue);
    for (const queue of queues) this.queueChanged(queue);
    this.host.watch(this);
    this.startKeepalive();
    for (const id of this.deferredPings) this.sendPing(id);
    this.deferredPings.length = 0;
    this.events.up(this);
  }

  private onError(e: ErrorFrame): void {
    const error = new RingbusError(
      (Object.values(ErrorCode) as string[]).includes(e.code)
        ? (e.code as ErrorCode)
        : ErrorCode.PROTOCOL,
      `peer ${this.peer ?? this.conn.remote}: ${e.message.replace(/^ERR_[A-Z_]+: /, '')}`
    );
    if (e.fatal) {
      this.writer.end();
      this.teardown(error);
      return;
    }
    if (e.pubId !== undefined) {
      const pending = this.publishes.get(e.pubId);
      this.publishes.delete(e.pubId);
      pending?.reject(error);
      return;
    }
    if (e.sid !== undefined) {
      // The peer refused a subscription: stop advertising it, and tell the subscriber's bus.
      const queue = this.bySid.get(e.sid);
      if (queue !== undefined) {
        this.bySid.delete(e.sid);
        this.advertised.delete(queue);
      }
    }
    this.host.reportError(error);
  }

  private onSub(sub: SubFrame): void {
    parsePattern(sub.pattern); // an invalid pattern is a peer bug: fatal, like any malformed frame
    if (this.proxies.has(sub.sid)) throw protocol(`SUB: sid ${sub.sid} is already in use`);
    if (!this.allowed(sub.pattern, sub.sid)) return;
    const sid = sub.sid;
    const handler = (msg: Message): void => this.deliverTo(msg, sid);
    let proxy: Subscription;
    try {
      proxy = this.host.subscribeProxy(
        sub.pattern,
        handler,
        {
          channel: sub.channel,
          qos: sub.qos,
          // The peer chooses, the listener allocates: bounded by our own send queue size.
          queueSize: Math.min(sub.queueSize, this.settings.sendQueueSize),
          overflow: sub.overflow,
          conflate: sub.qos === 0 ? sub.conflate : false,
          // A private queue here only backs the peer's own queue, whose timeouts drive
          // redelivery: ours is a safety net for a peer that vanished without a link drop.
          ackTimeoutMs:
            sub.channel === undefined
              ? Math.min(MAX_ACK_TIMEOUT_MS, sub.ackTimeoutMs * (sub.maxAttempts + 1))
              : sub.ackTimeoutMs,
          maxAttempts: sub.maxAttempts,
          maxInFlight: sub.credit,
          autoAck: false
        },
        this
      );
    } catch (err) {
      if (!(err instanceof RingbusError)) throw err;
      this.control(FrameType.ERROR, { code: err.code, message: err.message, fatal: false, sid });
      return;
    }
    if (this.writer.isPaused) proxy.pause();
    this.proxies.set(sid, proxy);
  }

  private onUnsub(sid: number): void {
    const proxy = this.proxies.get(sid);
    if (proxy === undefined) return; // refused earlier, or already gone
    this.proxies.delete(sid);
    this.forgetUnacked(proxy);
    proxy.unsubscribe();
  }

  private onCredit(c: CreditFrame): void {
    const proxy = this.proxies.get(c.sid);
    if (proxy === undefined) return; // refused earlier, or crossed an UNSUB
    proxy.setMaxInFlight(c.credit);
    // Its queue may be one this bus advertises onward (a relay): the new sum goes on from there.
    this.host.consumersChanged(proxy.queue);
  }

  private onInterest(pattern: string, add: boolean): void {
    parsePattern(pattern);
    if (add === this.remotePatterns.has(pattern)) return; // repeated: the peer counts its own
    if (add) {
      if (!this.allowed(pattern, undefined)) return;
      this.remotePatterns.add(pattern);
      this.host.addInterest(this.interestSub!.queue, pattern);
    } else {
      this.remotePatterns.delete(pattern);
      this.host.removeInterest(this.interestSub!.queue, pattern);
    }
  }

  /** Checks a subscription against the token and the per-link limit; refuses it with an error frame. */
  private allowed(pattern: string, sid: number | undefined): boolean {
    let error: RingbusError | undefined;
    if (this.proxies.size + this.remotePatterns.size >= this.settings.maxSubscriptionsPerLink) {
      error = new RingbusError(
        ErrorCode.LIMIT,
        `subscription '${pattern}' refused: the link already has ${this.settings.maxSubscriptionsPerLink} (maxSubscriptionsPerLink)`
      );
    } else if (
      this.permissions !== undefined &&
      !this.permissions.maySubscribe(pattern, this.peer!)
    ) {
      error = forbidden(`subscribing to '${pattern}'`);
    }
    if (error === undefined) return true;
    this.control(FrameType.ERROR, { code: error.code, message: error.message, fatal: false, sid });
    return false;
  }

  private onMsg(r: BodyReader): void {
    const f = this.inbound;
    readMsg(r, f, this.settings.codec);
    this.counters.messagesIn++;
    const tag = f.tag;
    if (f.hops >= this.settings.hopLimit) {
      this.counters.refused++;
      if (tag !== 0) this.settled(tag); // it has gone round: the sender may forget it
      return;
    }
    if (!this.mayPublish(f.topic)) {
      this.counters.refused++;
      // Not ours to take: back to the sender, which retries elsewhere or dead-letters it.
      if (tag !== 0) this.writeNack(tag, REFUSED_RETRY_MS);
      return;
    }
    if (f.sid === 0) {
      this.host.publishRemote(f, this, false, false);
      return;
    }
    const queue = this.bySid.get(f.sid);
    // Gone meanwhile (unsubscribed), or full: a QoS 1 message goes back to the sender.
    if (queue === undefined || !this.host.deliverRemote(queue, f, this)) {
      if (tag !== 0) this.writeNack(tag, queue === undefined ? 0 : REFUSED_RETRY_MS);
      else this.counters.refused++;
    }
  }

  private onPub(r: BodyReader): void {
    const f = this.inbound;
    readPub(r, f, this.settings.codec);
    this.counters.messagesIn++;
    const pubId = f.sid;
    let entered = 0;
    const mark = this.host.durableMark();
    try {
      if (!this.mayPublish(f.topic)) throw forbidden(`publishing on '${f.topic}'`);
      entered = this.host.publishRemote(f, this, true, (f.flags & MsgFlag.RETAIN) !== 0);
    } catch (err) {
      // An invalid topic is malformed input (fatal); the rest is the publisher's answer.
      if (!(err instanceof RingbusError) || err.code === ErrorCode.INVALID_TOPIC) throw err;
      this.refusePub(pubId, err);
      return;
    }
    if (pubId === 0) return;
    const commit = this.host.durableCommit(mark);
    if (commit === undefined) this.pubAck(pubId, entered);
    else
      // Durable: acked once on disk, like a local publishAsync.
      commit.then(
        () => this.pubAck(pubId, entered),
        (err: unknown) => this.refusePub(pubId, err as RingbusError)
      );
  }

  private pubAck(pubId: number, entered: number): void {
    if (this.state === State.CLOSED) return;
    const enc = this.writer.encoder;
    enc.begin(12);
    enc.u8(FrameType.PUBACK);
    enc.uint(pubId);
    enc.uint(entered);
    enc.end();
    this.wrote();
  }

  private refusePub(pubId: number, err: RingbusError): void {
    this.counters.refused++;
    if (pubId === 0) {
      this.host.reportError(err);
      return;
    }
    if (this.state === State.CLOSED) return;
    this.control(FrameType.ERROR, { code: err.code, message: err.message, fatal: false, pubId });
  }

  /** Could any message on `pattern` from this peer be accepted? Only then is interest advertised. */
  private mayForward(pattern: string): boolean {
    return this.permissions === undefined || this.permissions.mayPublishAny(pattern);
  }

  private mayPublish(topic: string): boolean {
    return this.permissions === undefined || this.permissions.mayPublish(topic);
  }

  private onAck(r: BodyReader): void {
    const n = r.uint();
    if (n > r.remaining) throw protocol('ACK: more tags announced than the frame holds');
    for (let i = 0; i < n; i++) {
      const msg = this.unacked.take(r.uint());
      // Undefined: redelivered meanwhile (timeout) or unsubscribed.
      msg?.ack();
    }
    r.done('ACK');
  }

  private onNack(r: BodyReader): void {
    const tag = r.uint();
    const delayMs = Math.min(r.uint(), MAX_DURATION_MS);
    r.done('NACK');
    this.unacked.take(tag)?.nack(delayMs);
  }

  private onPubAck(r: BodyReader): void {
    const pubId = r.uint();
    const entered = r.uint();
    r.done('PUBACK');
    const pending = this.publishes.get(pubId);
    this.publishes.delete(pubId);
    pending?.resolve(entered);
  }

  private sendPing(id: number): void {
    if (this.state === State.UP) this.writePing(FrameType.PING, id);
  }

  private onPong(r: BodyReader): void {
    const id = r.uint();
    r.done('PONG');
    const pending = this.pings.get(id);
    this.pings.delete(id);
    pending?.resolve();
  }

  // --- outbound -----------------------------------------------------------------------------

  /** Handler of a proxy: one delivery to the peer's subscription `sid`. */
  private deliverTo(msg: Message, sid: number): void {
    let tag = 0;
    if (msg.qos === 1) {
      tag = ++this.tagSeq;
      this.unacked.set(tag, msg);
    }
    this.forward(msg, sid, tag);
  }

  /** Writes one MSG frame; a message that cannot be sent is settled here and counted. */
  private forward(msg: Message, sid: number, tag: number): void {
    if (this.state !== State.UP) return; // teardown requeues what is in flight
    const meta = msg.meta;
    let ttlMs = 0;
    if (meta.expiresAt !== 0) ttlMs = Math.max(1, meta.expiresAt - this.host.now());
    if (meta.hops >= this.settings.hopLimit) return this.unsendable(msg, tag, undefined);
    const enc = this.writer.encoder;
    const codec = this.settings.codec;
    // An interest delivery is the same bytes on every link: encoded once per bus.
    const frames = sid === 0 && ttlMs === 0 ? this.host.frames : undefined;
    if (frames === undefined || !frames.writeTo(enc, msg, msg.id, codec)) {
      try {
        writeMsg(enc, msg, sid, tag, msg.id, msg.attempt, meta.hops, ttlMs, codec);
      } catch (err) {
        return this.unsendable(msg, tag, encodeError(err));
      }
      frames?.remember(enc, msg, msg.id, codec);
    }
    this.counters.messagesOut++;
    this.wrote();
  }

  private unsendable(msg: Message, tag: number, error: RingbusError | undefined): void {
    this.counters.refused++;
    if (tag !== 0) {
      this.unacked.take(tag);
      msg.ack(); // it can never cross this link; retrying would loop
    }
    if (error !== undefined) this.host.reportError(error);
  }

  private writeNack(tag: number, delayMs: number): void {
    const enc = this.writer.encoder;
    enc.begin(12);
    enc.u8(FrameType.NACK);
    enc.uint(tag);
    enc.uint(delayMs);
    enc.end();
    this.wrote();
  }

  private writePing(type: FrameType, id: number): void {
    const enc = this.writer.encoder;
    enc.begin(6);
    enc.u8(type);
    enc.uint(id);
    enc.end();
    this.wrote();
  }

  private writeEmpty(type: FrameType): void {
    this.writer.encoder.begin(1);
    this.writer.encoder.u8(type);
    this.writer.encoder.end();
    this.writer.framesOut++;
  }

  private sendHello(): void {
    const hello: Hello = {
      v: this.version, // a server answers a version 1 client in version 1
      bus: this.host.id,
      maxFrameBytes: this.settings.maxFrameBytes,
      keepaliveMs: this.settings.keepaliveMs
    };
    if (this.isClient && this.settings.token !== undefined) hello.token = this.settings.token;
    this.control(FrameType.HELLO, hello);
  }

  private control(type: FrameType, body: object): void {
    if (this.state === State.CLOSED) return;
    writeControl(this.writer.encoder, type, body);
    this.wrote();
  }

  private wrote(): void {
    this.writer.wrote();
  }

  private writeAcks(): void {
    const tags = this.acks;
    this.acks = [];
    const enc = this.writer.encoder;
    enc.begin(2 + tags.length * 4);
    enc.u8(FrameType.ACK);
    enc.uint(tags.length);
    for (const t of tags) enc.uint(t);
    enc.end();
    this.writer.framesOut++;
  }

  /** The peer reads slower than we write: stop taking messages (queues keep them, bounded). */
  private setPaused(paused: boolean): void {
    if (this.state === State.CLOSED) return;
    const subs = [...this.proxies.values()];
    if (this.interestSub !== undefined) subs.push(this.interestSub);
    for (const sub of subs) {
      if (paused) sub.pause();
      else sub.resume();
    }
  }

  private startKeepalive(): void {
    if (this.settings.keepaliveMs === 0) return;
    this.lastPing = performance.now();
    this.checkKeepalive();
  }

  /**
   * PINGs every interval, and drops the peer once nothing came for 2 intervals though a PING
   * has waited an interval for its answer: a live peer answers every PING. It wakes at whichever
   * is due first, so a dead peer is found within 2 intervals of its last frame (a fixed tick took
   * up to 3). A verdict waits one more turn of the event loop, so that input which arrived while
   * this thread was busy (a blocking handler) is read first and a live peer is not dropped.
   */
  private checkKeepalive(): void {
    const every = this.settings.keepaliveMs;
    const now = performance.now();
    const silent =
      now - this.lastInbound >= 2 * every &&
      this.firstUnanswered > this.lastInbound &&
      now - this.firstUnanswered >= every;
    if (silent && this.confirming) {
      this.fail(
        new RingbusError(ErrorCode.TIMEOUT, `peer silent for 2 keepalive intervals (${every} ms)`)
      );
      return;
    }
    this.confirming = silent;
    if (!silent && now - this.lastPing >= every) {
      this.lastPing = now;
      if (this.firstUnanswered <= this.lastInbound) this.firstUnanswered = now;
      this.writePing(FrameType.PING, 0);
    }
    const due = silent
      ? now // after pending I/O (a timer of 0 runs after the next poll for input)
      : Math.min(
          this.lastPing + every,
          Math.max(this.lastInbound + 2 * every, this.firstUnanswered + every)
        );
    this.keepalive = setTimeout(this.keepaliveBound, Math.max(0, due - now));
    unref(this.keepalive);
  }

  // --- ending -------------------------------------------------------------------------------

  /** Sends an error frame for a peer's fault, closes this connection only. */
  private fail(error: RingbusError): void {
    if (this.state === State.CLOSED) return;
    try {
      writeControl(this.writer.encoder, FrameType.ERROR, {
        code: error.code,
        message: error.message,
        fatal: true
      });
    } catch {
      // the error frame is a courtesy; the connection closes regardless
    }
    this.writer.end();
    this.teardown(error);
  }

  /** Releases everything this connection held; requeues the peer's in-flight QoS 1 messages. */
  private teardown(error: RingbusError | undefined): void {
    if (this.state === State.CLOSED) return;
    const wasUp = this.state === State.UP;
    this.state = State.CLOSED;
    clearTimeout(this.deadline);
    clearTimeout(this.keepalive);
    this.writer.stop();
    if (wasUp) this.host.unwatch(this);
    this.unacked.clear();
    for (const proxy of this.proxies.values()) proxy.unsubscribe(); // a channel requeues, attempt + 1
    this.proxies.clear();
    this.interestSub?.unsubscribe();
    this.interestSub = undefined;
    this.remotePatterns.clear();
    this.advertised.clear();
    this.bySid.clear();
    this.patternCounts.clear();
    this.acks = [];
    for (const p of this.pings.values()) p.reject(linkDown());
    this.pings.clear();
    for (const p of this.publishes.values()) p.reject(linkDown());
    this.publishes.clear();
    this.events.closed(this, error);
  }

  private forgetUnacked(proxy: Subscription): void {
    this.unacked.deleteWhere((msg) => (msg as { consumer?: unknown }).consumer === proxy);
  }
}

function subFrameOf(queue: Queue, sid: number, credit: number): SubFrame {
  const frame: SubFrame = {
    sid,
    pattern: queue.pattern,
    qos: queue.qos,
    queueSize: queue.queueSize,
    overflow: queue.overflow,
    conflate: queue.conflate,
    ackTimeoutMs: queue.ackTimeoutMs,
    maxAttempts: queue.maxAttempts,
    credit
  };
  if (queue.channel !== undefined) frame.channel = queue.channel;
  return frame;
}

function findToken(
  auth: ReadonlyMap<string, Permissions>,
  token: string | undefined
): Permissions | undefined {
  if (token === undefined) return undefined;
  let found: Permissions | undefined;
  // Compare with every token, so the time taken says nothing about which one matched.
  for (const [candidate, permissions] of auth) if (sameToken(candidate, token)) found = permissions;
  return found;
}

function encodeError(err: unknown): RingbusError {
  if (err instanceof RingbusError) return err;
  return new RingbusError(
    ErrorCode.FRAME_TOO_LARGE,
    err instanceof Error ? err.message : 'the message does not fit in a frame',
    { cause: err }
  );
}

function linkDown(): RingbusError {
  return new RingbusError(
    ErrorCode.LINK_DOWN,
    'the link is not up; wait for it (link-up) or retry after it reconnects'
  );
}

function protocol(message: string): RingbusError {
  return new RingbusError(ErrorCode.PROTOCOL, message);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
